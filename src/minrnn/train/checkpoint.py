"""Checkpoints: ``model.safetensors`` (weights) + ``config.json`` + ``trainer.pt`` (optimizer, step, RNG).

Each file is written to a temporary name and moved into place with ``os.replace``, so a killed run never
leaves a half-written file; the step is stored in both the weights' metadata and ``trainer.pt`` and checked
on load.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from safetensors.torch import safe_open as _safe_open

WEIGHTS, CONFIG, TRAINER = "model.safetensors", "config.json", "trainer.pt"


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, or does not match the model."""


def _tmp(path: Path) -> str:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    return tmp


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    Path(tmp).write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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


def save_checkpoint(ckpt_dir: Path, model: torch.nn.Module, config: dict, trainer_state: dict | None = None,
                    step: int = 0) -> None:
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(ckpt_dir / WEIGHTS)
    save_file(_state_dict_for_save(model), tmp, metadata={"step": str(step)})
    os.replace(tmp, ckpt_dir / WEIGHTS)
    atomic_write_text(ckpt_dir / CONFIG, json.dumps(config, indent=2, sort_keys=True))
    if trainer_state is not None:
        tmp = _tmp(ckpt_dir / TRAINER)
        torch.save({**trainer_state, "step": step}, tmp)
        os.replace(tmp, ckpt_dir / TRAINER)


def read_config(ckpt_dir: Path) -> dict:
    p = Path(ckpt_dir) / CONFIG
    if not p.is_file():
        raise CheckpointError(f"no checkpoint config at {p}")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"corrupt checkpoint config {p}: {e}") from None


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
