"""Offline RL with decision models (Decision Transformer style): data, model, rollouts, training."""

from minrnn.tasks.rl.train import PRESETS, RLConfig, main, run

__all__ = ["PRESETS", "RLConfig", "main", "run"]
