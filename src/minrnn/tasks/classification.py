"""UEA multivariate time-series classification with a causal Aaren or Transformer encoder.

Model: x (B, L, C) standardised per channel with train statistics -> Linear(C, d) -> CausalEncoder
-> hidden state of the last real token h_{len-1} (B, d) -> Linear(d, n_classes). Series are right-padded,
so the causal encoder never mixes padding into real tokens. Metric: test accuracy of the final model
(no model selection on the test set; the UEA sets have no validation split).

CLI: ``minrnn train classification --dataset JapaneseVowels --model aaren --epochs 30``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from minrnn.data.uea import UEA_DATASETS, load_uea, pad_batch
from minrnn.tasks.encoders import CausalEncoder, EncoderConfig, count_parameters
from minrnn.tasks.fit import FitConfig, add_common_args, common_from_args, fit, write_result
from minrnn.train.core import seed_everything


@dataclass
class ClassificationConfig:
    dataset: str = "JapaneseVowels"
    encoder: dict = field(default_factory=lambda: {"kind": "aaren", "d_model": 64, "nhead": 4,
                                                   "dim_feedforward": 128, "layers": 2})
    fit: dict = field(default_factory=lambda: {"epochs": 30, "lr": 1e-3, "batch_size": 16})
    downsample: int = 1          # keep every k-th time step (CPU scale for long series)
    seed: int = 0
    data_dir: str | None = None
    device: str = "cpu"          # "cuda" to train on a GPU (CPU runs are the deterministic ones)

    def __post_init__(self):
        if self.dataset not in UEA_DATASETS:
            raise ValueError(f"dataset must be one of {UEA_DATASETS}, got {self.dataset!r}")
        if not isinstance(self.downsample, int) or self.downsample < 1:
            raise ValueError(f"downsample must be an int >= 1, got {self.downsample!r}")
        if isinstance(self.fit, dict) and self.fit.get("patience"):  # before loading any data
            raise ValueError(f"fit.patience={self.fit['patience']!r}: classification keeps the last epoch's "
                             "weights (UEA sets have no validation split), so there is nothing to stop early on; "
                             "use patience 0")


class SequenceClassifier(nn.Module):
    """x (B, L, C), lengths (B,) -> logits (B, n_classes) from the last real token's encoder state."""

    def __init__(self, in_dims: int, n_classes: int, enc: EncoderConfig):
        super().__init__()
        self.embed = nn.Linear(in_dims, enc.d_model)
        self.encoder = CausalEncoder(enc)
        self.head = nn.Linear(enc.d_model, n_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(x))
        last = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, h.shape[-1])
        return self.head(h.gather(1, last).squeeze(1))


def _prepare(series, lengths_cap, mean, std, k):
    x, lengths = pad_batch([s[::k] for s in series], lengths_cap, missing=None)
    x = np.nan_to_num((x - mean) / std)  # a missing value becomes the train mean (0 after normalising)
    mask = np.arange(x.shape[1])[None, :] < lengths[:, None]
    x = x * mask[..., None]
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(lengths)


def accuracy(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor, y: torch.Tensor,
             bs: int = 128) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), bs):
            correct += (model(x[i:i + bs], lengths[i:i + bs]).argmax(-1) == y[i:i + bs]).sum().item()
    return correct / len(y)


def run(config: ClassificationConfig | dict) -> dict:
    """Train on the UEA train split and report test accuracy. Returns a JSON-able dict."""
    cfg = ClassificationConfig(**config) if isinstance(config, dict) else config
    enc, fcfg = EncoderConfig.from_dict(cfg.encoder), FitConfig(**cfg.fit)
    seed_everything(cfg.seed)
    t0 = time.perf_counter()
    train, test = load_uea(cfg.dataset, cfg.data_dir)
    stacked = np.concatenate(train.series, axis=0)
    mean, std = np.nanmean(stacked, axis=0), np.nanstd(stacked, axis=0) + 1e-6
    xtr, ltr = _prepare(train.series, None, mean, std, cfg.downsample)
    xte, lte = _prepare(test.series, None, mean, std, cfg.downsample)
    ytr, yte = torch.from_numpy(train.labels), torch.from_numpy(test.labels)
    xtr, ltr, ytr, xte, lte, yte = (t.to(cfg.device) for t in (xtr, ltr, ytr, xte, lte, yte))
    model = SequenceClassifier(train.dims, len(train.classes), enc).to(cfg.device)
    gen = torch.Generator().manual_seed(cfg.seed)

    def batches(epoch):
        perm = torch.randperm(len(ytr), generator=gen).to(cfg.device)
        for i in range(0, len(perm), fcfg.batch_size):
            yield perm[i:i + fcfg.batch_size]

    def loss_fn(idx):
        return F.cross_entropy(model(xtr[idx], ltr[idx]), ytr[idx])

    hist = fit(model, loss_fn, batches, None, fcfg)
    return {"task": "classification", "dataset": cfg.dataset, "kind": enc.kind, "seed": cfg.seed,
            "test_accuracy": accuracy(model, xte, lte, yte), "train_accuracy": accuracy(model, xtr, ltr, ytr),
            "n_train": len(ytr), "n_test": len(yte), "max_len": int(xtr.shape[1]),
            "parameters": count_parameters(model), "config": asdict(cfg),
            "final_train_loss": hist["train_loss"][-1] if hist["train_loss"] else None,
            "wall_seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="minrnn train classification", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="JapaneseVowels", choices=UEA_DATASETS)
    p.add_argument("--downsample", type=int, default=1)
    add_common_args(p, epochs=30, batch_size=16)
    args = p.parse_args(argv)
    c = common_from_args(args)
    write_result(run(ClassificationConfig(dataset=args.dataset, downsample=args.downsample, **c)), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
