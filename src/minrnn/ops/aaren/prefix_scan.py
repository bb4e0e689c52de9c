"""The paper's parallel prefix scan over (m, u, w) triples.

The associative operator (Feng et al. 2024, Sec. 3.2) combines the summaries of two adjacent spans A, B:

    m = max(m_A, m_B)
    u = u_A exp(m_A - m) + u_B exp(m_B - m)
    w = w_A exp(m_A - m) + w_B exp(m_B - m)

A Hillis-Steele scan applies it in ceil(log2 T) rounds, each over the whole sequence, so all prefix
summaries (and so all outputs o_t = w_t / u_t) come out at once.
"""

from __future__ import annotations

import torch

from minrnn.ops.aaren.reference import AarenState, exp_diff


def combine(left: AarenState, right: AarenState) -> AarenState:
    """The associative operator: the summary of span ``left`` followed by span ``right``."""
    m_a, u_a, w_a = left
    m_b, u_b, w_b = right
    m = torch.maximum(m_a, m_b)
    ka, kb = exp_diff(m_a, m), exp_diff(m_b, m)
    return m, u_a * ka + u_b * kb, w_a * ka.unsqueeze(-1) + w_b * kb.unsqueeze(-1)


def aaren_prefix_scan(scores: torch.Tensor, values: torch.Tensor, state: AarenState | None
                      ) -> tuple[torch.Tensor, AarenState]:
    """Parallel prefix scan. Shapes as :func:`minrnn.ops.aaren.reference.aaren_reference`."""
    m, u, w = scores, torch.ones_like(scores), values
    T = scores.shape[1]
    shift = 1
    while shift < T:
        prev = (m[:, :-shift], u[:, :-shift], w[:, :-shift])
        cur = (m[:, shift:], u[:, shift:], w[:, shift:])
        cm, cu, cw = combine(prev, cur)
        m = torch.cat([m[:, :shift], cm], dim=1)
        u = torch.cat([u[:, :shift], cu], dim=1)
        w = torch.cat([w[:, :shift], cw], dim=1)
        shift *= 2
    if state is not None:
        m0, u0, w0 = (x.unsqueeze(1) for x in state)
        m, u, w = combine((m0, u0, w0), (m, u, w))
    return w / u.unsqueeze(-1), (m[:, -1], u[:, -1], w[:, -1])
