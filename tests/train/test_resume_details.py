"""Resume and run-folder details from review: changed optimizer settings apply on resume, a checkpoint saved
with other tied weights is refused, --stop-at must move forward, a cut-off metrics line does not block a
resume, and run files are readable by others (umask, not 0600)."""

from __future__ import annotations

import os
import stat

import pytest
import torch

from minrnn.models import BackboneConfig, CausalLM, LMConfig
from minrnn.tasks import lm
from minrnn.train import CheckpointError, TrainConfig, load_weights, read_metrics, save_checkpoint


def _args(text_file, tiny, out, steps=6):
    return ["--data", str(text_file), "--steps", str(steps), "--eval-every", "3", "--threads", "1", *tiny,
            "--out", str(out)]


def test_resume_uses_the_new_weight_decay_and_betas(tmp_path, text_file, tiny):
    out = tmp_path / "r"
    assert lm.main([*_args(text_file, tiny, out), "--stop-at", "3"]) == 0
    assert lm.main([*_args(text_file, tiny, out), "--resume", "--set", "train.weight_decay=0.0",
                    "--set", "train.beta2=0.5"]) == 0
    groups = torch.load(out / "checkpoint" / "trainer.pt", weights_only=False)["optimizer"]["param_groups"]
    assert [g["weight_decay"] for g in groups] == [0.0, 0.0]
    assert all(tuple(g["betas"]) == (0.9, 0.5) for g in groups)


def test_untied_checkpoint_into_a_tied_model_is_refused(tmp_path):
    bb = BackboneConfig(mixer="mingru", d_model=16, n_layers=1)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "ck", CausalLM(LMConfig(vocab_size=11, backbone=bb, tie_weights=False)), {}, step=5)
    tied = CausalLM(LMConfig(vocab_size=11, backbone=bb, tie_weights=True))
    with pytest.raises(CheckpointError, match="saved untied"):
        load_weights(tmp_path / "ck", tied)


def test_stop_at_must_move_forward(tmp_path, text_file, tiny, capsys):
    with pytest.raises(SystemExit):
        lm.main([*_args(text_file, tiny, tmp_path / "a"), "--stop-at", "0"])
    assert "expected a positive integer" in capsys.readouterr().err
    out = tmp_path / "b"
    assert lm.main([*_args(text_file, tiny, out), "--stop-at", "3"]) == 0
    with pytest.raises(ValueError, match="stop_at=3 is not after step 3"):
        lm.main([*_args(text_file, tiny, out), "--resume", "--stop-at", "3"])


def test_a_cut_off_last_metrics_line_does_not_block_resume(tmp_path, text_file, tiny):
    out = tmp_path / "k"
    assert lm.main([*_args(text_file, tiny, out), "--stop-at", "3"]) == 0
    with open(out / "metrics.jsonl", "a") as f:
        f.write('{"step": 6, "train_lo')
    assert [r["step"] for r in read_metrics(out)] == [3]
    assert lm.main([*_args(text_file, tiny, out), "--resume"]) == 0
    assert [r["step"] for r in read_metrics(out)] == [3, 6]
    (out / "metrics.jsonl").write_text('{"step": 3\n{"step": 6}\n')
    with pytest.raises(ValueError, match="metrics.jsonl: line 1 is not JSON"):
        read_metrics(out)


def test_run_files_follow_the_umask(tmp_path, text_file, tiny):
    old = os.umask(0o022)
    try:
        out = tmp_path / "m"
        assert lm.main(_args(text_file, tiny, out, steps=3)) == 0
    finally:
        os.umask(old)
    for p in (out / "config.json", out / "metrics.jsonl", out / "checkpoint" / "model.safetensors",
              out / "checkpoint" / "config.json", out / "checkpoint" / "trainer.pt"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p


def test_warmup_longer_than_the_run_warns():
    with pytest.warns(UserWarning, match="warmup_steps=20 > train.steps=10"):
        TrainConfig(steps=10, warmup_steps=20)


def test_shared_views_and_empty_buffers_are_not_mistaken_for_ties(tmp_path):
    """Only names that are one tensor (storage, offset, shape, strides) count as tied; a transposed view
    of a weight or two empty buffers load as before."""
    from torch import nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 3, bias=False)
            self.register_buffer("dec_w", self.enc.weight.data.t())
            self.register_buffer("a", torch.empty(0))
            self.register_buffer("b", torch.empty(0, 3))

    save_checkpoint(tmp_path / "ck", M(), {}, step=2)
    assert load_weights(tmp_path / "ck", M()) == 2


def test_no_progress_is_not_stored_into_the_resumed_run_and_evals_still_print(tmp_path, text_file, tiny, capsys):
    import json

    out = tmp_path / "p"
    assert lm.main([*_args(text_file, tiny, out), "--stop-at", "3"]) == 0  # tiny has --no-progress
    assert "step 3: train" in capsys.readouterr().err  # one line per evaluation without the bar
    args = [a for a in _args(text_file, tiny, out) if a != "--no-progress"]
    assert lm.main([*args, "--resume"]) == 0
    assert json.loads((out / "config.json").read_text())["train"]["progress"] is True


def test_progress_false_from_a_config_file_holds_on_resume(tmp_path):
    import dataclasses

    from minrnn.tasks.lm import build_parser, resolve_configs

    quiet = tmp_path / "quiet.json"
    quiet.write_text('{"train": {"progress": false}}')
    _, _, fresh = resolve_configs(build_parser().parse_args(["--out", "x", "--config", str(quiet)]), None)
    stored = {"model": {"backbone": {}, "tie_weights": False}, "train": dataclasses.asdict(fresh)}
    args = build_parser().parse_args(["--out", "x", "--resume", "--config", str(quiet)])
    assert resolve_configs(args, stored)[2].progress is False
    args = build_parser().parse_args(["--out", "x", "--resume"])
    assert resolve_configs(args, stored)[2].progress is True
