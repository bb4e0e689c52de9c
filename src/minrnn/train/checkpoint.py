"""Checkpoints: ``model.safetensors`` (weights) + ``config.json`` + ``trainer.pt`` (optimizer, step, RNG).

A checkpoint is written as a unit, so a run killed at any point leaves a loadable, self-consistent one
(the previous or the new): the three files go into a fresh hidden sibling ``.NAME.tmp-*`` folder and are
fsynced; the folder is renamed to ``.NAME.new`` (the commit point: from here on the new checkpoint is
complete), the old ``NAME`` folder is moved out of the way, ``.NAME.new`` is renamed to ``NAME`` and the old
one is deleted. Readers (:func:`find_checkpoint`) take ``.NAME.new`` when it exists, else ``NAME``; the
writer (:func:`recover_checkpoint`) finishes an interrupted swap and deletes ``.tmp-`` leftovers. The step is
stored in both the weights' metadata and ``trainer.pt`` and checked on load.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from safetensors.torch import safe_open as _safe_open

from minrnn.files import atomic_write, new_file_mode

WEIGHTS, CONFIG, TRAINER = "model.safetensors", "config.json", "trainer.pt"


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, or does not match the model."""


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))


def _state_dict_for_save(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies; tied parameters are stored once (under the first name)."""
    seen, out = {}, {}
    for name, t in model.state_dict().items():
        key = (t.data_ptr(), t.shape, t.dtype) if t.numel() else None
        if key is not None and key in seen:
            continue
        seen[key] = name
        out[name] = t.detach().to("cpu").contiguous()
    return out


# --- the folder swap. Every change on disk goes through _write_file / _rename / _rmtree (tests stub them to
# simulate a kill between any two of them).

def _new(ckpt_dir: Path) -> Path:
    return ckpt_dir.parent / f".{ckpt_dir.name}.new"


def _mkdir_garbage(ckpt_dir: Path) -> Path:
    """A fresh folder with a garbage name beside ``ckpt_dir`` (``os.mkdir``, unlike mkdtemp, honours umask)."""
    while True:
        d = ckpt_dir.parent / f".{ckpt_dir.name}.tmp-{secrets.token_hex(4)}"
        try:
            d.mkdir()
            return d
        except FileExistsError:
            continue


def _garbage(ckpt_dir: Path) -> list[Path]:
    return sorted(ckpt_dir.parent.glob(f".{ckpt_dir.name}.tmp-*"))


def _fsync(path: Path) -> None:
    """Flush a file or a folder (its entries) to disk; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_file(path: Path, write) -> None:
    write(str(path))
    os.chmod(path, new_file_mode())
    _fsync(path)


def _rename(src: Path, dst: Path) -> None:
    os.rename(src, dst)
    _fsync(dst.parent)


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _discard(ckpt_dir: Path, path: Path) -> None:
    """Delete a folder: first renamed to a garbage name, so a kill mid-delete leaves only garbage."""
    trash = _mkdir_garbage(ckpt_dir)
    _rename(path, trash / "old")
    _rmtree(trash)


def is_complete(d: Path, trainer: bool = True) -> bool:
    """Whether folder ``d`` holds all checkpoint files (``trainer.pt`` only when ``trainer``)."""
    names = (WEIGHTS, CONFIG, TRAINER) if trainer else (WEIGHTS, CONFIG)
    return d.is_dir() and all((d / n).is_file() for n in names)


def find_checkpoint(ckpt_dir: Path, trainer: bool = True) -> Path | None:
    """The folder holding the newest complete checkpoint for ``ckpt_dir`` (itself or the committed but not
    yet swapped-in ``.NAME.new``), or None. Read-only; a reader beside a run that is writing checkpoints can
    still lose the race between finding a folder and opening its files (the writer swaps folders), so such a
    reader retries (``minrnn.tasks.lm.load_run`` does)."""
    ckpt_dir = Path(ckpt_dir)
    for d in (_new(ckpt_dir), ckpt_dir):
        if is_complete(d, trainer):
            return d
    return None


def holds_run(ckpt_dir: Path) -> bool:
    """Whether ``ckpt_dir`` holds a run that a fresh start must not overwrite: a complete checkpoint, or
    weights saved without trainer state."""
    ckpt_dir = Path(ckpt_dir)
    return find_checkpoint(ckpt_dir) is not None or (ckpt_dir / WEIGHTS).exists()


def leftovers(ckpt_dir: Path) -> list[Path]:
    """Everything on disk that belongs to checkpoint ``ckpt_dir``: the folder, ``.new`` and garbage."""
    ckpt_dir = Path(ckpt_dir)
    return [p for p in (ckpt_dir, _new(ckpt_dir)) if p.exists()] + _garbage(ckpt_dir)


def recover_checkpoint(ckpt_dir: Path) -> None:
    """Finish a swap a kill interrupted (a committed ``.NAME.new`` replaces ``NAME``); delete garbage.
    Only the single writer of the run may call this."""
    ckpt_dir = Path(ckpt_dir)
    new = _new(ckpt_dir)
    if new.is_dir():
        if ckpt_dir.exists():
            _discard(ckpt_dir, ckpt_dir)
        _rename(new, ckpt_dir)
    for g in _garbage(ckpt_dir):
        _rmtree(g)


def clear_checkpoint(ckpt_dir: Path) -> None:
    """Delete checkpoint ``ckpt_dir`` with its ``.new`` and garbage (to start a run afresh). Refuses (like
    :func:`save_checkpoint`) when either folder holds files that are not part of a checkpoint."""
    ckpt_dir = Path(ckpt_dir)
    _check_replaceable(ckpt_dir)
    _check_replaceable(_new(ckpt_dir))
    for p in (ckpt_dir, _new(ckpt_dir)):
        if p.exists():
            _discard(ckpt_dir, p)
    for g in _garbage(ckpt_dir):
        _rmtree(g)


def _check_replaceable(ckpt_dir: Path) -> None:
    if ckpt_dir.exists() and not ckpt_dir.is_dir():
        raise CheckpointError(f"checkpoint path {ckpt_dir} exists and is not a folder")
    if ckpt_dir.is_dir():
        other = sorted(p.name for p in ckpt_dir.iterdir()
                       if p.name not in (WEIGHTS, CONFIG, TRAINER) and not p.name.startswith("."))
        if other:
            raise CheckpointError(f"refusing to replace {ckpt_dir}: it holds files that are not part of a "
                                  f"checkpoint ({', '.join(other[:5])})")


def save_checkpoint(ckpt_dir: Path, model: torch.nn.Module, config: dict, trainer_state: dict | None = None,
                    step: int = 0) -> None:
    """Write weights, ``config`` and (when given) ``trainer_state`` as one checkpoint at ``step``, replacing
    the one in ``ckpt_dir`` only once the new one is complete on disk (see the module docstring)."""
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.parent.mkdir(parents=True, exist_ok=True)
    _check_replaceable(ckpt_dir)
    recover_checkpoint(ckpt_dir)
    weights = _state_dict_for_save(model)
    tmp = _mkdir_garbage(ckpt_dir)
    _write_file(tmp / WEIGHTS, lambda p: save_file(weights, p, metadata={"step": str(step)}))
    text = json.dumps(config, indent=2, sort_keys=True)
    _write_file(tmp / CONFIG, lambda p: Path(p).write_text(text, encoding="utf-8"))
    if trainer_state is not None:
        _write_file(tmp / TRAINER, lambda p: torch.save({**trainer_state, "step": step}, p))
    _fsync(tmp)
    _rename(tmp, _new(ckpt_dir))  # the commit point
    recover_checkpoint(ckpt_dir)  # swap it in


def read_config(ckpt_dir: Path) -> dict:
    p = Path(ckpt_dir) / CONFIG
    if not p.is_file():
        raise CheckpointError(f"no checkpoint config at {p}")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"corrupt checkpoint config {p}: {e}") from None


def _check_ties(p: Path, own: dict, sd: dict) -> None:
    """Refuse names that are one tensor in the model (same storage, offset, shape, strides) but different
    tensors in the checkpoint: loading would write both into the one tensor and keep whichever came last."""
    groups: dict = {}
    for n, t in own.items():
        if n in sd and t.numel():
            groups.setdefault((t.data_ptr(), t.storage_offset(), t.shape, t.stride(), t.dtype), []).append(n)
    for names in groups.values():
        first = sd[names[0]]
        for n in names[1:]:
            other = sd[n]
            same = other.shape == first.shape and bool(((other == first) | (other.isnan() & first.isnan())).all())
            if not same:
                raise CheckpointError(f"checkpoint {p} has different weights for {names[0]} and {n}, which the "
                                      "model ties (one tensor): it was saved untied (tie_weights differs)")


def load_weights(ckpt_dir: Path, model: torch.nn.Module) -> int:
    """Load weights into ``model`` (strict: names and shapes must match); returns the stored step."""
    p = Path(ckpt_dir) / WEIGHTS
    if not p.is_file():
        raise CheckpointError(f"no checkpoint weights at {p}")
    try:
        with _safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
        sd = load_file(str(p))
    except Exception as e:  # noqa: BLE001 - safetensors raises several types on corrupt files
        raise CheckpointError(f"corrupt checkpoint weights {p}: {type(e).__name__}: {e}") from None
    own = model.state_dict()
    tied = {n for n in own if n not in sd and any(own[n] is own[m] or own[n].data_ptr() == own[m].data_ptr()
                                                   for m in sd if m in own)}
    missing = sorted(set(own) - set(sd) - tied)
    unexpected = sorted(set(sd) - set(own))
    bad = sorted(n for n in sd if n in own and tuple(sd[n].shape) != tuple(own[n].shape))
    if missing or unexpected or bad:
        raise CheckpointError(f"checkpoint {p} does not match the model: missing {missing[:5]}, "
                              f"unexpected {unexpected[:5]}, shape mismatch {bad[:5]}")
    _check_ties(p, own, sd)
    model.load_state_dict(sd, strict=False)
    return int(meta.get("step", 0))


def load_trainer_state(ckpt_dir: Path, step: int) -> dict:
    p = Path(ckpt_dir) / TRAINER
    if not p.is_file():
        raise CheckpointError(f"no trainer state at {p} (cannot resume)")
    try:
        st = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001
        raise CheckpointError(f"corrupt trainer state {p}: {type(e).__name__}: {e}") from None
    if st.get("step") != step:
        raise CheckpointError(f"checkpoint in {ckpt_dir} is inconsistent: weights at step {step}, "
                              f"trainer state at step {st.get('step')}")
    return st
