"""Benchmarks behind ``minrnn bench ops|runtime|streaming``; each module has ``main(argv) -> int``."""
