"""Task models, data modules and training entry points (``minrnn train TASK``)."""
