"""Train a decision model on one offline dataset and evaluate it by rollouts (``minrnn train rl``).

Loss: mean squared error between predicted and dataset actions over all K positions (DT's loss).
Target return for rollouts: ``target_scale`` x the best episode return in the training data (documented
choice;
DT uses hand-picked targets). Scores use the local reference returns (see :mod:`minrnn.tasks.rl.data`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

from minrnn.tasks.checks import check_ints
from minrnn.tasks.preset_cli import preset_main
from minrnn.tasks.rl.data import SegmentSampler, load_npz, split_episodes
from minrnn.tasks.rl.evaluate import evaluate_policy, gym_available
from minrnn.tasks.rl.model import DecisionConfig, DecisionModel
from minrnn.tasks.trainer import TaskTrainConfig, fit
from minrnn.train.core import seed_everything

__all__ = ["RLConfig", "run", "main", "PRESETS"]


@dataclass
class RLConfig:
    env: str = "hopper"
    dataset: str = "medium"
    mixer: str = "mingru"
    d_model: int = 128
    n_layers: int = 3
    expansion: float = 1.0
    num_heads: int = 1
    dropout: float = 0.1
    K: int = 20
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 10_000  # Decision Transformer's experiment.py
    grad_clip: float = 0.25
    steps: int = 100_000
    rtg_scale: float = 1000.0
    target_scale: float = 1.0
    eval_episodes: int = 10
    max_ep_steps: int = 1000
    seed: int = 0
    data_dir: str | None = None
    max_seconds: float = 0.0
    progress: bool = True

    def __post_init__(self):
        check_ints(self, positive=("d_model", "n_layers", "num_heads", "K", "batch_size", "eval_episodes",
                                   "max_ep_steps"),
                   non_negative=("steps", "warmup_steps", "seed"))


PRESETS = {
    "gpu": {},
    "cpu": dict(d_model=64, n_layers=2, steps=800, batch_size=32, lr=5e-4, warmup_steps=100, eval_episodes=5,
                max_ep_steps=1000),
}


def run(config: RLConfig | dict) -> dict:
    """Train, then roll out; returns config, training summary and (if gymnasium is present) scores."""
    cfg = config if isinstance(config, RLConfig) else RLConfig(**config)
    g = seed_everything(cfg.seed)
    eps = split_episodes(load_npz(cfg.env, cfg.dataset, cfg.data_dir))
    sampler = SegmentSampler(eps, K=cfg.K, rtg_scale=cfg.rtg_scale)
    model = DecisionModel(DecisionConfig(obs_dim=sampler.obs_dim, act_dim=sampler.act_dim, mixer=cfg.mixer,
                                         d_model=cfg.d_model, n_layers=cfg.n_layers, expansion=cfg.expansion,
                                         num_heads=cfg.num_heads, dropout=cfg.dropout))

    def loss_fn(m, b):
        pred = m(b["rtg"], b["states"], b["actions"], b["timesteps"])
        return torch.mean((pred - b["actions"]) ** 2), b["actions"].shape[0] * cfg.K

    t0 = time.perf_counter()
    tc = TaskTrainConfig(steps=cfg.steps, lr=cfg.lr, weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_steps,
                     grad_clip=cfg.grad_clip, max_seconds=cfg.max_seconds, progress=cfg.progress,
                     desc=f"rl {cfg.env}-{cfg.dataset} {cfg.mixer}")
    res = fit(model, lambda s: sampler.sample(cfg.batch_size, g), loss_fn, tc)
    out = {"config": asdict(cfg), "final_loss": res.final_loss, "steps_done": res.steps_done,
           "train_time_s": res.wall_time_s, "n_episodes": len(eps),
           "dataset_return_max": max(e.ret for e in eps)}
    ok, why = gym_available()
    if ok:
        target = cfg.target_scale * out["dataset_return_max"]
        seed = EVAL_SEED_BASE + 1000 * cfg.seed
        out.update(evaluate_policy(model, cfg.env, sampler, target, cfg.eval_episodes, seed=seed,
                                   max_steps=cfg.max_ep_steps))
        out["target_return"], out["eval_env_seeds"] = target, f"{seed} + episode"
    else:
        out["eval_skipped"] = why
    out["wall_time_s"] = time.perf_counter() - t0
    return out


#: rollout episode i of training seed s resets the environment with seed EVAL_SEED_BASE + 1000 s + i: outside
#: every range the local datasets' generator used (0, 1000+i, ..., 5000+i, 10000 + 100 j + i; rl/README.md),
#: so no evaluation episode starts from a training episode's reset state
EVAL_SEED_BASE = 1_000_000


def main(argv: list[str] | None = None) -> int:
    """CLI: ``minrnn train rl --env hopper --dataset medium --mixer mingru --scale cpu``."""
    keys = ("score_mean", "score_std", "return_mean", "final_loss", "wall_time_s", "eval_skipped")
    return preset_main(
        argv, prog="minrnn train rl", description=__doc__.splitlines()[0], presets=PRESETS, run=run,
        fields=(("env", str), ("dataset", str), ("mixer", str), ("d_model", int), ("n_layers", int),
                ("steps", int), ("batch_size", int), ("lr", float), ("seed", int), ("eval_episodes", int),
                ("data_dir", str), ("max_seconds", float)),
        summarize=lambda r: {k: r.get(k) for k in keys if k in r})
