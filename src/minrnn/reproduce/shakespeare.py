"""Character-level language modelling on tiny-Shakespeare (minRNN paper, Fig. 2 / Sec. 4.2).

A compact loop over :class:`minrnn.models.CausalLM` and :func:`minrnn.tasks.trainer.fit` (the product helper's
``minrnn.tasks.lm`` was not available when this was written). Data:
``$MINRNN_DATA_DIR/tinyshakespeare/input.txt``,
65 characters, nanoGPT's 90/10 train/val split; training windows of ``block_size`` characters at random
offsets; validation loss = mean cross-entropy (nats/char) over ``eval_batches`` fixed random val windows,
evaluated every ``eval_every`` steps. Reported: best val loss, step of the best, wall time, training tokens/s.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from minrnn.data.locate import data_path
from minrnn.tasks.checks import check_ints
from minrnn.tasks.trainer import TaskTrainConfig, fit
from minrnn.train.core import seed_everything

__all__ = ["ShakespeareConfig", "load_text", "run", "PRESETS"]


@dataclass
class ShakespeareConfig:
    mixer: str = "mingru"
    d_model: int = 384
    n_layers: int = 6
    expansion: float = 1.0
    num_heads: int = 6
    conv_kernel: int = 4
    dropout: float = 0.2
    block_size: int = 256
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 100
    steps: int = 5000
    eval_every: int = 25
    eval_batches: int = 50
    seed: int = 0
    data_dir: str | None = None
    max_seconds: float = 0.0
    progress: bool = True

    def __post_init__(self):
        check_ints(self, positive=("d_model", "n_layers", "num_heads", "block_size", "batch_size", "eval_batches"),
                   non_negative=("steps", "eval_every", "warmup_steps", "seed"))


PRESETS = {
    "gpu": {},
    "cpu": dict(d_model=64, n_layers=2, num_heads=4, block_size=64, batch_size=32, lr=2e-3, dropout=0.0,
                warmup_steps=20, steps=600, eval_every=50, eval_batches=8),
}


def load_text(data_dir: str | os.PathLike | None = None) -> str:
    return data_path(Path("tinyshakespeare") / "input.txt", "tiny-shakespeare", data_dir).read_text(encoding="utf-8")


def run(config: ShakespeareConfig | dict) -> dict:
    """Train one character LM; returns best val loss and its step, wall time, tokens/s and the val curve."""
    from minrnn.models import BackboneConfig, CausalLM, LMConfig
    cfg = config if isinstance(config, ShakespeareConfig) else ShakespeareConfig(**config)
    text = load_text(cfg.data_dir)
    chars = sorted(set(text))
    lut = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([lut[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    train, val = data[:n], data[n:]
    g = seed_everything(cfg.seed)
    model = CausalLM(LMConfig(vocab_size=len(chars), backbone=BackboneConfig(
        mixer=cfg.mixer, d_model=cfg.d_model, n_layers=cfg.n_layers, expansion=cfg.expansion,
        num_heads=cfg.num_heads, conv_kernel=cfg.conv_kernel, dropout=cfg.dropout)))
    T = cfg.block_size
    if T >= len(val) - 1:
        raise ValueError(f"block_size={T} must be shorter than the validation split ({len(val)} characters) - 1")

    def windows(src, starts):
        idx = starts[:, None] + torch.arange(T + 1)
        w = src[idx]
        return w[:, :-1], w[:, 1:]

    vg = torch.Generator().manual_seed(12345)
    val_batches = [windows(val, torch.randint(0, len(val) - T - 1, (cfg.batch_size,), generator=vg))
                   for _ in range(cfg.eval_batches)]

    def loss_fn(m, b):
        x, y = b
        logits, _ = m(x)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)), x.numel()

    def eval_fn(m):
        return {"val_loss": sum(float(loss_fn(m, b)[0]) for b in val_batches) / len(val_batches)}

    t0 = time.perf_counter()
    tc = TaskTrainConfig(steps=cfg.steps, lr=cfg.lr, weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_steps,
                     cosine=True, eval_every=cfg.eval_every, monitor="val_loss", max_seconds=cfg.max_seconds,
                     progress=cfg.progress, desc=f"shakespeare {cfg.mixer}")
    def batch_fn(step):
        return windows(train, torch.randint(0, len(train) - T - 1, (cfg.batch_size,), generator=g))

    res = fit(model, batch_fn, loss_fn, tc, eval_fn)
    return {"config": asdict(cfg), "best_val_loss": res.best, "best_step": res.best_step,
            "val_curve": [(e["step"], e["val_loss"]) for e in res.evals], "tokens_per_s": res.items_per_s,
            "train_wall_s": res.wall_time_s, "n_params": model.num_parameters(), "steps_done": res.steps_done,
            "truncated": res.truncated, "wall_time_s": time.perf_counter() - t0}
