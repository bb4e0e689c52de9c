"""Dataset loaders; every path resolves from ``MINRNN_DATA_DIR``."""
