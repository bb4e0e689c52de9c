"""Checkpoints as a unit: a kill at any point of a checkpoint write leaves a run that resumes exactly (from the
previous or the new checkpoint); --stop-at writes a checkpoint; a first checkpoint that never completed does not
block the output folder.

A kill is simulated by stubbing the three functions through which checkpoint.py changes the disk
(_write_file, _rename, _rmtree): the k-th call raises ``Killed`` (a BaseException, so no ``except Exception``
handler in the code can clean up, as with a real kill), a file write leaving a half-written file behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from minrnn.models import BackboneConfig, CausalLM, LMConfig
from minrnn.tasks import lm
from minrnn.train import CheckpointError, read_metrics, save_checkpoint
from minrnn.train import checkpoint as ck


class Killed(BaseException):
    pass


def _metrics(d):
    return [(r["step"], r["train_loss"], r["val_loss"]) for r in read_metrics(d)]


def _common(text_file, tiny, steps, eval_every=2):
    return ["--data", str(text_file), "--steps", str(steps), "--eval-every", str(eval_every), "--dropout", "0.1",
            *tiny]


class _Crash:
    """Stubs the disk-changing functions of checkpoint.py; while saving the checkpoint of step ``at_step``,
    lets ``kill_at`` of them run and kills the run at the next (None: only counts them)."""

    def __init__(self, monkeypatch, at_step: int, kill_at: int | None):
        self.at_step, self.kill_at, self.count, self.armed = at_step, kill_at, 0, False
        real_save, real_write, real_rename, real_rmtree = (ck.save_checkpoint, ck._write_file, ck._rename,
                                                           ck._rmtree)

        def save(ckpt_dir, model, config, trainer_state=None, step=0):
            self.armed = step == self.at_step
            try:
                real_save(ckpt_dir, model, config, trainer_state, step)
            finally:
                self.armed = False

        def write(path, writer):
            if self._tick():
                real_write(path, writer)
                data = Path(path).read_bytes()
                Path(path).write_bytes(data[: len(data) // 2])  # killed mid-write
                raise Killed
            real_write(path, writer)

        def rename(src, dst):
            if self._tick():
                raise Killed
            real_rename(src, dst)

        def rmtree(path):
            if self._tick():
                raise Killed
            real_rmtree(path)

        for name, fn in (("save_checkpoint", save), ("_write_file", write), ("_rename", rename),
                         ("_rmtree", rmtree)):
            monkeypatch.setattr(ck, name, fn)

    def _tick(self) -> bool:
        if not self.armed:
            return False
        self.count += 1
        return self.kill_at is not None and self.count == self.kill_at + 1


def _ops_in_save(tmp_path, text_file, tiny, steps, at_step) -> int:
    with pytest.MonkeyPatch.context() as mp:
        crash = _Crash(mp, at_step, None)
        assert lm.main([*_common(text_file, tiny, steps), "--out", str(tmp_path / "count")]) == 0
    assert crash.count >= 4  # three files and the commit, at least
    return crash.count


@pytest.fixture
def no_plot(monkeypatch):
    """Skip the loss-curve PNG (a quarter second a record; these tests run many short runs)."""
    import minrnn.train.plot

    monkeypatch.setattr(minrnn.train.plot, "plot_losses", lambda *a, **k: None)


def _only_the_checkpoint_left(out: Path):
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert hidden == [], hidden
    assert sorted(p.name for p in (out / "checkpoint").iterdir()) == sorted([ck.WEIGHTS, ck.CONFIG, ck.TRAINER])


def test_kill_at_every_point_of_a_checkpoint_write_resumes_exactly(tmp_path, text_file, tiny, no_plot):
    """A kill while the step-4 checkpoint replaces the step-2 one: eval, resume and the losses all work."""
    common = _common(text_file, tiny, 6)
    assert lm.main([*common, "--out", str(tmp_path / "full")]) == 0
    full = _metrics(tmp_path / "full")
    n_ops = _ops_in_save(tmp_path, text_file, tiny, 6, at_step=4)
    resumed_from = set()
    for k in range(n_ops):
        out = tmp_path / f"k{k}"
        with pytest.MonkeyPatch.context() as mp:
            _Crash(mp, 4, k)
            with pytest.raises(Killed):
                lm.main([*common, "--out", str(out)])
        found = ck.find_checkpoint(out / "checkpoint")
        assert found is not None, k
        step = ck.load_weights(found, lm.load_run(out)[0])  # what eval loads: one consistent checkpoint
        assert step in (2, 4), k
        assert ck.load_trainer_state(found, step)["step"] == step
        resumed_from.add(step)
        with pytest.raises(ValueError, match="already holds a run"):
            lm.main([*common, "--out", str(out)])
        assert lm.main(["--out", str(out), "--resume", "--no-progress"]) == 0
        assert _metrics(out) == full, k
        _only_the_checkpoint_left(out)
    assert resumed_from == {2, 4}  # kills before and after the commit point were both exercised


def test_kill_during_the_first_checkpoint_starts_afresh_or_resumes(tmp_path, text_file, tiny, capsys, no_plot):
    """A kill while the very first checkpoint is written: either it was committed (resume) or the folder is
    treated as empty (a plain run starts afresh with a note; --resume says what to do)."""
    common = _common(text_file, tiny, 4)
    assert lm.main([*common, "--out", str(tmp_path / "full")]) == 0
    full = _metrics(tmp_path / "full")
    n_ops = _ops_in_save(tmp_path, text_file, tiny, 4, at_step=2)
    outcomes = set()
    for k in range(n_ops):
        out = tmp_path / f"k{k}"
        with pytest.MonkeyPatch.context() as mp:
            _Crash(mp, 2, k)
            with pytest.raises(Killed):
                lm.main([*common, "--out", str(out)])
        capsys.readouterr()
        if ck.find_checkpoint(out / "checkpoint") is None:
            outcomes.add("fresh")
            with pytest.raises(ValueError, match="no complete checkpoint.*without --resume"):
                lm.main(["--out", str(out), "--resume", "--no-progress"])
            assert lm.main([*common, "--out", str(out)]) == 0
            assert "starting afresh" in capsys.readouterr().err
        else:
            outcomes.add("resume")
            assert lm.main(["--out", str(out), "--resume", "--no-progress"]) == 0
        assert _metrics(out) == full, k
        _only_the_checkpoint_left(out)
    assert outcomes == {"fresh", "resume"}


def test_leftover_checkpoint_folder_of_the_old_format_does_not_block(tmp_path, text_file, tiny, capsys):
    """checkpoint/ holding only a stray temp file (what a kill left before checkpoints were units)."""
    out = tmp_path / "run"
    (out / "checkpoint").mkdir(parents=True)
    (out / "checkpoint" / ".model.safetensors.abc123").write_bytes(b"partial")
    common = _common(text_file, tiny, 2)
    with pytest.raises(ValueError, match="--resume: no complete checkpoint"):
        lm.main(["--out", str(out), "--resume", "--no-progress"])
    assert lm.main([*common, "--out", str(out)]) == 0
    assert "starting afresh" in capsys.readouterr().err
    assert [r[0] for r in _metrics(out)] == [2]
    _only_the_checkpoint_left(out)


def test_stop_at_between_records_writes_a_checkpoint_and_resumes_exactly(tmp_path, text_file, tiny):
    common = _common(text_file, tiny, 8, eval_every=4)
    assert lm.main([*common, "--out", str(tmp_path / "full")]) == 0
    part = tmp_path / "part"
    assert lm.main([*common, "--out", str(part), "--stop-at", "6"]) == 0
    assert [r[0] for r in _metrics(part)] == [4]  # no record at the stop step: the resumed run logs step 8
    m = CausalLM(LMConfig.from_dict(ck.read_config(part / "checkpoint")["model"]))
    assert ck.load_weights(part / "checkpoint", m) == 6
    assert ck.load_trainer_state(part / "checkpoint", 6)["window"]["n"] == 2
    assert lm.main(["--out", str(part), "--resume", "--no-progress"]) == 0
    assert _metrics(part) == _metrics(tmp_path / "full")  # bit-identical, the step-8 train loss included


def test_save_refuses_to_replace_a_folder_with_other_files(tmp_path):
    m = CausalLM(LMConfig(vocab_size=5, backbone=BackboneConfig(d_model=8, n_layers=1)))
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="refusing to replace"):
        save_checkpoint(tmp_path, m, {"task": "lm"}, step=1)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    d = tmp_path / "ckpt"
    save_checkpoint(d, m, {"task": "lm"}, {"optimizer": {}}, step=1)
    save_checkpoint(d, m, {"task": "lm"}, {"optimizer": {}}, step=2)
    assert torch.load(d / ck.TRAINER, weights_only=False)["step"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "notes.txt"]


def test_a_fresh_run_never_deletes_weights_or_user_files(tmp_path, text_file, tiny, no_plot):
    """Only a checkpoint's own leftovers are cleared: weights saved without trainer state are a run, and a
    folder with other files in it is refused, not emptied."""
    common = _common(text_file, tiny, 2)
    weights_only = tmp_path / "w"
    assert lm.main([*common, "--out", str(weights_only)]) == 0
    (weights_only / "checkpoint" / ck.TRAINER).unlink()
    with pytest.raises(ValueError, match="already holds a run"):
        lm.main([*common, "--out", str(weights_only)])
    user = tmp_path / "u"
    (user / "checkpoint").mkdir(parents=True)
    (user / "checkpoint" / "notes.txt").write_text("mine")
    with pytest.raises(ck.CheckpointError, match="notes.txt"):
        lm.main([*common, "--out", str(user)])
    assert (user / "checkpoint" / "notes.txt").read_text() == "mine"


def test_load_run_retries_a_read_that_lost_the_swap_race(tmp_path, text_file, tiny, no_plot, monkeypatch):
    assert lm.main([*_common(text_file, tiny, 2), "--out", str(tmp_path / "r")]) == 0
    real, calls = lm._load_run, []

    def flaky(d, device):
        calls.append(1)
        if len(calls) < 3:
            raise FileNotFoundError("swapped away")
        return real(d, device)

    monkeypatch.setattr(lm, "_load_run", flaky)
    model, cfg, vocab = lm.load_run(tmp_path / "r")
    assert len(calls) == 3 and cfg["task"] == "lm"
