"""Formal-language tasks (Deletang et al. 2023 / xLSTM): generators and training. CLI: ``minrnn train
chomsky``."""

from minrnn.tasks.chomsky.generators import TASKS, generate
from minrnn.tasks.chomsky.train import ChomskyConfig, ChomskyModel, main, run

__all__ = ["TASKS", "generate", "ChomskyConfig", "ChomskyModel", "main", "run"]
