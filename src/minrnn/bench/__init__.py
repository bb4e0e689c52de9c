"""Benchmarks behind ``minrnn bench ops|gpu|runtime|streaming``; each module has ``main(argv) -> int``."""
