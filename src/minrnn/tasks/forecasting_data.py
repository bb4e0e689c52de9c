"""Long-horizon forecasting data: ETTh1/2, ETTm1/2, Weather, Exchange with the Informer/TSLib splits.

Splits (rows of the file, ``L`` = seq_len; val/test start ``L`` rows early so their first window has history):
- ETTh*: train [0, 8640), val [8640-L, 11520), test [11520-L, 14400)  (12/4/4 months of hourly data)
- ETTm*: the same months x4: [0, 34560), [34560-L, 46080), [46080-L, 57600)
- weather, exchange: 70/10/20: n_tr = int(0.7 n), n_te = int(0.2 n), train [0, n_tr), val [n_tr-L, n-n_te),
  test [n-n_te-L, n)
All channels (multivariate, "M"), standardised with the mean/std of the train rows (StandardScaler).
Window i of a split: x = rows[i : i+L], y = rows[i+L : i+L+H].
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from minrnn.data.locate import data_path

FORECAST_DATASETS = ("ETTh1", "ETTh2", "ETTm1", "ETTm2", "weather", "exchange")


def load_raw(name: str, data_dir=None) -> np.ndarray:
    """(n_rows, n_channels) float32 values of dataset ``name`` (date column dropped)."""
    if name.startswith("ETT") and name in FORECAST_DATASETS:
        rel, enc = Path("ett") / f"{name}.csv", "utf-8"
    elif name == "weather":
        rel, enc = Path("forecasting") / "weather.csv", "latin-1"
    elif name == "exchange":
        rel, enc = Path("forecasting") / "exchange_rate.txt", None
    else:
        raise ValueError(f"name must be one of {FORECAST_DATASETS}, got {name!r}")
    path = data_path(rel, f"forecasting dataset {name!r}", data_dir)
    if enc is None:
        return np.loadtxt(path, delimiter=",", dtype=np.float32)
    with open(path, encoding=enc, newline="") as f:
        rows = list(csv.reader(f))
    return np.array([[float(v) for v in r[1:]] for r in rows[1:] if r], dtype=np.float32)


def split_borders(name: str, n_rows: int, seq_len: int) -> list[tuple[int, int]]:
    """[(start, end)] row ranges of train, val, test (see module docstring)."""
    if name in ("ETTh1", "ETTh2"):
        m = 30 * 24
        ends = [12 * m, 16 * m, 20 * m]
    elif name in ("ETTm1", "ETTm2"):
        m = 30 * 24 * 4
        ends = [12 * m, 16 * m, 20 * m]
    else:
        n_tr, n_te = int(n_rows * 0.7), int(n_rows * 0.2)
        ends = [n_tr, n_rows - n_te, n_rows]
    starts = [0, ends[0] - seq_len, ends[1] - seq_len]
    return list(zip(starts, ends))


@dataclass
class ForecastSplits:
    """Normalised split arrays (rows, C) and the train scaler."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    mean: np.ndarray
    std: np.ndarray

    @property
    def channels(self) -> int:
        return self.train.shape[1]


def load_splits(name: str, seq_len: int = 96, data_dir=None) -> ForecastSplits:
    raw = load_raw(name, data_dir)
    (a0, a1), (b0, b1), (c0, c1) = split_borders(name, len(raw), seq_len)
    mean, std = raw[a0:a1].mean(0), raw[a0:a1].std(0)
    std = np.where(std < 1e-8, 1.0, std)
    z = ((raw - mean) / std).astype(np.float32)
    return ForecastSplits(z[a0:a1], z[b0:b1], z[c0:c1], mean, std)


def n_windows(rows: int, seq_len: int, pred_len: int) -> int:
    return max(rows - seq_len - pred_len + 1, 0)


def windows(arr, idx: torch.Tensor, seq_len: int, pred_len: int) -> tuple[torch.Tensor,
                                                                                      torch.Tensor]:
    """Windows of ``arr`` (rows, C), array or tensor, at ``idx`` -> x (B, seq_len, C), y (B, pred_len, C)."""
    t = torch.as_tensor(arr)
    span = torch.arange(seq_len + pred_len, device=t.device)
    w = t[idx.to(t.device).view(-1, 1) + span]
    return w[:, :seq_len], w[:, seq_len:]
