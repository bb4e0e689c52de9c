"""Temporal point process data: ragged ``.npz`` files under ``$MINRNN_DATA_DIR/tpp``.

A file holds ``arrival_times`` (all sequences concatenated) and ``offsets`` (n_seq+1): sequence i is
``arrival_times[offsets[i]:offsets[i+1]]``, optionally ``marks`` (aligned ints), ``t_max`` (every sequence is
observed on [0, t_max]) and ``nll`` (true per-sequence NLL of the synthetic sets, divided by the dataset's
mean number of events, as shchur/triangular-tpp stores it). Split 60/20/20 in file order (as triangular-tpp).

Batches (see :func:`collate`) hold, for a sequence with events t_1 < ... < t_n and t_0 = 0:
    tau_i = t_i - t_{i-1} (i = 1..n), and tau_{n+1} = t_max - t_n (the survival gap) when t_max is known;
position j = 0..n of the model input holds event j (j = 0: a start token) and predicts tau_{j+1} / mark_{j+1}.

Without ``t_max`` (wikipedia, yelp_toronto: absolute timestamps, no observation window) t_1 is a date, not a
gap: the first event only starts the clock, as in ifl-tpp (which predicts t_2..t_n given t_1). Its gap is
set to 0 (the floor), it is input only (no time or mark target), and it is left out of :func:`time_stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from minrnn.data.locate import data_path

TPP_FILES = {
    "wikipedia": "ifl-tpp/wikipedia_ragged.npz", "yelp_toronto": "ifl-tpp/yelp_toronto_ragged.npz",
    "taxi": "triangular-tpp/taxi.npz", "twitter": "triangular-tpp/twitter.npz",
    "reddit": "triangular-tpp/reddit_askscience_comments.npz", "pubg": "triangular-tpp/pubg.npz",
    "yelp_airport": "triangular-tpp/yelp_airport.npz",
    "yelp_mississauga": "triangular-tpp/yelp_mississauga.npz",
    "hawkes1": "triangular-tpp/hawkes1.npz", "hawkes2": "triangular-tpp/hawkes2.npz",
    "self_correcting": "triangular-tpp/self_correcting.npz",
    "stationary_poisson": "triangular-tpp/stationary_poisson.npz",
    "nonstationary_poisson": "triangular-tpp/nonstationary_poisson.npz",
    "stationary_renewal": "triangular-tpp/stationary_renewal.npz",
    "nonstationary_renewal": "triangular-tpp/nonstationary_renewal.npz",
}
TPP_DATASETS = tuple(TPP_FILES)


@dataclass
class TPPData:
    """times: list of (n_i,) float64 arrival times; marks: list of (n_i,) int64 or None."""

    times: list
    marks: list | None
    t_max: float | None
    nll: np.ndarray | None
    num_marks: int

    def __len__(self) -> int:
        return len(self.times)

    @property
    def mean_events(self) -> float:
        return float(np.mean([len(t) for t in self.times]))

    def subset(self, idx) -> TPPData:
        return TPPData([self.times[i] for i in idx],
                       None if self.marks is None else [self.marks[i] for i in idx],
                       self.t_max, None if self.nll is None else self.nll[idx], self.num_marks)

    def split(self, fractions=(0.6, 0.2, 0.2)) -> tuple[TPPData, TPPData, TPPData]:
        n = len(self)
        a, b = int(n * fractions[0]), int(n * (fractions[0] + fractions[1]))
        return self.subset(np.arange(a)), self.subset(np.arange(a, b)), self.subset(np.arange(b, n))


def _check_tpp(name: str, path, d, t: np.ndarray, off: np.ndarray) -> None:
    """Offsets cover the times, times are sorted within each sequence and lie in [0, t_max]: the gaps the
    model reads (and its survival term) would otherwise be negative, and collate would floor them silently."""
    def bad(why: str) -> ValueError:
        return ValueError(f"TPP dataset {name!r} ({path}): {why}")

    if not np.isfinite(t).all():
        raise bad("arrival times must be finite (no NaN or inf)")
    if off.ndim != 1 or len(off) < 1 or off[0] != 0 or off[-1] != len(t) or np.any(np.diff(off) < 0):
        raise bad(f"offsets must rise from 0 to len(arrival_times) = {len(t)}")
    starts = np.zeros(len(t), dtype=bool)
    starts[off[:-1][off[:-1] < len(t)]] = True
    if np.any((np.diff(t) < 0) & ~starts[1:]):
        raise bad("arrival times must be sorted within each sequence")
    if len(t) and t.min() < 0:
        raise bad(f"arrival times must be >= 0, got {t.min()}")
    if "t_max" in d.files and len(t) and t.max() > float(d["t_max"]):
        raise bad(f"arrival times must be <= t_max = {float(d['t_max'])}, got {t.max()}")
    if "marks" in d.files and len(d["marks"]) != len(t):
        raise bad(f"marks must have one entry per arrival time ({len(t)}), got {len(d['marks'])}")


def load_tpp(name: str, data_dir=None) -> TPPData:
    if name not in TPP_FILES:
        raise ValueError(f"name must be one of {TPP_DATASETS}, got {name!r}")
    path = data_path(Path("tpp") / TPP_FILES[name], f"TPP dataset {name!r}", data_dir)
    d = np.load(path)
    t, off = d["arrival_times"], d["offsets"]
    _check_tpp(name, path, d, t, off)
    times = [t[off[i]:off[i + 1]] for i in range(len(off) - 1)]
    marks = None
    if "marks" in d.files:
        m = d["marks"]
        marks = [m[off[i]:off[i + 1]] for i in range(len(off) - 1)]
    t_max = float(d["t_max"]) if "t_max" in d.files else None
    nll = np.asarray(d["nll"], dtype=np.float64) if "nll" in d.files else None
    num_marks = int(d["marks"].max()) + 1 if marks is not None else 1
    return TPPData(times, marks, t_max, nll, num_marks)


def inter_times(times: np.ndarray) -> np.ndarray:
    """(n,) arrival times -> (n,) gaps tau_i = t_i - t_{i-1}, t_0 = 0."""
    return np.diff(np.concatenate([[0.0], times]))


@dataclass
class Batch:
    """tau (B, N+1) float32 targets; marks_in (B, N+1) long (0 = start token, k+1 = mark k);
    mark_target (B, N+1) long; event_mask (B, N+1) bool (tau target is an event);
    surv_mask (B, N+1) bool (target is the survival gap); n_events (B,)."""

    tau: torch.Tensor
    marks_in: torch.Tensor
    mark_target: torch.Tensor
    event_mask: torch.Tensor
    surv_mask: torch.Tensor
    n_events: torch.Tensor

    def to(self, device) -> Batch:
        return Batch(*(getattr(self, f).to(device) for f in
                       ("tau", "marks_in", "mark_target", "event_mask", "surv_mask", "n_events")))


def collate(data: TPPData, idx, max_len: int | None = None, tau_floor: float = 0.0) -> Batch:
    """Pad sequences ``idx`` of ``data`` (cut to ``max_len`` events; cut ones lose the survival term)."""
    seqs = [data.times[i] for i in idx]
    ns = [min(len(s), max_len) if max_len else len(s) for s in seqs]
    N = max(ns)
    B = len(seqs)
    tau = np.ones((B, N + 1), dtype=np.float64)
    marks_in = np.zeros((B, N + 1), dtype=np.int64)
    mark_t = np.zeros((B, N + 1), dtype=np.int64)
    ev = np.zeros((B, N + 1), dtype=bool)
    sv = np.zeros((B, N + 1), dtype=bool)
    for b, (s, n) in enumerate(zip(seqs, ns)):
        tau[b, :n] = inter_times(s)[:n]
        ev[b, :n] = True
        if data.t_max is None and n:  # no window: the first event starts the clock (module docstring)
            tau[b, 0], ev[b, 0] = 0.0, False
        if data.t_max is not None and n == len(s):
            tau[b, n] = data.t_max - (s[n - 1] if n else 0.0)
            sv[b, n] = True
        if data.marks is not None:
            m = data.marks[idx[b]][:n]
            marks_in[b, 1:n + 1] = m + 1
            mark_t[b, :n] = m
        else:
            marks_in[b, 1:n + 1] = 1
    tau = np.maximum(tau, tau_floor)
    return Batch(torch.from_numpy(tau.astype(np.float32)), torch.from_numpy(marks_in),
                 torch.from_numpy(mark_t),
                 torch.from_numpy(ev), torch.from_numpy(sv), torch.tensor(ns))


def time_stats(data: TPPData) -> tuple[float, float, float, float]:
    """(mean, std) of log tau over train events, zero-gap floor (half the smallest positive gap), max tau.
    Without ``t_max`` the first event's "gap" (a timestamp) is left out."""
    first = 1 if data.t_max is None else 0
    taus = np.concatenate([inter_times(s)[first:] for s in data.times if len(s) > first])
    floor = 0.5 * float(taus[taus > 0].min())
    logt = np.log(np.maximum(taus, floor))
    return float(logt.mean()), float(logt.std() + 1e-6), floor, float(taus.max())
