"""The reproduce harnesses refuse what would silently run the wrong thing or lose results (from review):
typos in --set/--where, --limit/--seeds 0, a resume with other --set values, a failed experiment exiting 0,
a scratch --out-dir overwriting the committed Aaren report."""

from __future__ import annotations

import json

import pytest

from minrnn.reproduce import minrnn_paper


def test_unknown_set_or_where_key_is_refused_before_running(tmp_path):
    with pytest.raises(ValueError, match=r"--set: unknown key\(s\) \['stepz'\]"):
        minrnn_paper.main(["--only", "selective_copy", "--set", "stepz=20", "--out-dir", str(tmp_path)])
    with pytest.raises(ValueError, match=r"--where: unknown key\(s\) \['mixr'\]"):
        minrnn_paper.main(["--only", "selective_copy", "--where", "mixr=mamba", "--out-dir", str(tmp_path)])
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("flag", ["--limit", "--seeds", "--threads"])
def test_zero_counts_are_argparse_errors(tmp_path, flag, capsys):
    with pytest.raises(SystemExit) as e:
        minrnn_paper.main(["--only", "selective_copy", flag, "0", "--out-dir", str(tmp_path)])
    assert e.value.code == 2 and "expected a positive integer" in capsys.readouterr().err


def test_resume_with_other_set_values_is_refused(tmp_path):
    common = ["--only", "selective_copy", "--limit", "1", "--threads", "1", "--out-dir", str(tmp_path)]
    assert minrnn_paper.main([*common, "--set", "steps=2", "eval_batches=1"]) == 0
    with pytest.raises(ValueError, match="--resume: the saved run .* was made with other values"):
        minrnn_paper.run_experiment("selective_copy", "cpu", tmp_path, limit=1, overrides={"steps": 2},
                                    resume=True)
    runs = json.loads((tmp_path / "data" / "minrnn_selective_copy.json").read_text())["runs"]
    assert len(runs) == 1


def test_a_failed_experiment_fails_the_command(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise FileNotFoundError("no data here")

    monkeypatch.setattr(minrnn_paper, "run_experiment", boom)
    with pytest.raises(ValueError, match=r"1 experiment\(s\) failed: shakespeare \(FileNotFoundError: no data"):
        minrnn_paper.main(["--only", "shakespeare", "--out-dir", str(tmp_path)])
    assert (tmp_path / "minrnn-paper.md").is_file()  # the report of what there is still gets written


def test_aaren_report_goes_beside_a_given_out_dir(tmp_path, monkeypatch):
    from minrnn.reproduce import aaren_paper

    monkeypatch.chdir(tmp_path)
    assert aaren_paper.main(["--only", "params", "--out-dir", str(tmp_path / "scratch")]) == 0
    assert (tmp_path / "scratch" / "aaren-paper.md").is_file()
    assert not (tmp_path / "docs").exists()


def test_scale_gpu_refuses_the_tasks_that_train_on_the_cpu(tmp_path):
    with pytest.raises(ValueError, match="--scale gpu: selective_copy train on the CPU"):
        minrnn_paper.main(["--scale", "gpu", "--only", "selective_copy", "--out-dir", str(tmp_path)])


def test_set_applies_to_every_run_of_the_experiment(tmp_path):
    """A key the main runs' plan leaves at the default (eval_every, n_layers for selective copying) was
    accepted and silently dropped for them."""
    assert minrnn_paper.main(["--only", "selective_copy", "--limit", "1", "--threads", "1", "--out-dir",
                              str(tmp_path), "--set", "steps=2", "n_layers=1", "eval_every=1"]) == 0
    cfg = json.loads((tmp_path / "data" / "minrnn_selective_copy.json").read_text())["runs"][0]["config"]
    assert (cfg["steps"], cfg["n_layers"], cfg["eval_every"]) == (2, 1, 1)


def test_shakespeare_config_is_checked_up_front():
    from minrnn.reproduce.shakespeare import ShakespeareConfig

    for bad in ({"eval_batches": 0}, {"batch_size": 0}, {"warmup_steps": -5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ShakespeareConfig(**bad)
