"""Kernels that split long sequences into segments scanned in parallel (``LaunchConfig(segment=L)``).

One program of the gated kernels walks a whole sequence, so a batch with few sequences and few channels
(B * D / BLOCK_D programs) leaves most of a GPU idle. With segments, every sequence is cut into pieces of
``L`` steps and the work runs in three launches:

1. ``*_summary_kernel``: each (segment, channel block) reduces its piece to the affine map it applies to the
   state: forward, h_end = A h_in + B (A = prod a_t, B = the piece's scan from h_in = 0); backward, the map
   from the gradient entering the piece's end to the gradient it passes to the previous piece.
2. ``carry_kernel``: per sequence, the S summaries are chained in order (forward) or in reverse (backward),
   giving every piece its incoming state (N * S * D values: negligible traffic).
3. the ordinary ``gated_fwd_kernel`` / ``gated_bwd_kernel`` on the pieces as if they were sequences of a packed
   batch, each started from its incoming state.

The inputs are read twice (steps 1 and 3): the forward of an op with k inputs moves 2k + 1 tensors instead of
k + 1. It can pay only where the one-pass grid is too small to fill the GPU.
"""

from __future__ import annotations

import triton
import triton.language as tl

from minrnn.ops.triton.gated_kernels import _combine, _last_row, _load_coef, _load_coef_a, _program_rows


@triton.jit
def gated_fwd_summary_kernel(
    X0, X1, X2, A, B, CU, D, S0, S1, S2, MODE: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr,
    STAGES: tl.constexpr,
):
    """(A, B) of every piece: h_end = A h_in + B over its steps."""
    n, offs_d, dmask, start, end = _program_rows(CU, D, BLOCK_D)
    tot_a = tl.full([BLOCK_D], 1.0, A.dtype.element_ty)
    tot_b = tl.zeros([BLOCK_D], A.dtype.element_ty)
    acc = tot_a.dtype
    rows = tl.arange(0, BLOCK_T)
    last = (rows == BLOCK_T - 1)[:, None]
    for t0 in tl.range(start, end, BLOCK_T, num_stages=STAGES):
        t = t0 + rows
        mask = (t < end)[:, None] & dmask[None, :]
        a, b = _load_coef(X0, X1, X2, t, offs_d, mask, S0, S1, S2, acc, MODE)
        ca, cb = tl.associative_scan((a, b), 0, _combine)
        tot_a, tot_b = _combine(tot_a, tot_b, _last_row(ca, last), _last_row(cb, last))
    tl.store(A + n * D + offs_d, tot_a, mask=dmask)
    tl.store(B + n * D + offs_d, tot_b, mask=dmask)


@triton.jit
def gated_bwd_summary_kernel(
    X0, X1, GH, A, B, CU, D, S0, S1, MODE: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr,
    STAGES: tl.constexpr,
):
    """(A, B) of every piece for the backward scan g_t = dL/dh_t + a_{t+1} g_{t+1}: the gradient the piece
    passes on to the previous one, a_start g_start, is A g_in + B for the g_in arriving past its end."""
    n, offs_d, dmask, start, end = _program_rows(CU, D, BLOCK_D)
    tot_a = tl.full([BLOCK_D], 1.0, A.dtype.element_ty)
    tot_b = tl.zeros([BLOCK_D], A.dtype.element_ty)
    acc = tot_a.dtype
    rows = tl.arange(0, BLOCK_T)
    last = (rows == BLOCK_T - 1)[:, None]
    n_chunks = tl.cdiv(end - start, BLOCK_T)
    for c in tl.range(0, n_chunks, num_stages=STAGES):
        t = end - 1 - c * BLOCK_T - rows  # descending time, as in gated_bwd_kernel
        valid = t >= start
        mask = valid[:, None] & dmask[None, :]
        nmask = (valid & (t + 1 < end))[:, None] & dmask[None, :]
        p0 = X0 + (t[:, None] + 1) * S0 + offs_d[None, :]  # row t + 1
        p1 = X1 + (t[:, None] + 1) * S1 + offs_d[None, :]
        an = _load_coef_a(p0, p1, nmask, acc, MODE)
        gh = tl.load(GH + t[:, None] * D + offs_d[None, :], mask=mask, other=0.0).to(acc)
        ca, cb = tl.associative_scan((an, gh), 0, _combine)
        tot_a, tot_b = _combine(tot_a, tot_b, _last_row(ca, last), _last_row(cb, last))
    a0 = _load_coef_a(X0 + start * S0 + offs_d, X1 + start * S1 + offs_d, dmask, acc, MODE)
    tl.store(A + n * D + offs_d, a0 * tot_a, mask=dmask)
    tl.store(B + n * D + offs_d, a0 * tot_b, mask=dmask)


@triton.jit
def carry_kernel(A, B, C0, C, S, D, REVERSE: tl.constexpr, BLOCK_D: tl.constexpr):
    """C[n, s] = the state entering piece s of sequence n: C0[n] for the first piece (the last when
    ``REVERSE``), then c <- A[n, s] c + B[n, s] from piece to piece. A, B, C: (N, S, D); C0: (N, D)."""
    n = tl.program_id(0)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    dmask = offs_d < D
    c = tl.load(C0 + n * D + offs_d, mask=dmask, other=0.0)
    for i in range(0, S):
        if REVERSE:
            s = S - 1 - i
        else:
            s = i
        row = (n * S + s) * D + offs_d
        tl.store(C + row, c, mask=dmask)
        c = tl.load(A + row, mask=dmask, other=1.0) * c + tl.load(B + row, mask=dmask, other=0.0)
