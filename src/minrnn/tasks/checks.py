"""Small checks shared by the task configs and command lines: integer fields with a lower bound, an output file
that can be written (checked before training, so a bad ``--out`` does not throw a run away), and strict JSON
(NaN / infinity written as null, which every JSON parser reads)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from minrnn.models.config import is_int, require


def check_ints(cfg, *, positive=(), non_negative=()) -> None:
    """Every field in ``positive`` an int >= 1, every one in ``non_negative`` an int >= 0 (bools rejected)."""
    for name in positive:
        v = getattr(cfg, name)
        require(is_int(v) and v >= 1, name, "a positive int", v)
    for name in non_negative:
        v = getattr(cfg, name)
        require(is_int(v) and v >= 0, name, "an int >= 0", v)


def check_out(out: str | Path | None) -> Path | None:
    """``out`` as a Path whose folder exists (created) and that is not itself a folder; None passes."""
    if out is None:
        return None
    path = Path(out)
    if path.is_dir():
        raise ValueError(f"--out must be a file path, got the folder {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"--out: cannot create the folder {path.parent} ({e.strerror})") from None
    return path


def _finite(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def to_json(obj, indent: int | None = 1) -> str:
    """``json.dumps`` with non-finite floats as null (strict JSON) and numpy scalars as floats."""
    return json.dumps(_finite(json.loads(json.dumps(obj, default=float))), indent=indent, allow_nan=False)
