"""Bad task settings fail up front with errors naming the setting; results are strict JSON."""

from __future__ import annotations

import json

import pytest
import torch

from minrnn.cli import main as cli_main
from minrnn.tasks.checks import check_out, to_json
from minrnn.tasks.chomsky.train import ChomskyConfig
from minrnn.tasks.fit import FitConfig
from minrnn.tasks.rl.train import RLConfig
from minrnn.tasks.selective_copy import SelectiveCopyConfig
from minrnn.tasks.tpp.train import TPPConfig


@pytest.mark.parametrize("make, match", [
    (lambda: SelectiveCopyConfig(eval_batches=0), "eval_batches must be a positive int, got 0"),
    (lambda: SelectiveCopyConfig(d_model=-1), "d_model must be a positive int"),
    (lambda: ChomskyConfig(steps=-1), "steps must be an int >= 0, got -1"),
    (lambda: RLConfig(eval_episodes=0), "eval_episodes must be a positive int"),
    (lambda: RLConfig(K=True), "K must be a positive int, got True"),
    (lambda: TPPConfig(components=0), "components must be a positive int"),
    (lambda: TPPConfig(eval_max_len=-1), "eval_max_len must be a positive int"),
    (lambda: FitConfig(max_steps=-1), "max_steps must be an int >= 0"),
    (lambda: FitConfig(patience=-2), "patience must be an int >= 0"),
])
def test_bad_task_settings_name_the_field(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_out_is_checked_before_training(tmp_path, capsys):
    with pytest.raises(ValueError, match="--out must be a file path, got the folder"):
        check_out(tmp_path)
    assert check_out(tmp_path / "new" / "r.json") == tmp_path / "new" / "r.json" and (tmp_path / "new").is_dir()
    # the preset tasks fail at once (no run) when --out is a folder
    assert cli_main(["train", "selective_copy", "--steps", "100000", "--out", str(tmp_path)]) == 2
    assert "--out must be a file path" in capsys.readouterr().err


def test_results_are_strict_json():
    text = to_json({"loss": float("nan"), "best": float("inf"), "xs": [1.0, float("-inf")], "n": 3})
    assert json.loads(text) == {"loss": None, "best": None, "xs": [1.0, None], "n": 3}


def test_eval_and_generate_say_they_need_an_lm_run(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"task": "tpp"}))
    assert cli_main(["eval", str(tmp_path)]) == 2
    assert "eval works on language-model runs" in capsys.readouterr().err


def test_generate_without_a_newline_in_the_vocabulary(tmp_path, capsys):
    from minrnn.tasks import lm

    data = tmp_path / "one_line.txt"
    data.write_text("abcab" * 400, encoding="utf-8")  # no newline anywhere
    run = tmp_path / "run"
    assert lm.main(["--data", str(data), "--steps", "2", "--eval-every", "2", "--d-model", "8", "--n-layers", "1",
                    "--context", "8", "--batch-size", "2", "--eval-batches", "1", "--no-progress",
                    "--out", str(run)]) == 0
    capsys.readouterr()
    assert lm.generate_main([str(run), "--tokens", "5"]) == 0
    assert len(capsys.readouterr().out.strip()) == 5
    with pytest.raises(ValueError, match="--prompt: .*not in the vocabulary"):
        lm.generate_main([str(run), "--tokens", "5", "--prompt", "xyz"])


def test_forecasting_horizon_longer_than_a_split(data_dir):
    from minrnn.tasks.forecasting import run

    with pytest.raises(ValueError, match="the val split of ETTh1 .* is shorter than seq_len \\+ pred_len"):
        run({"dataset": "ETTh1", "pred_len": 3000, "data_dir": data_dir, "fit": {"epochs": 1}})


def test_patience_without_a_validation_split_is_refused():
    from minrnn.tasks.classification import ClassificationConfig
    from minrnn.tasks.fit import fit

    model = torch.nn.Linear(1, 1)
    with pytest.raises(ValueError, match="patience=1 needs a validation score"):
        fit(model, lambda b: model(b).sum(), lambda e: [torch.ones(1, 1)], None, FitConfig(epochs=2, patience=1))
    with pytest.raises(ValueError, match="fit.patience=2: classification keeps the last epoch"):
        ClassificationConfig(fit={"epochs": 1, "patience": 2})


@pytest.mark.parametrize("lengths, match", [([], "non-empty list"), ([40, 0], "positive ints"),
                                            ("40", "non-empty list")])
def test_chomsky_eval_lengths_checked_before_training(lengths, match):
    with pytest.raises(ValueError, match=f"eval_lengths must be a {match}|eval_lengths must be a non-empty"):
        ChomskyConfig(eval_lengths=lengths)


def test_chomsky_eval_lengths_accept_numpy_ints():
    import numpy as np

    assert ChomskyConfig(eval_lengths=list(np.arange(41, 43))).eval_lengths == [41, 42]


def test_chomsky_score_leaves_out_training_lengths():
    from minrnn.tasks.chomsky.train import TASKS, normalized_beyond_train

    chance = TASKS["parity_check"].chance
    run = {"config": {"task": "parity_check", "train_max_len": 40}, "normalized": 0.5,
           "per_length": {"40": 1.0, "80": chance, "160": chance}}
    assert normalized_beyond_train(run) == 0.0
    run["per_length"] = {"20": 1.0}
    assert normalized_beyond_train(run) == 0.5


def test_chomsky_with_train_max_len_one_runs():
    from minrnn.tasks.chomsky.train import run

    r = run(ChomskyConfig(task="parity_check", mixer="mingru", d_model=8, n_layers=1, steps=1, batch_size=2,
                          train_max_len=1, eval_lengths=[3], eval_batch_size=2, progress=False))
    assert 0.0 <= r["in_distribution_accuracy"] <= 1.0
