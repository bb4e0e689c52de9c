"""The one summary-statistics helper both reproduction reports use."""

from __future__ import annotations

import math

from minrnn.reproduce.stats import mean_std, summary


def test_sample_std_and_count():
    m, s, n = summary([1.0, 2.0, 3.0, 4.0])
    assert (m, n) == (2.5, 4)
    assert math.isclose(s, math.sqrt(5 / 3))  # n - 1 in the denominator
    assert mean_std([1.0, 2.0, 3.0, 4.0]) == (m, s)


def test_single_value_and_empty():
    assert summary([7]) == (7.0, 0.0, 1)
    m, s, n = summary([])
    assert math.isnan(m) and math.isnan(s) and n == 0


def test_missing_values_kept_unless_dropped():
    m, _, n = summary([1.0, float("nan"), 3.0])
    assert math.isnan(m) and n == 3  # a diverged run is not hidden by default
    assert summary([1.0, None, float("inf"), 3.0], drop_missing=True)[::2] == (2.0, 2)
