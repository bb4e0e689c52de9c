"""Selective copying (Gu & Dao 2023, as used in "Were RNNs All We Needed?" Table 1).

Data (one sequence of ``seq_len`` tokens, vocabulary ``vocab`` = 16 by default):
- token 0 is the noise/blank token, token ``vocab - 1`` is the marker, tokens ``1 .. vocab - 2`` are data
tokens;
- the first ``seq_len - n_tokens`` positions hold noise with ``n_tokens`` data tokens at random (sorted)
positions;
- the last ``n_tokens`` positions hold the marker; at those positions the model must output the data tokens in
  the order they appeared.
Accuracy = token-level accuracy over the ``n_tokens`` answer positions (the paper's metric).

Model: Embedding(vocab, d_model) -> Backbone(mixer, ...) -> Linear(d_model, vocab). The paper's configuration:
seq_len 4096, 16 tokens, 3 layers, d_model 64, expansion 6, dropout 0.1, no MLP, no conv, AdamW lr 3e-4,
batch 64, grad clip 1.0, 400k steps, evaluation on 200 batches of 64 (``--scale gpu`` presets).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from minrnn.tasks.checks import check_ints
from minrnn.tasks.preset_cli import preset_main
from minrnn.tasks.trainer import TaskTrainConfig, fit
from minrnn.train.core import seed_everything

__all__ = ["SelectiveCopyConfig", "SelectiveCopyModel", "make_batch", "run", "main", "PRESETS"]


def make_batch(batch_size: int, seq_len: int, n_tokens: int = 16, vocab: int = 16,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (inputs (B, seq_len) long, targets (B, n_tokens) long); targets are at positions
    [-n_tokens:]."""
    if n_tokens < 1 or vocab < 3:
        raise ValueError(f"need n_tokens >= 1 and vocab >= 3, got n_tokens={n_tokens}, vocab={vocab}")
    if seq_len < 2 * n_tokens:
        raise ValueError(f"seq_len must be >= 2 * n_tokens = {2 * n_tokens}, got {seq_len}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    body = seq_len - n_tokens
    data = torch.randint(1, vocab - 1, (batch_size, n_tokens), generator=generator)
    pos = torch.rand(batch_size, body, generator=generator).argsort(dim=1)[:, :n_tokens].sort(dim=1).values
    x = torch.zeros(batch_size, seq_len, dtype=torch.long)
    x.scatter_(1, pos, data)
    x[:, body:] = vocab - 1
    return x, data


@dataclass
class SelectiveCopyConfig:
    """Everything one selective-copying run needs (model, data, optimisation)."""

    mixer: str = "mingru"
    seq_len: int = 4096
    n_tokens: int = 16
    vocab: int = 16
    n_layers: int = 3
    d_model: int = 64
    expansion: float = 6.0
    dropout: float = 0.1
    mlp: bool = False
    conv_kernel: int = 0
    num_heads: int = 4
    lr: float = 3e-4
    weight_decay: float = 0.01
    batch_size: int = 64
    grad_clip: float = 1.0
    steps: int = 400_000
    eval_batches: int = 200
    eval_batch_size: int = 64
    eval_every: int = 0
    seed: int = 0
    max_seconds: float = 0.0
    progress: bool = True

    def __post_init__(self):
        check_ints(self, positive=("seq_len", "n_tokens", "vocab", "n_layers", "d_model", "num_heads", "batch_size",
                                   "eval_batches", "eval_batch_size"),
                   non_negative=("steps", "eval_every", "conv_kernel", "seed"))


PRESETS = {
    "gpu": {},  # the paper's configuration = the dataclass defaults
    "cpu": dict(seq_len=64, n_tokens=8, steps=500, lr=3e-3, eval_batches=20, batch_size=32, expansion=2.0),
}


class SelectiveCopyModel(nn.Module):
    """Embedding -> Backbone -> vocabulary logits; forward(x (B,T)) -> logits (B,T,vocab)."""

    def __init__(self, cfg: SelectiveCopyConfig):
        super().__init__()
        from minrnn.models import Backbone, BackboneConfig
        self.embed = nn.Embedding(cfg.vocab, cfg.d_model)
        self.backbone = Backbone(BackboneConfig(
            mixer=cfg.mixer, d_model=cfg.d_model, n_layers=cfg.n_layers, expansion=cfg.expansion,
            num_heads=cfg.num_heads, conv_kernel=cfg.conv_kernel, mlp=cfg.mlp, dropout=cfg.dropout))
        self.head = nn.Linear(cfg.d_model, cfg.vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.backbone(self.embed(x))
        return self.head(h)


def _loss(model, batch, n_tokens: int):
    x, y = batch
    logits = model(x)[:, -n_tokens:]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)), y.numel()


def evaluate(model: nn.Module, cfg: SelectiveCopyConfig, seed: int) -> float:
    """Token accuracy over ``cfg.eval_batches`` fresh batches (generator seeded with ``seed``)."""
    g = torch.Generator().manual_seed(seed)
    correct = total = 0
    for _ in range(cfg.eval_batches):
        x, y = make_batch(cfg.eval_batch_size, cfg.seq_len, cfg.n_tokens, cfg.vocab, g)
        pred = model(x)[:, -cfg.n_tokens:].argmax(-1)
        correct += int((pred == y).sum())
        total += y.numel()
    return correct / total


def run(config: SelectiveCopyConfig | dict) -> dict:
    """Train and evaluate one model; returns {"config", "accuracy", "train": TrainResult dict (no per-step
    losses), "wall_time_s"}."""
    cfg = config if isinstance(config, SelectiveCopyConfig) else SelectiveCopyConfig(**config)
    g = seed_everything(cfg.seed)
    model = SelectiveCopyModel(cfg)
    t0 = time.perf_counter()
    tc = TaskTrainConfig(steps=cfg.steps, lr=cfg.lr, weight_decay=cfg.weight_decay, grad_clip=cfg.grad_clip,
                     eval_every=cfg.eval_every, monitor="accuracy", monitor_mode="max",
                     max_seconds=cfg.max_seconds, progress=cfg.progress,
                     desc=f"selcopy {cfg.mixer} L{cfg.n_layers} s{cfg.seed}")
    res = fit(model, lambda s: make_batch(cfg.batch_size, cfg.seq_len, cfg.n_tokens, cfg.vocab, g),
              lambda m, b: _loss(m, b, cfg.n_tokens), tc,
              eval_fn=lambda m: {"accuracy": evaluate(m, cfg, seed=10_000 + cfg.seed)})
    out = res.to_dict()
    curve = out.pop("losses")
    out["loss_curve"] = curve[:: max(1, len(curve) // 100)]
    return {"config": asdict(cfg), "accuracy": res.evals[-1]["accuracy"], "train": out,
            "truncated": out["truncated"], "steps_done": out["steps_done"],
            "n_params": sum(p.numel() for p in model.parameters()), "wall_time_s": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    """CLI: ``minrnn train selective_copy --mixer mingru --scale cpu [--steps N] ...``; prints JSON."""
    return preset_main(
        argv, prog="minrnn train selective_copy", description=__doc__.splitlines()[0], presets=PRESETS, run=run,
        fields=(("mixer", str), ("seq_len", int), ("n_tokens", int), ("n_layers", int), ("d_model", int),
                ("expansion", float), ("steps", int), ("batch_size", int), ("lr", float), ("seed", int),
                ("eval_batches", int), ("max_seconds", float)),
        summarize=lambda r: {"mixer": r["config"]["mixer"], "accuracy": r["accuracy"], "steps_done": r["steps_done"],
                             "truncated": r["truncated"], "wall_time_s": r["wall_time_s"]})
