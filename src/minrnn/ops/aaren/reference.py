"""Sequential reference of Aaren's many-to-many attention RNN (Feng et al. 2024, "Attention as an RNN").

For one learned query, the attention output after token t is

    o_t = sum_{i<=t} exp(s_i) v_i / sum_{i<=t} exp(s_i)

computed stably with a running maximum. The state after token t is the triple

    m_t = max_{i<=t} s_i,   u_t = sum_{i<=t} exp(s_i - m_t),   w_t = sum_{i<=t} exp(s_i - m_t) v_i

and a new token (s, v) updates it in O(1):  m' = max(m, s), u' = u e^{m - m'} + e^{s - m'},
w' = w e^{m - m'} + v e^{s - m'}, o = w' / u'.

Equal maxima: e^{x - m} is taken as 1 whenever x == m, also when both are -inf, so scores of -inf (masked
tokens) never give NaN: a leading -inf token is the whole prefix until a finite score arrives, which then
drops it (its weight e^{-inf} = 0). Every backend follows this rule (:func:`exp_diff`).
"""

from __future__ import annotations

import torch

AarenState = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def exp_diff(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """exp(x - m) for x <= m, and exactly 1 where x == m == -inf (where x - m is NaN); the NaN never reaches
    the gradient, because the difference, not the exponential, is masked. Only that case is masked: masking
    every x == m also cut the gradient at finite ties of the running maximum (two equal scores), where the
    output, a softmax, is smooth. Scores must be finite or -inf (masked): softmax is undefined at +inf, and
    the backends differ there (so they may for NaN scores)."""
    return torch.exp(torch.where((x == m) & torch.isinf(x), 0.0, x - m))


def aaren_step(s: torch.Tensor, v: torch.Tensor, state: AarenState | None) -> tuple[torch.Tensor, AarenState]:
    """One token. s: (B, H); v: (B, H, Dv); state (m (B, H), u (B, H), w (B, H, Dv)) or None."""
    if state is None:
        m, u, w = s, torch.ones_like(s), v
    else:
        m0, u0, w0 = state
        m = torch.maximum(m0, s)
        keep = exp_diff(m0, m)
        new = exp_diff(s, m)
        u = u0 * keep + new
        w = w0 * keep.unsqueeze(-1) + v * new.unsqueeze(-1)
    return w / u.unsqueeze(-1), (m, u, w)


def aaren_reference(scores: torch.Tensor, values: torch.Tensor, state: AarenState | None
                    ) -> tuple[torch.Tensor, AarenState]:
    """Token-by-token loop.

    Args:
        scores: (B, T, H); values: (B, T, H, Dv); state: (m, u, w) or None.

    Returns:
        out: (B, T, H, Dv) prefix attention outputs; state after the last token.
    """
    outs = []
    for s_t, v_t in zip(scores.unbind(1), values.unbind(1)):
        o, state = aaren_step(s_t, v_t, state)
        outs.append(o)
    return torch.stack(outs, dim=1), state
