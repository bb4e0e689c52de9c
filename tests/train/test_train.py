import json
import math

import pytest
import torch

from minrnn.models import BackboneConfig, CausalLM, LMConfig
from minrnn.tasks import lm
from minrnn.train import CheckpointError, TrainConfig, load_weights, lr_at, read_metrics, save_checkpoint


def _metrics(d):
    return [(r["step"], r["train_loss"], r["val_loss"]) for r in read_metrics(d)]


def test_lr_schedule():
    cfg = TrainConfig(steps=100, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1) and lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(10, cfg) == pytest.approx(1.0) and lr_at(100, cfg) == pytest.approx(0.1)
    assert lr_at(55, cfg) == pytest.approx(0.55)


def test_train_outputs_and_resume_reproduces(tmp_path, text_file, tiny):
    common = ["--data", str(text_file), "--steps", "8", "--eval-every", "2", "--mixer", "mingru",
              "--conv-kernel", "4", *tiny]
    assert lm.main([*common, "--out", str(tmp_path / "full")]) == 0
    full = tmp_path / "full"
    for name in ("config.json", "metrics.jsonl", "loss.png", "checkpoint/model.safetensors",
                 "checkpoint/config.json", "checkpoint/trainer.pt"):
        assert (full / name).is_file(), name
    recs = read_metrics(full)
    assert [r["step"] for r in recs] == [2, 4, 6, 8]
    assert all({"step", "train_loss", "val_loss", "tokens_per_s", "elapsed_s"} <= set(r) for r in recs)
    assert all(math.isfinite(r["val_loss"]) for r in recs)

    part = tmp_path / "part"
    assert lm.main([*common, "--out", str(part), "--stop-at", "4"]) == 0
    assert [r[0] for r in _metrics(part)] == [2, 4]
    assert lm.main(["--out", str(part), "--resume", "--no-progress"]) == 0  # the stored config is the base
    assert _metrics(part) == _metrics(full)  # bit-identical on CPU


def test_existing_run_not_overwritten(tmp_path, text_file, tiny):
    out = tmp_path / "run"
    args = ["--data", str(text_file), "--steps", "2", "--eval-every", "2", "--out", str(out), *tiny]
    assert lm.main(args) == 0
    before = (out / "checkpoint" / "model.safetensors").read_bytes()
    with pytest.raises(ValueError, match="already holds a run"):
        lm.main(args)
    assert (out / "checkpoint" / "model.safetensors").read_bytes() == before


def test_checkpoint_mismatch_and_corruption(tmp_path):
    m = CausalLM(LMConfig(vocab_size=5, backbone=BackboneConfig(d_model=8, n_layers=1)))
    save_checkpoint(tmp_path, m, {"task": "lm"}, step=3)
    other = CausalLM(LMConfig(vocab_size=5, backbone=BackboneConfig(d_model=12, n_layers=1)))
    with pytest.raises(CheckpointError, match="does not match"):
        load_weights(tmp_path, other)
    assert load_weights(tmp_path, m) == 3
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_weights(tmp_path, m)


def test_tied_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    cfg = LMConfig(vocab_size=5, backbone=BackboneConfig(d_model=8, n_layers=1), tie_weights=True)
    a, b = CausalLM(cfg), CausalLM(cfg)
    save_checkpoint(tmp_path, a, {}, step=1)
    load_weights(tmp_path, b)
    assert torch.equal(a.head.weight, b.head.weight) and b.head.weight is b.embed.weight


def test_config_file_and_overrides(tmp_path, text_file, tiny):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"model": {"mixer": "transformer", "num_heads": 2}, "train": {"lr": 1e-3}}))
    out = tmp_path / "run"
    assert lm.main(["--data", str(text_file), "--config", str(cfg), "--set", "train.steps=2",
                    "--set", "train.eval_every=1", "--out", str(out), *tiny]) == 0
    run = json.loads((out / "config.json").read_text())
    assert run["model"]["backbone"]["mixer"] == "transformer" and run["train"]["lr"] == 1e-3
    assert run["train"]["steps"] == 2
    cfg.write_text(json.dumps({"model": {"bogus": 1}}))
    with pytest.raises(ValueError, match="bogus"):
        lm.main(["--data", str(text_file), "--config", str(cfg), "--out", str(tmp_path / "x"), *tiny])
    assert not (tmp_path / "x").exists()
