"""Checks of the ``--device`` and ``--threads`` command-line values, so that a bad one ends as a ValueError
naming the flag (the CLI's one-line ``minrnn: error:``) instead of a torch RuntimeError or AssertionError."""

from __future__ import annotations

import torch

__all__ = ["check_device", "check_threads"]


def check_device(name, what: str = "--device", allow_auto: bool = False) -> str:
    """Return ``name`` if it is a device this machine has: "cpu", "cuda" or "cuda:N" (CUDA available, N below
    the device count), "mps" (available), or "auto" when ``allow_auto``; else raise ValueError naming ``what``."""
    expected = "'cpu', 'cuda', 'cuda:N' or 'mps'" + (" or 'auto'" if allow_auto else "")
    if not isinstance(name, str):
        raise ValueError(f"{what} must be {expected}, got {name!r}")
    if allow_auto and name == "auto":
        return name
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise ValueError(f"{what} must be {expected}, got {name!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{what} {name!r} requested but CUDA is not available (torch {torch.__version__})")
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n:
            raise ValueError(f"{what} {name!r}: this machine has {n} CUDA device(s) (cuda:0 .. cuda:{n - 1})")
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"{what} {name!r} requested but MPS is not available")
    elif dev.type != "cpu":
        raise ValueError(f"{what} must be {expected}, got {name!r}")
    return name


def check_threads(n, what: str = "--threads", allow_zero: bool = False) -> int:
    """Return ``n`` if it is a valid ``torch.set_num_threads`` count (an int >= 1, or 0 meaning "leave torch's
    choice" when ``allow_zero``); else raise ValueError naming ``what``."""
    low = 0 if allow_zero else 1
    if not isinstance(n, int) or isinstance(n, bool) or n < low:
        expected = "an int >= 0 (0: torch's choice)" if allow_zero else "a positive int"
        raise ValueError(f"{what} must be {expected}, got {n!r}")
    return n
