import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import minrnn
from minrnn.cli import CLIError, _load, main


def _err_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1] if err else ""


def test_eval_and_generate(trained_run, capsys):
    out, _ = trained_run
    capsys.readouterr()
    assert main(["eval", str(out)]) == 0
    assert capsys.readouterr().out.startswith("val_loss ")
    assert main(["generate", str(out), "--tokens", "25", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert len(text) == 26 and text.endswith("\n")
    assert main(["eval", str(out), "--full"]) == 0


def test_unknown_task_mixer_and_command(tmp_path, trained_run, capsys):
    _, text = trained_run
    assert main(["train", "nope"]) == 2
    assert "unknown task 'nope'" in _err_line(capsys)
    assert main(["train", "lm", "--data", str(text), "--out", str(tmp_path / "x"), "--mixer", "rwkv"]) == 2
    assert "mixer" in _err_line(capsys)
    assert not (tmp_path / "x").exists()
    assert main(["train", "lm", "--data", str(text), "--out", str(tmp_path / "x"),
                 "--set", "model.foo=1"]) == 2
    assert "foo" in _err_line(capsys)
    assert main(["frobnicate"]) == 2


def test_bad_data_is_one_line_error(tmp_path, capsys):
    (tmp_path / "b.bin").write_bytes(b"\x00\x01\x02")
    assert main(["train", "lm", "--data", str(tmp_path / "b.bin"), "--out", str(tmp_path / "r")]) == 2
    assert "binary" in _err_line(capsys)
    (tmp_path / "short.txt").write_text("abc")
    assert main(["train", "lm", "--data", str(tmp_path / "short.txt"), "--out", str(tmp_path / "r")]) == 2
    assert "too short" in _err_line(capsys)


def test_existing_run_is_not_overwritten(trained_run, capsys):
    out, text = trained_run
    before = (out / "metrics.jsonl").read_bytes()
    assert main(["train", "lm", "--data", str(text), "--out", str(out), "--steps", "3"]) == 2
    assert "--resume" in _err_line(capsys)
    assert (out / "metrics.jsonl").read_bytes() == before


def test_corrupt_and_mismatched_checkpoints(trained_run, tmp_path, capsys):
    out, _ = trained_run
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    (bad / "checkpoint" / "model.safetensors").write_bytes(b"not a checkpoint")
    assert main(["eval", str(bad)]) == 2
    assert "corrupt" in _err_line(capsys)
    mism = tmp_path / "mism"
    shutil.copytree(out, mism)
    cfg_path = mism / "checkpoint" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["model"]["backbone"]["d_model"] = 24
    cfg_path.write_text(json.dumps(cfg))
    assert main(["generate", str(mism), "--tokens", "3"]) == 2
    assert "does not match" in _err_line(capsys)
    assert main(["eval", str(tmp_path)]) == 2
    assert "not a run directory" in _err_line(capsys)


def test_missing_module_is_a_clear_error():
    with pytest.raises(CLIError, match="not available"):
        _load("minrnn.no_such_module_xyz")


def test_python_dash_m_help():
    env_path = str(Path(minrnn.__file__).parents[1])
    res = subprocess.run([sys.executable, "-m", "minrnn", "--help"], capture_output=True, text=True,
                         env={"PYTHONPATH": env_path, "PATH": ""}, timeout=120)
    assert res.returncode == 0 and "train TASK" in res.stdout


@pytest.mark.parametrize("cmd,listed", [("bench", "ops|gpu|runtime|streaming"), ("train", "lm|selective_copy"),
                                        ("reproduce", "minrnn-paper|aaren-paper")])
def test_group_help_lists_the_choices(cmd, listed, capsys):
    assert main([cmd, "--help"]) == 0
    assert listed in capsys.readouterr().out
