"""Event prediction with temporal point processes (``minrnn train tpp``)."""

from minrnn.tasks.tpp.train import TPPConfig, main, run

__all__ = ["TPPConfig", "main", "run"]
