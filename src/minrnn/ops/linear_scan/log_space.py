"""The paper's log-space scan (Heinsen 2023, as used by Feng et al. for minGRU/minLSTM).

For positive coefficients a_t = exp(log_a_t) and positive inputs b_t = exp(log_b_t):

    a*_t   = sum_{k<=t} log_a_k
    log h_t = a*_t + logcumsumexp_{k<=t}(log_b_k - a*_k)

Two extensions make it exact for any real h0 and any sign of b (the plain form assumes h0 >= 0 and b > 0):
the initial state enters linearly as exp(a*_t) * h0, and b is split into positive and negative parts that are
scanned separately.

Known limit (kept on purpose, this is the paper's algorithm): when a*_t becomes very negative (long sequences
with small coefficients), ``log_b - a*`` is huge and the final subtraction loses relative precision in float32.
Use the ``chunked`` backend (the default) when that matters.
"""

from __future__ import annotations

import torch

from minrnn.ops.linear_scan.autograd import scan_with_kernel


def log_space_scan(log_a: torch.Tensor, b: torch.Tensor | None, h0: torch.Tensor,
                   log_b: torch.Tensor | None = None) -> torch.Tensor:
    """Scan h_t = exp(log_a_t) h_{t-1} + b_t in log space.

    Args:
        log_a: (B, T, D) log of the (positive) coefficients.
        b: (B, T, D) inputs of any sign, or None when ``log_b`` is given (inputs known positive).
        h0: (B, D) initial state of any sign.
        log_b: (B, T, D) log of positive inputs (alternative to ``b``).

    Returns:
        h: (B, T, D).
    """
    a_star = torch.cumsum(log_a, dim=1)
    if log_b is not None:
        h = torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))
    else:
        # Entries of the other sign get log(tiny) instead of -inf: their contribution (<= tiny * T for a <= 1)
        # vanishes, and logcumsumexp keeps a finite gradient where a prefix has no entry of one sign yet.
        tiny = torch.finfo(b.dtype).tiny
        log_pos = torch.log(torch.where(b > 0, b, tiny).clamp_min(tiny))
        log_neg = torch.log(torch.where(b < 0, -b, tiny).clamp_min(tiny))
        h = torch.exp(a_star + torch.logcumsumexp(log_pos - a_star, dim=1)) - torch.exp(
            a_star + torch.logcumsumexp(log_neg - a_star, dim=1))
    return h + torch.exp(a_star) * h0.unsqueeze(1)


def linear_scan_log_space(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``linear_scan`` backend: requires every a_t > 0 (the log of a must exist).

    The forward is the log-space scan; the backward is the exact reverse scan (``scan_with_kernel``), not
    autograd through the logs: through log|b| the gradient of an input b_t = 0 (or below the smallest normal
    float) would be 0 instead of dL/dh-scanned (0 * inf). min_gru/min_lstm's log-space path works on log b
    directly and keeps the paper's autograd backward."""
    if bool((a <= 0).any()):
        raise ValueError("backend 'log_space' needs a > 0 everywhere (it takes log(a)); use 'chunked'")
    return scan_with_kernel(lambda a_, b_, h0_: log_space_scan(torch.log(a_), b_, h0_), a, b, h0)
