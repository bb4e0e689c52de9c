"""argparse types shared by the ``minrnn`` command-line tools (bad values become usage errors, exit code 2)."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An int >= 1, e.g. ``type=positive_int`` for a count or a size."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_ints(text: str) -> list[int]:
    """Comma-separated ints >= 1, e.g. ``--T 512,1024``."""
    try:
        values = [int(v) for v in text.split(",") if v]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return values
