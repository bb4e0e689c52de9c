
"""Tiny end-to-end runs of the task modules (a few steps) and the trainer."""

import pytest
import torch
from torch import nn

from minrnn.tasks import selective_copy
from minrnn.tasks.chomsky import run as chomsky_run
from minrnn.tasks.trainer import TaskTrainConfig, fit
from minrnn.train.core import seed_everything

TINY_SC = dict(seq_len=24, n_tokens=4, d_model=16, expansion=1.0, n_layers=1, steps=3, batch_size=4,
               eval_batches=1, eval_batch_size=4, progress=False)


def test_trainer_learns_and_tracks_best():
    g = seed_everything(0)
    model = nn.Linear(3, 1)
    w = torch.tensor([[1.0, -2.0, 0.5]])

    def batch(step):
        x = torch.randn(16, 3, generator=g)
        return x, x @ w.T

    res = fit(model, batch, lambda m, b: (((m(b[0]) - b[1]) ** 2).mean(), len(b[0])),
              TaskTrainConfig(steps=200, lr=0.05, eval_every=50, monitor="w_err", progress=False),
              eval_fn=lambda m: {"w_err": float((m.weight - w).abs().sum())})
    assert res.steps_done == 200 and res.final_loss < res.losses[0]
    assert [e["step"] for e in res.evals] == [50, 100, 150, 200]
    assert res.best == min(e["w_err"] for e in res.evals)


def test_selective_copy_run_is_deterministic():
    a = selective_copy.run(dict(TINY_SC, mixer="mingru"))
    b = selective_copy.run(dict(TINY_SC, mixer="mingru"))
    assert a["accuracy"] == b["accuracy"] and a["train"]["final_loss"] == b["train"]["final_loss"]
    assert 0.0 <= a["accuracy"] <= 1.0


def test_selective_copy_cli(capsys):
    rc = selective_copy.main(["--mixer", "minlstm", "--seq-len", "24", "--n-tokens", "4", "--steps", "2",
                              "--d-model", "16", "--n-layers", "1", "--eval-batches", "1",
                              "--batch-size", "4"])
    assert rc == 0 and '"accuracy"' in capsys.readouterr().out


def test_chomsky_run():
    r = chomsky_run(dict(task="bucket_sort", mixer="mingru", d_model=16, n_layers=1, steps=3, batch_size=4,
                         eval_lengths=[41, 50], eval_batch_size=4, progress=False))
    assert set(r["per_length"]) == {41, 50}
    assert 0.0 <= r["normalized"] <= 1.0 and r["steps_done"] == 3


def test_former_config_name_still_works():
    from minrnn.tasks import trainer

    assert trainer.TrainConfig is TaskTrainConfig


def test_a_diverged_evaluation_stops_both_task_loops():
    """A NaN validation score never compares better, so it would silently keep (or restore) stale weights."""
    from minrnn.tasks import fit as epoch_fit

    model = nn.Linear(2, 1)
    batch = torch.randn(4, 2)
    with pytest.raises(FloatingPointError, match="eval val_loss is nan at step 2"):
        fit(model, lambda s: batch, lambda m, b: (m(b).pow(2).mean(), 4),
            TaskTrainConfig(steps=4, lr=0.01, eval_every=2, monitor="val_loss", progress=False),
            eval_fn=lambda m: {"val_loss": float("nan")})
    with pytest.raises(FloatingPointError, match="validation score is nan after epoch 0"):
        epoch_fit.fit(model, lambda b: model(b).pow(2).mean(), lambda epoch: [batch], lambda: float("nan"),
                      epoch_fit.FitConfig(epochs=3, patience=2))
