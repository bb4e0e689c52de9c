"""Training hyper-parameters as a dataclass (JSON round-trip, unknown keys rejected)."""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from dataclasses import dataclass

from minrnn.models.config import dataclass_from_dict, is_int, is_number, require
from minrnn.train.core import lr_factor


@dataclass
class TrainConfig:
    """AdamW with linear warmup then cosine decay to ``lr * min_lr_ratio``; global batch ``batch_size``.

    ``eval_every`` steps: evaluate on ``eval_batches`` fixed validation batches, log a metrics line and write
    a checkpoint. ``device``: "auto" (CUDA when available), "cpu" or "cuda".
    ``amp``: bfloat16 autocast on CUDA. ``grad_clip`` <= 0 disables clipping. ``seed`` in [0, 2**32).
    """

    steps: int = 1000
    batch_size: int = 32
    context: int = 128
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_batches: int = 8
    seed: int = 1337
    device: str = "auto"
    amp: bool = False
    progress: bool = True

    def __post_init__(self):
        t = "train."
        for name in ("steps", "batch_size", "context", "eval_every", "eval_batches"):
            v = getattr(self, name)
            require(is_int(v) and v > 0, t + name, "a positive int", v)
        require(is_int(self.warmup_steps) and self.warmup_steps >= 0, t + "warmup_steps", "an int >= 0",
                self.warmup_steps)
        require(is_number(self.lr) and self.lr > 0, t + "lr", "a positive number", self.lr)
        require(is_number(self.min_lr_ratio) and 0 <= self.min_lr_ratio <= 1, t + "min_lr_ratio",
                "a number in [0, 1]", self.min_lr_ratio)
        require(is_number(self.weight_decay) and self.weight_decay >= 0, t + "weight_decay", "a number >= 0",
                self.weight_decay)
        for name in ("beta1", "beta2"):
            v = getattr(self, name)
            require(is_number(v) and 0 <= v < 1, t + name, "a number in [0, 1)", v)
        require(isinstance(self.grad_clip, (int, float)) and not isinstance(self.grad_clip, bool)
                and not math.isnan(self.grad_clip), t + "grad_clip", "a number (<= 0 disables clipping)",
                self.grad_clip)
        require(is_int(self.seed) and 0 <= self.seed < 2**32, t + "seed", "an int in [0, 2**32)", self.seed)
        require(isinstance(self.device, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device) is not None,
                t + "device", "'auto', 'cpu' or 'cuda[:N]'", self.device)
        for name in ("amp", "progress"):
            v = getattr(self, name)
            require(isinstance(v, bool), t + name, "a bool (true or false)", v)
        if self.warmup_steps > self.steps:
            warnings.warn(f"train.warmup_steps={self.warmup_steps} > train.steps={self.steps}: the learning rate "
                          f"only climbs to {self.steps / self.warmup_steps:.0%} of lr={self.lr} and never decays",
                          UserWarning, stacklevel=3)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return dataclass_from_dict(cls, d, "TrainConfig")


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimizer step ``step`` (0-based): linear warmup over ``warmup_steps``, then cosine
    from ``lr`` down to ``lr * min_lr_ratio`` at ``steps``."""
    return cfg.lr * lr_factor(step, cfg.steps, cfg.warmup_steps, cfg.min_lr_ratio)
