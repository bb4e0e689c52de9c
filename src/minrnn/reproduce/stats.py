"""Summary statistics of the reproduction reports: one definition for both papers' reports."""

from __future__ import annotations

import math


def summary(xs, drop_missing: bool = False) -> tuple[float, float, int]:
    """Mean, sample standard deviation (n - 1 in the denominator; 0 for a single value) and count.

    ``drop_missing``: leave out None and non-finite values (runs that did not report a number) instead of
    letting them turn the mean into nan. An empty list gives (nan, nan, 0).
    """
    vals = [float(x) for x in xs if not drop_missing or (x is not None and math.isfinite(float(x)))]
    if not vals:
        return float("nan"), float("nan"), 0
    n = len(vals)
    m = math.fsum(vals) / n
    s = math.sqrt(math.fsum((x - m) ** 2 for x in vals) / (n - 1)) if n > 1 else 0.0
    return m, s, n


def mean_std(xs) -> tuple[float, float]:
    """Mean and sample standard deviation (see :func:`summary`); missing values are not dropped."""
    m, s, _ = summary(xs)
    return m, s
