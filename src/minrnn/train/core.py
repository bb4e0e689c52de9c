"""The pieces the training loops of minrnn share: one optimizer step (all three loops), the warmup + cosine
learning-rate schedule (the LM and minRNN-task loops; the Aaren-paper loop keeps a constant rate) and seeding
(the task loops; the LM loop seeds each process from seed and rank itself). The loops differ in what they add
around them:

- :func:`minrnn.train.fit`: language models; checkpoints, exact resume, metrics.jsonl, torchrun DDP.
- :func:`minrnn.tasks.trainer.fit`: the minRNN-paper tasks; a fixed number of steps, periodic eval.
- :func:`minrnn.tasks.fit.fit`: the Aaren-paper tasks; epochs, model selection, early stopping.
"""

from __future__ import annotations

import math
import random

import numpy as np
import torch
from torch import nn

__all__ = ["lr_factor", "optimizer_step", "seed_everything"]


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch (CPU runs are then deterministic); return a torch.Generator seeded with
    ``seed`` for data sampling."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def lr_factor(step: int, total_steps: int, warmup_steps: int = 0, min_ratio: float = 0.1,
              cosine: bool = True) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` (0-based): linear warm-up over
    ``warmup_steps`` steps, then cosine decay to ``min_ratio`` at ``total_steps`` (or constant 1 when
    ``cosine`` is False)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if not cosine:
        return 1.0
    frac = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * frac))


def optimizer_step(model: nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, grad_clip: float,
                   where: str = "", check_finite: bool = True) -> None:
    """Backpropagate ``loss`` and take one step: zero the gradients, backward, clip the global gradient norm
    to ``grad_clip`` (<= 0: no clipping), step. With ``check_finite`` a nan/inf loss raises
    FloatingPointError (naming ``where``, e.g. "step 12") before anything is updated."""
    if check_finite and not torch.isfinite(loss):
        raise FloatingPointError(f"loss is {loss.item()} at {where or 'this step'}; lower the learning rate")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
