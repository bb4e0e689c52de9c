"""Offline-RL data loaders (on the real local data), decision model shapes and a tiny run."""

import numpy as np
import pytest
import torch

from minrnn.tasks.rl.data import SegmentSampler, load_npz, normalized_score, split_episodes
from minrnn.tasks.rl.model import DecisionConfig, DecisionModel


def test_loader_real_data(data_dir):
    d = load_npz("hopper", "medium", data_dir)
    assert d["observations"].shape[1] == 11 and d["actions"].shape[1] == 3
    eps = split_episodes(d)
    assert len(eps) == 224                                            # README: 224 episodes
    assert abs(np.mean([e.ret for e in eps]) - 1326.8) < 1.0          # README: return mean 1326.8
    e = eps[0]
    assert np.isclose(e.rtg[0], e.ret) and np.isclose(e.rtg[-1], e.rewards[-1])
    me = load_npz("hopper", "medium-expert", data_dir)
    assert len(me["rewards"]) == 99_253 + 99_366


def test_normalized_score():
    assert normalized_score("hopper", 17.7890) == pytest.approx(0.0)
    assert normalized_score("hopper", 2458.2769) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="env"):
        normalized_score("ant", 1.0)


def test_sampler_and_model_shapes():
    rng = np.random.default_rng(0)
    n = 60
    data = {"observations": rng.normal(size=(n, 5)).astype(np.float32),
            "actions": rng.uniform(-1, 1, size=(n, 2)).astype(np.float32),
            "rewards": np.ones(n, np.float32), "terminals": np.zeros(n, bool),
            "timeouts": np.arange(n) % 30 == 29}
    eps = split_episodes(data)
    assert [len(e) for e in eps] == [30, 30]
    s = SegmentSampler(eps, K=8)
    b = s.sample(4, torch.Generator().manual_seed(0))
    assert b["states"].shape == (4, 8, 5) and b["rtg"].shape == (4, 8, 1) and b["timesteps"].shape == (4, 8)
    for mixer in ("mingru", "transformer", "aaren"):
        m = DecisionModel(DecisionConfig(obs_dim=5, act_dim=2, mixer=mixer, d_model=16, n_layers=1))
        out = m(b["rtg"], b["states"], b["actions"], b["timesteps"])
        assert out.shape == (4, 8, 2) and out.abs().max() <= 1


def test_rl_run_tiny(data_dir):
    from minrnn.tasks.rl import run
    r = run(dict(env="hopper", dataset="medium", mixer="minlstm", d_model=16, n_layers=1, steps=3,
                 batch_size=4, warmup_steps=1, eval_episodes=1, max_ep_steps=5, data_dir=str(data_dir),
                 progress=False))
    assert r["steps_done"] == 3
    assert "score_mean" in r or "eval_skipped" in r


def test_optional_deps_give_clear_errors(tmp_path):
    from minrnn.tasks.rl.data import load_d4rl_hdf5, load_minari
    from minrnn.tasks.rl.evaluate import gym_available
    ok, why = gym_available()
    assert ok or "gymnasium" in why
    try:
        import h5py  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="h5py"):
            load_d4rl_hdf5(tmp_path / "x.hdf5")
    try:
        import minari  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="minari"):
            load_minari("mujoco/hopper/medium-v0")
