"""Rollouts of a :class:`DecisionModel` in gymnasium MuJoCo v5 environments, reported as normalised scores.

At each step the model sees the last ``K`` (return-to-go, state, action) triples (the current action slot is
zeros; it comes after the state token, so causality makes it irrelevant) and acts with the prediction at the
last state token, as in Decision Transformer. The target return starts at ``target_return`` and decreases by
each reward. Needs ``gymnasium[mujoco]``; :func:`gym_available` reports whether it is installed.
"""

from __future__ import annotations

import numpy as np
import torch

from minrnn.tasks.rl.data import ENV_IDS, normalized_score

__all__ = ["gym_available", "rollout", "evaluate_policy"]


def gym_available() -> tuple[bool, str]:
    """(True, "") when gymnasium with MuJoCo can be imported, else (False, reason)."""
    try:
        import gymnasium  # noqa: F401
        import mujoco  # noqa: F401
    except ImportError as e:
        return False, f"rollouts need gymnasium[mujoco] (pip install 'minrnn[rl]'): {e}"
    return True, ""


@torch.no_grad()
def rollout(model, env_name: str, state_mean: np.ndarray, state_std: np.ndarray, target_return: float,
            rtg_scale: float = 1000.0, K: int = 20, seed: int = 0, max_steps: int = 1000) -> float:
    """One episode; returns the undiscounted return."""
    ok, why = gym_available()
    if not ok:
        raise ImportError(why)
    import gymnasium as gym
    if env_name not in ENV_IDS:
        raise ValueError(f"env_name must be one of {sorted(ENV_IDS)}, got {env_name!r}")
    env = gym.make(ENV_IDS[env_name])
    obs, _ = env.reset(seed=seed)
    act_dim = env.action_space.shape[0]
    S, A, R, T = [], [], [], []
    rtg, total = target_return, 0.0
    model.eval()
    for t in range(max_steps):
        S.append((np.asarray(obs, np.float32) - state_mean) / state_std)
        A.append(np.zeros(act_dim, np.float32))
        R.append([rtg / rtg_scale])
        T.append(min(t, model.cfg.max_ep_len - 1))
        f = lambda xs: torch.as_tensor(np.asarray(xs[-K:], np.float32))[None]  # noqa: E731
        pred = model(f(R), f(S), f(A), torch.as_tensor(T[-K:])[None])[0, -1].numpy()
        A[-1] = pred
        obs, r, term, trunc, _ = env.step(pred)
        total += float(r)
        rtg -= float(r)
        if term or trunc:
            break
    env.close()
    return total


def evaluate_policy(model, env_name: str, sampler, target_return: float, episodes: int = 5, seed: int = 0,
                    max_steps: int = 1000) -> dict:
    """Mean/std of returns and normalised scores over ``episodes`` rollouts (env seeds ``seed + i``)."""
    rets = [rollout(model, env_name, sampler.state_mean, sampler.state_std, target_return, sampler.rtg_scale,
                    sampler.K, seed + i, max_steps) for i in range(episodes)]
    scores = normalized_score(env_name, np.asarray(rets))
    return {"returns": rets, "return_mean": float(np.mean(rets)), "score_mean": float(np.mean(scores)),
            "score_std": float(np.std(scores)), "episodes": episodes}
