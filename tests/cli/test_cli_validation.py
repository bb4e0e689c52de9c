"""Bad flags and config values end as one-line ``minrnn: error:`` messages (exit code 2), not tracebacks."""

import json

import pytest
import torch

import minrnn.cli
from minrnn.cli import main
from minrnn.devices import check_device, check_threads


def _err_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1] if err else ""


@pytest.fixture
def train_args(trained_run):
    _, text = trained_run
    return ["train", "lm", "--data", str(text), "--steps", "2", "--eval-every", "2", "--d-model", "16",
            "--n-layers", "1", "--context", "16", "--batch-size", "4", "--eval-batches", "1", "--no-progress"]


@pytest.mark.parametrize("extra,msg", [
    (["--set", "train.lr=abc"], "train.lr must be a positive number, got 'abc'"),
    (["--set", "train.min_lr_ratio=abc"], "train.min_lr_ratio must be a number in [0, 1], got 'abc'"),
    (["--set", "model.dropout=abc"], "model.dropout must be a number in [0, 1), got 'abc'"),
    (["--set", "train.grad_clip=abc"], "train.grad_clip must be a number"),
    (["--set", "train.beta1=abc"], "train.beta1 must be a number in [0, 1)"),
    (["--set", "train.seed=abc"], "train.seed must be an int"),
    (["--set", "train.seed=1.5"], "train.seed must be an int"),
    (["--set", "model.tie_weights=no"], "model.tie_weights must be a bool"),
    (["--set", "model.conv_kernel=true"], "model.conv_kernel must be an int >= 0"),
    (["--set", "model.expansion=true"], "model.expansion must be a positive number"),
    (["--mixer", "mamba", "--set", "model.expansion=0.01"], "model.expansion=0.01"),
    (["--threads", "-1"], "--threads must be an int >= 0"),
    (["--threads=-2"], "--threads must be an int >= 0"),
])
def test_bad_train_values_are_one_line_errors(train_args, extra, msg, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*train_args, "--out", str(out), *extra]) == 2
    assert msg in _err_line(capsys)
    assert not out.exists()


def test_string_bool_in_config_file(train_args, tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"model": {"mlp": "false"}}))
    assert main([*train_args, "--out", str(tmp_path / "run"), "--config", str(cfg)]) == 2
    assert "model.mlp must be a bool (true or false), got 'false'" in _err_line(capsys)


def test_unwritable_out_is_one_line_error(train_args, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main([*train_args, "--out", str(blocker / "run")]) == 2
    assert "Not a directory" in _err_line(capsys)


def test_oserror_is_one_line_error(monkeypatch, capsys):
    def denied(argv):
        raise PermissionError(13, "Permission denied", "/root/x")

    monkeypatch.setattr(minrnn.cli, "dispatch", denied)
    assert main(["train", "lm"]) == 2
    assert _err_line(capsys) == "minrnn: error: [Errno 13] Permission denied: '/root/x'"


@pytest.mark.parametrize("cmd", ["eval", "generate"])
@pytest.mark.parametrize("device,msg", [
    ("foo", "--device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got 'foo'"),
    ("cuda:abc", "--device must be"),
    ("meta", "--device must be"),
    ("cuda", "--device 'cuda' requested but CUDA is not available"),
])
def test_bad_device_is_one_line_error(trained_run, cmd, device, msg, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out, _ = trained_run
    assert main([cmd, str(out), "--device", device]) == 2
    assert msg in _err_line(capsys)
    assert main([cmd, str(out), f"--device={device}"]) == 2
    assert msg in _err_line(capsys)


@pytest.mark.parametrize("extra,msg", [
    (["--top-k", "-1"], "top_k must be None or an int >= 0"),
    (["--top-p", "1.5"], "top_p must be None or a number in (0, 1]"),
    (["--top-p", "0"], "top_p must be None or a number in (0, 1]"),
    (["--temperature", "-1"], "temperature must be a number >= 0"),
])
def test_bad_sampling_settings(trained_run, extra, msg, capsys):
    out, _ = trained_run
    assert main(["generate", str(out), "--tokens", "3", *extra]) == 2
    assert msg in _err_line(capsys)


def test_valid_device_and_sampling_still_work(trained_run, capsys):
    out, _ = trained_run
    capsys.readouterr()
    assert main(["generate", str(out), "--tokens", "4", "--device", "cpu", "--top-k", "0", "--top-p", "1"]) == 0
    assert len(capsys.readouterr().out) == 5


@pytest.mark.parametrize("extra,msg", [
    (["--mixers", ","], "--mixers must name at least one mixer"),
    (["--mixers", " , "], "--mixers must name at least one mixer"),
    (["--mixers", "mingru,rwkv"], "unknown mixer(s) ['rwkv']"),
    (["--mixers", "mingru,mingru"], "--mixers names ['mingru'] more than once"),
    (["--threads", "-1"], "--threads must be a positive int, got -1"),
    (["--threads", "0"], "--threads must be a positive int, got 0"),
    (["--steps", "0"], "--steps must be a positive int"),
    (["--seed", "-1"], "--seed must be an int in [0, 2**32)"),
])
def test_bad_demo_options(extra, msg, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), *extra]) == 2
    assert msg in _err_line(capsys)
    assert not out.exists()


def test_check_device_and_threads(monkeypatch):
    assert check_device("cpu") == "cpu" and check_device("cpu:0") == "cpu:0"
    assert check_device("auto", allow_auto=True) == "auto"
    with pytest.raises(ValueError, match="--device must be"):
        check_device("auto")
    with pytest.raises(ValueError, match="--device must be"):
        check_device(None)
    with pytest.raises(ValueError, match="run.device must be"):
        check_device("CUDA", "run.device")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        check_device("cuda:0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert check_device("cuda:1") == "cuda:1"
    with pytest.raises(ValueError, match="2 CUDA device"):
        check_device("cuda:2")
    assert check_threads(1) == 1 and check_threads(0, allow_zero=True) == 0
    for bad in (0, -1, True, 1.5, "2"):
        with pytest.raises(ValueError, match="--threads must be"):
            check_threads(bad)
