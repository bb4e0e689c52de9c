"""Multivariate long-horizon forecasting (ETT, Weather, Exchange) with a causal Aaren or Transformer encoder.

Model (same for both kinds): the input window x (B, L, C) is instance-normalised per series (subtract the
window mean, divide by its std, as TSLib's ``use_norm``), embedded by Linear(C, d), encoded causally, and
the last token's state h_L (B, d) is mapped by Linear(d, H*C) to the forecast (B, H, C), then de-normalised.
Loss: MSE. Metrics: MSE and MAE on the StandardScaler-normalised test windows (as TSLib reports them).

CLI: ``minrnn train forecasting --dataset ETTh1 --pred-len 96 --model aaren``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from minrnn.tasks.encoders import CausalEncoder, EncoderConfig, count_parameters
from minrnn.tasks.fit import FitConfig, add_common_args, common_from_args, fit, write_result
from minrnn.tasks.forecasting_data import FORECAST_DATASETS, load_splits, n_windows, windows
from minrnn.train.core import seed_everything

HORIZONS = (96, 192, 336, 720)


@dataclass
class ForecastingConfig:
    dataset: str = "ETTh1"
    seq_len: int = 96
    pred_len: int = 96
    encoder: dict = field(default_factory=lambda: {"kind": "aaren", "d_model": 64, "nhead": 4,
                                                   "dim_feedforward": 128, "layers": 2})
    fit: dict = field(default_factory=lambda: {"epochs": 10, "lr": 1e-3, "batch_size": 32, "patience": 3})
    eval_stride: int = 1        # evaluate every k-th test window (1 = all, as TSLib)
    val_stride: int = 4         # validation windows used for model selection
    seed: int = 0
    data_dir: str | None = None
    device: str = "cpu"          # "cuda" to train on a GPU (CPU runs are the deterministic ones)

    def __post_init__(self):
        if self.dataset not in FORECAST_DATASETS:
            raise ValueError(f"dataset must be one of {FORECAST_DATASETS}, got {self.dataset!r}")
        for name in ("seq_len", "pred_len", "eval_stride", "val_stride"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")


class Forecaster(nn.Module):
    """x (B, L, C) -> forecast (B, H, C)."""

    def __init__(self, channels: int, pred_len: int, enc: EncoderConfig):
        super().__init__()
        self.channels, self.pred_len = channels, pred_len
        self.embed = nn.Linear(channels, enc.d_model)
        self.encoder = CausalEncoder(enc)
        self.head = nn.Linear(enc.d_model, pred_len * channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(1, keepdim=True)
        sd = (x.var(1, keepdim=True, unbiased=False) + 1e-5).sqrt()
        h = self.encoder(self.embed((x - mu) / sd))[:, -1]
        return self.head(h).view(-1, self.pred_len, self.channels) * sd + mu


def evaluate(model: nn.Module, arr, seq_len: int, pred_len: int, stride: int = 1, bs: int = 256) -> dict:
    """MSE and MAE over windows 0, stride, 2*stride, ... of a normalised split."""
    idx = torch.arange(0, n_windows(len(arr), seq_len, pred_len), stride)
    se, ae, n = 0.0, 0.0, 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(idx), bs):
            x, y = windows(arr, idx[i:i + bs], seq_len, pred_len)
            p = model(x)
            se += (p - y).pow(2).sum().item()
            ae += (p - y).abs().sum().item()
            n += y.numel()
    return {"mse": se / n, "mae": ae / n, "windows": len(idx)}


def run(config: ForecastingConfig | dict) -> dict:
    cfg = ForecastingConfig(**config) if isinstance(config, dict) else config
    enc, fcfg = EncoderConfig.from_dict(cfg.encoder), FitConfig(**cfg.fit)
    seed_everything(cfg.seed)
    t0 = time.perf_counter()
    data = load_splits(cfg.dataset, cfg.seq_len, cfg.data_dir)
    for split in ("train", "val", "test"):
        if n_windows(len(getattr(data, split)), cfg.seq_len, cfg.pred_len) == 0:
            raise ValueError(f"the {split} split of {cfg.dataset} ({len(getattr(data, split))} rows) is shorter than "
                             f"seq_len + pred_len = {cfg.seq_len} + {cfg.pred_len}: no window to evaluate")
    model = Forecaster(data.channels, cfg.pred_len, enc).to(cfg.device)
    tr, va, te = (torch.from_numpy(a).to(cfg.device) for a in (data.train, data.val, data.test))
    n_train = n_windows(len(data.train), cfg.seq_len, cfg.pred_len)
    gen = torch.Generator().manual_seed(cfg.seed)

    def batches(epoch):
        perm = torch.randperm(n_train, generator=gen)
        for i in range(0, n_train, fcfg.batch_size):
            yield windows(tr, perm[i:i + fcfg.batch_size], cfg.seq_len, cfg.pred_len)

    def loss_fn(batch):
        x, y = batch
        return F.mse_loss(model(x), y)

    def val_fn():
        return evaluate(model, va, cfg.seq_len, cfg.pred_len, cfg.val_stride)["mse"]

    hist = fit(model, loss_fn, batches, val_fn, fcfg)
    test = evaluate(model, te, cfg.seq_len, cfg.pred_len, cfg.eval_stride)
    return {"task": "forecasting", "dataset": cfg.dataset, "pred_len": cfg.pred_len, "kind": enc.kind,
            "seed": cfg.seed, "test_mse": test["mse"], "test_mae": test["mae"],
            "test_windows": test["windows"],
            "best_val_mse": hist["best_val"], "epochs_run": hist["epochs_run"], "train_windows": n_train,
            "parameters": count_parameters(model), "config": asdict(cfg),
            "wall_seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="minrnn train forecasting", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="ETTh1", choices=FORECAST_DATASETS)
    p.add_argument("--seq-len", type=int, default=96)
    p.add_argument("--pred-len", type=int, default=96)
    p.add_argument("--eval-stride", type=int, default=1)
    p.add_argument("--val-stride", type=int, default=4)
    add_common_args(p, epochs=10, batch_size=32)
    p.set_defaults(patience=3)  # early stopping after 3 epochs without improvement; --patience 0 turns it off
    args = p.parse_args(argv)
    c = common_from_args(args)
    cfg = ForecastingConfig(dataset=args.dataset, seq_len=args.seq_len, pred_len=args.pred_len,
                            eval_stride=args.eval_stride, val_stride=args.val_stride, **c)
    write_result(run(cfg), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
