"""Offline-RL datasets in the D4RL layout and Decision-Transformer segment sampling.

Sources (all return the same flat dict of numpy arrays: ``observations`` (N, obs_dim), ``actions`` (N,
act_dim),
``rewards`` (N,), ``terminals`` (N,), ``timeouts`` (N,)):
- :func:`load_npz`: the local ``$MINRNN_DATA_DIR/rl/<env>-v5-<dataset>.npz`` files (``medium-expert`` =
  ``medium`` + ``expert-ish`` concatenated, medium first, as the data README prescribes);
- :func:`load_d4rl_hdf5`: a D4RL ``.hdf5`` file (needs ``h5py``);
- :func:`load_minari`: a Minari dataset id (needs ``minari``).
:func:`split_episodes` cuts at ``terminals | timeouts`` and adds the undiscounted return-to-go
``rtg_t = sum_{t' >= t} r_t'``. :class:`SegmentSampler` draws (rtg, state, action, timestep) windows of
length ``K``, each inside one episode; episodes shorter than ``K`` are left out (Decision Transformer pads
and masks them instead: on hopper medium-replay this drops 233 of 845 episodes, 5.5% of the transitions,
the short low-return ones).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from minrnn.data.locate import data_path, data_root

__all__ = ["REF_RETURNS", "ENV_IDS", "data_root", "load_npz", "load_d4rl_hdf5", "load_minari",
           "split_episodes", "normalized_score", "Episode", "SegmentSampler"]

# random / expert reference returns from $MINRNN_DATA_DIR/rl/README.md (gymnasium v5; NOT D4RL's)
REF_RETURNS = {
    "halfcheetah": {"random": -287.3437, "expert": 5667.7849},
    "hopper": {"random": 17.7890, "expert": 2458.2769},
}
ENV_IDS = {"halfcheetah": "HalfCheetah-v5", "hopper": "Hopper-v5"}
KEYS = ("observations", "actions", "rewards", "terminals", "timeouts")


def load_npz(env: str, dataset: str, data_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """env in {"halfcheetah", "hopper"}; dataset in {"medium", "medium-replay", "expert-ish",
    "medium-expert"}."""
    if env not in REF_RETURNS:
        raise ValueError(f"env must be one of {sorted(REF_RETURNS)}, got {env!r}")
    parts = ["medium", "expert-ish"] if dataset == "medium-expert" else [dataset]
    if dataset not in ("medium", "medium-replay", "expert-ish", "medium-expert"):
        raise ValueError("dataset must be medium, medium-replay, expert-ish or medium-expert, "
                         f"got {dataset!r}")
    arrays = []
    for part in parts:
        path = data_path(Path("rl") / f"{env}-v5-{part}.npz", f"offline-RL dataset {env}-{part}", data_dir)
        with np.load(path) as z:
            arrays.append({k: z[k] for k in KEYS})
    return {k: np.concatenate([a[k] for a in arrays]) for k in KEYS}


def load_d4rl_hdf5(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a D4RL hdf5 file (keys as in :data:`KEYS`)."""
    try:
        import h5py
    except ImportError as e:
        raise ImportError("load_d4rl_hdf5 needs h5py: pip install 'minrnn[rl]' (or pip install h5py)") from e
    with h5py.File(path, "r") as f:
        out = {k: np.asarray(f[k]) for k in KEYS if k in f}
    if "timeouts" not in out:
        out["timeouts"] = np.zeros_like(out["terminals"], dtype=bool)
    return out


def load_minari(dataset_id: str, download: bool = False) -> dict[str, np.ndarray]:
    """Flatten a Minari dataset into the D4RL layout (needs ``minari``)."""
    try:
        import minari
    except ImportError as e:
        raise ImportError("load_minari needs minari: pip install 'minrnn[rl]' (or pip install minari)") from e
    ds = minari.load_dataset(dataset_id, download=download)
    cols: dict[str, list] = {k: [] for k in KEYS}
    for ep in ds.iterate_episodes():
        cols["observations"].append(np.asarray(ep.observations)[:-1])
        cols["actions"].append(np.asarray(ep.actions))
        cols["rewards"].append(np.asarray(ep.rewards))
        cols["terminals"].append(np.asarray(ep.terminations))
        cols["timeouts"].append(np.asarray(ep.truncations))
    return {k: np.concatenate(v) for k, v in cols.items()}


@dataclass
class Episode:
    observations: np.ndarray  # (T, obs_dim) float32
    actions: np.ndarray       # (T, act_dim) float32
    rewards: np.ndarray       # (T,)
    rtg: np.ndarray           # (T,) return-to-go

    @property
    def ret(self) -> float:
        return float(self.rewards.sum())

    def __len__(self) -> int:
        return len(self.rewards)


def split_episodes(data: dict[str, np.ndarray]) -> list[Episode]:
    """Cut flat transitions into episodes at ``terminals | timeouts`` (a trailing partial episode is kept)."""
    missing = [k for k in ("observations", "actions", "rewards", "terminals") if k not in data]
    if missing:
        raise ValueError(f"data is missing keys {missing}")
    ends = np.asarray(data["terminals"], bool) | np.asarray(data.get("timeouts", 0), bool)
    cut = np.flatnonzero(ends) + 1
    bounds = np.concatenate([[0], cut, [len(ends)]] if (not len(cut) or cut[-1] != len(ends))
                            else [[0], cut])
    eps = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b <= a:
            continue
        r = np.asarray(data["rewards"][a:b], np.float32)
        eps.append(Episode(np.asarray(data["observations"][a:b], np.float32),
                           np.asarray(data["actions"][a:b], np.float32), r,
                           np.cumsum(r[::-1])[::-1].copy()))
    return eps


def normalized_score(env: str, ret: float | np.ndarray) -> float | np.ndarray:
    """D4RL-style ``100 * (R - random) / (expert - random)`` with the local reference returns."""
    if env not in REF_RETURNS:
        raise ValueError(f"env must be one of {sorted(REF_RETURNS)}, got {env!r}")
    ref = REF_RETURNS[env]
    return 100.0 * (ret - ref["random"]) / (ref["expert"] - ref["random"])


class SegmentSampler:
    """Sample DT training windows. ``sample(batch, generator)`` returns a dict of tensors:
    ``rtg`` (B,K,1) scaled by ``1/rtg_scale``, ``states`` (B,K,obs) normalised with the dataset mean/std,
    ``actions`` (B,K,act), ``timesteps`` (B,K) long. Episodes shorter than ``K`` are dropped (the sampler
    raises if none is left); windows are drawn with probability proportional to episode length (as DT does).
    """

    def __init__(self, episodes: list[Episode], K: int = 20, rtg_scale: float = 1000.0,
                 max_ep_len: int = 1000):
        if K < 1:
            raise ValueError(f"K must be >= 1, got {K}")
        self.K, self.rtg_scale, self.max_ep_len = K, rtg_scale, max_ep_len
        obs = np.concatenate([e.observations for e in episodes])
        self.state_mean, self.state_std = obs.mean(0), obs.std(0) + 1e-6
        self.episodes = [e for e in episodes if len(e) >= K]
        if not self.episodes:
            raise ValueError(f"no episode is at least K={K} steps long")
        lens = np.array([len(e) for e in self.episodes], np.float64)
        self.p = torch.tensor(lens / lens.sum())
        self.obs_dim = episodes[0].observations.shape[1]
        self.act_dim = episodes[0].actions.shape[1]

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        idx = torch.multinomial(self.p, batch_size, replacement=True, generator=generator).tolist()
        u = torch.rand(batch_size, generator=generator).tolist()
        S, A, R, T = [], [], [], []
        for i, ui in zip(idx, u):
            e = self.episodes[i]
            s0 = int(ui * (len(e) - self.K + 1))
            sl = slice(s0, s0 + self.K)
            S.append((e.observations[sl] - self.state_mean) / self.state_std)
            A.append(e.actions[sl])
            R.append(e.rtg[sl, None] / self.rtg_scale)
            T.append(np.minimum(np.arange(s0, s0 + self.K), self.max_ep_len - 1))
        f = lambda xs: torch.as_tensor(np.stack(xs), dtype=torch.float32)  # noqa: E731
        return {"states": f(S), "actions": f(A), "rtg": f(R), "timesteps": torch.as_tensor(np.stack(T))}
