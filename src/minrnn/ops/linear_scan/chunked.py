"""Two-level chunked scan in pure PyTorch: exact for any signs, no logarithms.

The sequence is cut into N chunks of length C (about sqrt(T) each).

1. Inside every chunk, in parallel over chunks, a C-step loop computes the local scan from a zero state
   and the running product of the coefficients: h^loc_t = a_t h^loc_{t-1} + b_t, P_t = a_t P_{t-1}.
2. An N-step loop carries the state across chunk boundaries: c_{n+1} = P_end(n) c_n + h^loc_end(n).
3. Every position is fixed up at once: h_t = h^loc_t + P_t * c_{n(t)}.

That is C + N ~ 2 sqrt(T) vectorised steps instead of T, and only products and sums, so negative
coefficients, negative states and gate values near 0 or 1 are all exact to rounding. Coefficients with
|a| > 1 are allowed, but a running product that overflows inside a chunk meets a zero carry as inf * 0 =
NaN where the sequential scan stays finite: with such coefficients use ``reference`` or ``cpu_fused``.
"""

from __future__ import annotations

import math

import torch


def default_chunk(T: int) -> int:
    return max(1, int(math.ceil(math.sqrt(T))))


@torch.no_grad()
def chunked_scan_forward(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """Forward of h_t = a_t h_{t-1} + b_t without autograd.

    Args:
        a, b: (B, T, D); h0: (B, D); chunk: chunk length (default ceil(sqrt(T))).

    Returns:
        h: (B, T, D).
    """
    B, T, D = a.shape
    C = chunk or default_chunk(T)
    N = -(-T // C)
    pad = N * C - T
    if pad:
        a = torch.cat([a, a.new_ones(B, pad, D)], dim=1)
        b = torch.cat([b, b.new_zeros(B, pad, D)], dim=1)
    a4 = a.view(B, N, C, D)
    b4 = b.view(B, N, C, D)
    h_loc = torch.empty_like(b4)
    prod = torch.empty_like(a4)
    h = b4[:, :, 0].clone()
    p = a4[:, :, 0].clone()
    h_loc[:, :, 0] = h
    prod[:, :, 0] = p
    for c in range(1, C):
        a_c = a4[:, :, c]
        h = torch.addcmul(b4[:, :, c], a_c, h)
        p = p * a_c
        h_loc[:, :, c] = h
        prod[:, :, c] = p
    carries = [h0]  # a list, not writes into a new tensor: torch.func.vmap batches h0 but not torch.empty
    for n in range(N - 1):
        carries.append(torch.addcmul(h_loc[:, n, -1], prod[:, n, -1], carries[-1]))
    out = torch.addcmul(h_loc, prod, torch.stack(carries, dim=1).unsqueeze(2)).view(B, N * C, D)
    return out[:, :T].contiguous() if pad else out  # contiguous, like every backend (and frees the padding)
