"""The fixed-step training loop of the minRNN-paper tasks (selective copying, formal languages, offline RL,
the Shakespeare reproduction). Seeding, the learning-rate schedule and the optimizer step come from
:mod:`minrnn.train.core`, shared with the other two loops.

API (kept deliberately small)::

    from minrnn.tasks.trainer import TaskTrainConfig, fit
    result = fit(model, batch_fn, loss_fn, TaskTrainConfig(steps=1000, lr=3e-4), eval_fn=None)

- ``batch_fn(step: int) -> batch`` returns any object (tensor, tuple, dict) for training step ``step``.
- ``loss_fn(model, batch) -> (loss: Tensor scalar, n_items: int)``; ``n_items`` is what throughput counts
  (tokens, sequences...).
- ``eval_fn(model) -> dict[str, float]`` is called every ``eval_every`` steps and at the end, with the model in
  eval mode and gradients off; if it returns a key named ``cfg.monitor`` the best value (minimised when
  ``cfg.monitor_mode == "min"``) and its step are tracked.

The optimiser is AdamW(lr, betas, weight_decay) with gradient-norm clipping and an optional linear warm-up
followed by cosine decay to ``lr * min_lr_ratio``; a nan/inf loss stops the run with FloatingPointError.
Progress goes to a tqdm bar (loss, items/s, ETA).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from minrnn.train.core import lr_factor, optimizer_step

__all__ = ["TaskTrainConfig", "TrainConfig", "TrainResult", "fit"]


@dataclass
class TaskTrainConfig:
    """Optimisation settings for :func:`fit` (the language-model loop has its own, :class:`minrnn.train.TrainConfig`,
    with checkpoints and data parallelism)."""

    steps: int = 1000
    lr: float = 3e-4
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 1.0          # max global grad norm; <= 0 disables clipping
    warmup_steps: int = 0
    cosine: bool = False            # cosine decay after warm-up (else constant lr)
    min_lr_ratio: float = 0.1
    eval_every: int = 0             # 0: evaluate only at the end
    monitor: str = ""               # key of eval_fn's dict to track (e.g. "val_loss")
    monitor_mode: str = "min"       # "min" or "max"
    max_seconds: float = 0.0        # > 0: stop early after this much wall time (reported as truncated)
    progress: bool = True
    desc: str = "train"

    def __post_init__(self):
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.monitor_mode not in ("min", "max"):
            raise ValueError(f"monitor_mode must be 'min' or 'max', got {self.monitor_mode!r}")


#: the former name, kept so that code written against it keeps working
TrainConfig = TaskTrainConfig


@dataclass
class TrainResult:
    """What :func:`fit` returns: the loss curve, eval history, best monitored value and timing."""

    steps_done: int
    wall_time_s: float
    items_per_s: float
    final_loss: float
    losses: list[float] = field(default_factory=list)          # training loss per step
    evals: list[dict[str, Any]] = field(default_factory=list)  # [{"step": s, **eval_fn(model)}]
    best: float | None = None
    best_step: int | None = None
    truncated: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _evaluate(model: nn.Module, eval_fn, step: int) -> dict:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = dict(eval_fn(model))
    model.train(was_training)
    return {"step": step, **{k: float(v) for k, v in out.items()}}


def fit(model: nn.Module, batch_fn: Callable[[int], Any], loss_fn: Callable[[nn.Module, Any], tuple],
        cfg: TaskTrainConfig, eval_fn: Callable[[nn.Module], dict] | None = None) -> TrainResult:
    """Train ``model`` for ``cfg.steps`` steps (see the module docstring for the callables' contracts)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(cfg, TaskTrainConfig):
        raise TypeError(f"cfg must be a TaskTrainConfig, got {type(cfg).__name__}")
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(s, cfg.steps, cfg.warmup_steps, cfg.min_lr_ratio, cfg.cosine))
    try:
        from tqdm.auto import tqdm
        bar = tqdm(total=cfg.steps, desc=cfg.desc, disable=not cfg.progress, mininterval=2.0, leave=False)
    except ImportError:  # pragma: no cover - tqdm is a core dependency
        bar = None
    res = TrainResult(steps_done=0, wall_time_s=0.0, items_per_s=0.0, final_loss=float("nan"))
    sign = 1.0 if cfg.monitor_mode == "min" else -1.0
    items, t0 = 0, time.perf_counter()
    model.train()

    eval_seconds = 0.0  # kept out of the training time, so items/s is training throughput

    def record_eval(step: int) -> None:
        nonlocal eval_seconds
        t_eval = time.perf_counter()
        ev = _evaluate(model, eval_fn, step)
        eval_seconds += time.perf_counter() - t_eval
        res.evals.append(ev)
        if cfg.monitor in ev and not math.isfinite(float(ev[cfg.monitor])):  # NaN would never compare better
            raise FloatingPointError(f"eval {cfg.monitor} is {ev[cfg.monitor]} at step {step}: training diverged")
        better = res.best is None or (cfg.monitor in ev and sign * ev[cfg.monitor] < sign * res.best)
        if cfg.monitor and cfg.monitor in ev and better:
            res.best, res.best_step = ev[cfg.monitor], step

    try:
        for step in range(cfg.steps):
            batch = batch_fn(step)
            loss, n = loss_fn(model, batch)
            optimizer_step(model, opt, loss, cfg.grad_clip, f"step {step}")
            sched.step()
            items += int(n)
            res.losses.append(float(loss.detach()))
            res.steps_done = step + 1
            if bar is not None:
                el = time.perf_counter() - t0
                bar.update(1)
                bar.set_postfix(loss=f"{res.losses[-1]:.4f}", items_s=f"{items / max(el, 1e-9):.0f}",
                                refresh=False)
            if eval_fn is not None and cfg.eval_every > 0 and (step + 1) % cfg.eval_every == 0 \
                    and step + 1 < cfg.steps:
                record_eval(step + 1)
            if cfg.max_seconds > 0 and time.perf_counter() - t0 > cfg.max_seconds and step + 1 < cfg.steps:
                res.truncated = True
                break
        train_time = time.perf_counter() - t0 - eval_seconds
        if eval_fn is not None and (not res.evals or res.evals[-1]["step"] != res.steps_done):
            record_eval(res.steps_done)
    finally:  # an error must not land on the progress bar's line
        if bar is not None:
            bar.close()
    res.wall_time_s = time.perf_counter() - t0
    res.items_per_s = items / max(train_time, 1e-9)
    res.final_loss = res.losses[-1] if res.losses else float("nan")
    return res
