"""A small, deterministic training loop shared by the Aaren-paper tasks (TPP, forecasting, classification).

``fit`` runs Adam with gradient clipping for ``epochs`` epochs (at most ``max_steps`` steps each), evaluates
``val_fn`` after every epoch, keeps the parameters with the best validation score (lower is better) and
stops early after ``patience`` epochs without improvement. Batches come from a callable so each task keeps
its own data layout. The optimizer step comes from :mod:`minrnn.train.core`, shared with the other loops.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from minrnn.tasks.checks import check_ints
from minrnn.train.core import optimizer_step


@dataclass
class FitConfig:
    epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    batch_size: int = 32
    max_steps: int = 0          # per epoch; 0 = the whole epoch
    patience: int = 0           # 0 = no early stopping

    def __post_init__(self):
        check_ints(self, positive=("batch_size",), non_negative=("epochs", "max_steps", "patience"))
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def fit(model: nn.Module, loss_fn: Callable[[object], torch.Tensor],
        batches: Callable[[int], Iterable[object]], val_fn: Callable[[], float] | None, cfg: FitConfig,
        log: Callable[[str], None] | None = None) -> dict:
    """Train ``model`` in place; returns {"best_val", "epochs_run", "train_loss", "val", "train_seconds"}.

    loss_fn(batch) -> scalar loss; batches(epoch) -> iterable of batches; val_fn() -> float (lower is better),
    or None to keep the final parameters (no model selection; ``cfg.patience`` must then be 0).
    """
    if val_fn is None and cfg.patience:
        raise ValueError(f"patience={cfg.patience} needs a validation score to stop on, but this task has no "
                         "validation split (val_fn is None): use patience=0")
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    best, best_state, bad = float("inf"), copy.deepcopy(model.state_dict()), 0
    hist_train, hist_val = [], []
    t0 = time.perf_counter()
    epoch = -1
    for epoch in range(cfg.epochs):
        model.train()
        total, n = 0.0, 0
        for step, batch in enumerate(batches(epoch)):
            if cfg.max_steps and step >= cfg.max_steps:
                break
            loss = loss_fn(batch)
            optimizer_step(model, opt, loss, cfg.grad_clip, f"epoch {epoch} step {step}")
            total, n = total + loss.item(), n + 1
        model.eval()
        with torch.no_grad():
            val = float(val_fn()) if val_fn is not None else -float(epoch)
        if not math.isfinite(val):  # NaN never compares better: the untrained weights would come back silently
            raise FloatingPointError(f"validation score is {val} after epoch {epoch}: training diverged")
        hist_train.append(total / max(n, 1))
        hist_val.append(val if val_fn is not None else None)
        if log:
            log(f"epoch {epoch}: train {hist_train[-1]:.4f} val {hist_val[-1]}")
        if val < best:
            best, best_state, bad = val, copy.deepcopy(model.state_dict()), 0
        else:
            bad += 1
            if cfg.patience and bad >= cfg.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return {"best_val": best if val_fn is not None else None, "epochs_run": epoch + 1,
            "train_loss": hist_train, "val": hist_val,
            "train_seconds": time.perf_counter() - t0}


def add_common_args(parser, *, d_model=64, nhead=4, ff=128, layers=2, epochs=10, lr=1e-3,
                    batch_size=32) -> None:
    """argparse flags shared by the task CLIs (encoder kind/size, optimisation, seed, output)."""
    g = parser.add_argument_group("model / training")
    g.add_argument("--model", "--kind", dest="kind", choices=("aaren", "transformer"), default="aaren",
                   help="token mixer of the causal encoder stack")
    g.add_argument("--d-model", type=int, default=d_model)
    g.add_argument("--nhead", type=int, default=nhead)
    g.add_argument("--dim-feedforward", type=int, default=ff)
    g.add_argument("--layers", type=int, default=layers)
    g.add_argument("--dropout", type=float, default=0.0)
    g.add_argument("--arch", choices=("layers", "backbone"), default="layers",
                   help="layers: nn.TransformerEncoderLayer / AarenEncoderLayer stack; "
                        "backbone: minrnn.models.Backbone")
    g.add_argument("--epochs", type=int, default=epochs)
    g.add_argument("--lr", type=float, default=lr)
    g.add_argument("--batch-size", type=int, default=batch_size)
    g.add_argument("--max-steps", type=int, default=0, help="max optimizer steps per epoch (0: all)")
    g.add_argument("--patience", type=int, default=0)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--data-dir", default=None, help="datasets root (default: $MINRNN_DATA_DIR)")
    g.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    g.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave as is)")
    g.add_argument("--out", default=None, help="write the result JSON here")


def common_from_args(args) -> dict:
    """The config fields that ``add_common_args`` defines, as a dict (encoder + fit + seed + data_dir); checks
    --threads, --device and --out (before any training)."""
    from minrnn.devices import check_device, check_threads
    from minrnn.tasks.checks import check_out

    if check_threads(args.threads, allow_zero=True):
        torch.set_num_threads(args.threads)
    check_device(args.device)
    check_out(args.out)
    return {
        "encoder": {"kind": args.kind, "d_model": args.d_model, "nhead": args.nhead,
                    "dim_feedforward": args.dim_feedforward, "layers": args.layers, "dropout": args.dropout,
                    "arch": args.arch},
        "fit": {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
                "max_steps": args.max_steps, "patience": args.patience},
        "seed": args.seed, "data_dir": args.data_dir, "device": args.device,
    }


def write_result(result: dict, out) -> None:
    """Print the result as JSON and write it to ``out`` when given."""
    from minrnn.tasks.checks import check_out, to_json

    text = to_json(result)
    if out:
        check_out(out).write_text(text)
    print(text)
