"""Backends of ``min_gru`` and ``min_lstm``.

Each linear-scan backend gives a gated backend by computing the coefficients (a, b) first
(:mod:`.coefficients`) and scanning them. ``log_space`` is the paper's algorithm instead: the scan runs on
(log a, log b) directly, with the initial state added linearly so any sign of h0 is exact.
"""

from minrnn.ops.gated.coefficients import (
    g,
    log_g,
    min_gru_coefficients,
    min_gru_log_coefficients,
    min_lstm_coefficients,
    min_lstm_log_coefficients,
)
from minrnn.ops.linear_scan import linear_scan_chunked, linear_scan_reference, log_space_scan
from minrnn.ops.registry import register


def _via_scan(coefficients, scan):
    def backend(*args):
        *gates, h0 = args
        a, b = coefficients(*gates)
        return scan(a, b, h0)
    return backend


def _via_log_space(log_coefficients):
    def backend(*args):
        *gates, h0 = args
        log_a, log_b = log_coefficients(*gates)
        h = log_space_scan(log_a, None, h0, log_b=log_b)
        return h, h[:, -1]
    return backend


for _op, _coef, _log_coef in (("min_gru", min_gru_coefficients, min_gru_log_coefficients),
                              ("min_lstm", min_lstm_coefficients, min_lstm_log_coefficients)):
    register(_op, "reference", _via_scan(_coef, linear_scan_reference), priority=-10)
    register(_op, "log_space", _via_log_space(_log_coef), priority=-5)
    register(_op, "chunked", _via_scan(_coef, linear_scan_chunked), priority=0)

__all__ = ["g", "log_g", "min_gru_coefficients", "min_gru_log_coefficients", "min_lstm_coefficients",
           "min_lstm_log_coefficients"]
