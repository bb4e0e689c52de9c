"""Benchmarks (``minrnn bench ...``)."""
