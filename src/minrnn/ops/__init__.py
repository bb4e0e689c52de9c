"""Implementations behind :mod:`minrnn.functional`, one package per op family, each with a readable
reference beside its fast paths. Backends register in :mod:`minrnn.ops.registry`."""
