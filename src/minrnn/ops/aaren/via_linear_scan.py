"""Aaren as a first-order linear recurrence, so every linear-scan kernel serves it too.

With the running maximum m_t = max(m_{t-1}, s_t) known up front (``torch.cummax``), the triple update is linear
in (u, w):

    u_t = exp(m_{t-1} - m_t) u_{t-1} + exp(s_t - m_t)
    w_t = exp(m_{t-1} - m_t) w_{t-1} + exp(s_t - m_t) v_t

Every exponent is <= 0, so nothing overflows whatever the score range (and equal maxima give exactly 1, see
:func:`minrnn.ops.aaren.reference.exp_diff`). u and the Dv channels of w share one
coefficient and are scanned together as (B, T, H * (1 + Dv)).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from minrnn.ops.aaren.reference import AarenState, exp_diff


def aaren_via_linear_scan(scan: Callable, scores: torch.Tensor, values: torch.Tensor, state: AarenState | None
                          ) -> tuple[torch.Tensor, AarenState]:
    """Aaren through ``scan(a, b, h0) -> (h, h_last)``. Shapes as the reference."""
    B, T, H = scores.shape
    Dv = values.shape[-1]
    m = torch.cummax(scores, dim=1).values
    if state is None:
        m_prev = torch.cat([scores[:, :1], m[:, :-1]], dim=1)
        h0 = scores.new_zeros(B, H, 1 + Dv)
    else:
        m0, u0, w0 = state
        m = torch.maximum(m, m0.unsqueeze(1))
        m_prev = torch.cat([m0.unsqueeze(1), m[:, :-1]], dim=1)
        h0 = torch.cat([u0.unsqueeze(-1), w0], dim=-1)
    a = exp_diff(m_prev, m).unsqueeze(-1).expand(B, T, H, 1 + Dv)
    p = exp_diff(scores, m).unsqueeze(-1)
    b = torch.cat([p, p * values], dim=-1)
    width = H * (1 + Dv)  # explicit, not -1: a batch of 0 sequences has no elements to infer it from
    h, _ = scan(a.reshape(B, T, width), b.reshape(B, T, width), h0.reshape(B, width))
    h = h.view(B, T, H, 1 + Dv)
    u, w = h[..., 0], h[..., 1:]
    return w / u.unsqueeze(-1), (m[:, -1], u[:, -1], w[:, -1])
