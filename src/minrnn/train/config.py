"""Training hyper-parameters as a dataclass (JSON round-trip, unknown keys rejected)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from minrnn.models.config import dataclass_from_dict
from minrnn.train.core import lr_factor


@dataclass
class TrainConfig:
    """AdamW with linear warmup then cosine decay to ``lr * min_lr_ratio``; global batch ``batch_size``.

    ``eval_every`` steps: evaluate on ``eval_batches`` fixed validation batches, log a metrics line and write
    a checkpoint. ``device``: "auto" (CUDA when available), "cpu" or "cuda".
    ``amp``: bfloat16 autocast on CUDA.
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
        for name in ("steps", "batch_size", "context", "eval_every", "eval_batches"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an int >= 0, got {self.warmup_steps!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio!r}")
        if self.device not in ("auto", "cpu", "cuda") and not str(self.device).startswith("cuda:"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {self.device!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return dataclass_from_dict(cls, d, "TrainConfig")


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimizer step ``step`` (0-based): linear warmup over ``warmup_steps``, then cosine
    from ``lr`` down to ``lr * min_lr_ratio`` at ``steps``."""
    return cfg.lr * lr_factor(step, cfg.steps, cfg.warmup_steps, cfg.min_lr_ratio)
