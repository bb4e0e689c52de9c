"""Triton kernels of linear_scan, minGRU and minLSTM (MODE 0, 1, 2), forward and backward.

One program per (sequence n, block of BLOCK_D channels). It walks its sequence in chunks of BLOCK_T steps:
inside a chunk the recurrence h_t = a_t h_{t-1} + b_t is an associative scan over (a, b) pairs
((a1, b1) o (a2, b2) = (a1 a2, b1 a2 + b2)), and the state carried from the previous chunk enters as
h_t = A_t h_carry + B_t. Every input is read once and every output written once; gate activations are
computed in registers from the logits (equations in ``minrnn/ops/cpu_fused/kernels.cpp``), in float32
(float64 when the state is float64), whatever the input dtype. Input rows may be strided (S0, S1, S2: row
strides, so projection chunks are read in place); outputs and gradients are contiguous.

Backward: g_t = dL/dh_t + a_{t+1} g_{t+1}, the same scan over chunks taken in reverse time order, then the
logit gradients from g_t, h_{t-1} and the recomputed gates. Sequences are given by offsets CU (N + 1).

The chunk loops are software-pipelined (``tl.range(..., num_stages=STAGES)``): the loads of the next STAGES - 1
chunks are in flight (asynchronous copies into shared memory) while a chunk is scanned. Without the annotation
Triton pipelines only loops that feed a matrix product, and each chunk waited for its own loads.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _combine(a1, b1, a2, b2):
    return a1 * a2, b1 * a2 + b2


@triton.jit
def _last_row(x, last):
    """Row BLOCK_T - 1 of a (BLOCK_T, BLOCK_D) block (``last``: the mask of that row)."""
    return tl.sum(tl.where(last, x, 0.0), axis=0)


@triton.jit
def _sig_pair(x):
    """(sigmoid(x), sigmoid(-x)) from exp(-|x|), which never overflows."""
    e = tl.exp(-tl.abs(x))
    inv = 1.0 / (1.0 + e)
    ei = e * inv
    return tl.where(x >= 0, inv, ei), tl.where(x >= 0, ei, inv)


@triton.jit
def _g(c):
    """(g(c), g'(c)) with g(c) = c + 0.5 (c >= 0), sigmoid(c) (c < 0)."""
    pos, neg = _sig_pair(c)
    return tl.where(c >= 0, c + 0.5, pos), tl.where(c >= 0, 1.0, pos * neg)


@triton.jit
def _lstm_logit(f, i):
    """d = logsigmoid(i) - logsigmoid(f) (so f' = sigmoid(-d), i' = sigmoid(d)), sigmoid(-f), sigmoid(-i)."""
    ef = tl.exp(-tl.abs(f))
    ei = tl.exp(-tl.abs(i))
    pf = 1.0 + ef
    pi = 1.0 + ei
    sfn = tl.where(f >= 0, ef / pf, 1.0 / pf)
    sin_ = tl.where(i >= 0, ei / pi, 1.0 / pi)
    d = tl.maximum(-f, 0.0) - tl.maximum(-i, 0.0) + tl.log(pf / pi)
    return d, sfn, sin_


@triton.jit
def _coef_a(x0, x1, MODE: tl.constexpr):
    """The coefficient a alone (needs the first one or two inputs)."""
    if MODE == 0:
        a = x0
    elif MODE == 1:
        _, a = _sig_pair(x0)
    else:
        d, _, _ = _lstm_logit(x0, x1)
        _, a = _sig_pair(d)
    return a


@triton.jit
def _coef(x0, x1, x2, MODE: tl.constexpr):
    if MODE == 0:
        a = x0
        b = x1
    elif MODE == 1:
        z, a = _sig_pair(x0)
        gc, _ = _g(x1)
        b = z * gc
    else:
        d, _, _ = _lstm_logit(x0, x1)
        z, a = _sig_pair(d)
        gc, _ = _g(x2)
        b = z * gc
    return a, b


@triton.jit
def _program_rows(CU, D, BLOCK_D: tl.constexpr):
    """This program's sequence n, its channels (offsets, mask) and the sequence's rows [start, end)."""
    n = tl.program_id(0)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    return n, offs_d, offs_d < D, tl.load(CU + n), tl.load(CU + n + 1)


@triton.jit
def _load_coef(X0, X1, X2, t, offs_d, mask, S0, S1, S2, acc, MODE: tl.constexpr):
    """(a, b) of the rows t (BLOCK_T) from the inputs, the identity (1, 0) where ``mask`` is off."""
    x0 = tl.load(X0 + t[:, None] * S0 + offs_d[None, :], mask=mask, other=0.0).to(acc)
    x1 = tl.load(X1 + t[:, None] * S1 + offs_d[None, :], mask=mask, other=0.0).to(acc)
    if MODE == 2:
        x2 = tl.load(X2 + t[:, None] * S2 + offs_d[None, :], mask=mask, other=0.0).to(acc)
    else:
        x2 = x1
    a, b = _coef(x0, x1, x2, MODE)
    return tl.where(mask, a, 1.0), tl.where(mask, b, 0.0)


@triton.jit
def _load_coef_a(P0, P1, mask, acc, MODE: tl.constexpr):
    """a from the first two inputs at the pointers P0, P1 (same shape as ``mask``), 1 where ``mask`` is off."""
    x0 = tl.load(P0, mask=mask, other=0.0).to(acc)
    if MODE == 2:
        x1 = tl.load(P1, mask=mask, other=0.0).to(acc)
    else:
        x1 = x0
    return tl.where(mask, _coef_a(x0, x1, MODE), 1.0)


@triton.jit
def gated_fwd_kernel(
    X0,
    X1,
    X2,
    H0,
    H,
    HL,
    CU,
    D,
    S0,
    S1,
    S2,
    MODE: tl.constexpr,
    BLOCK_T: tl.constexpr,
    BLOCK_D: tl.constexpr,
    STAGES: tl.constexpr,
):
    n, offs_d, dmask, start, end = _program_rows(CU, D, BLOCK_D)
    h = tl.load(H0 + n * D + offs_d, mask=dmask, other=0.0)
    acc = h.dtype
    rows = tl.arange(0, BLOCK_T)
    last = (rows == BLOCK_T - 1)[:, None]
    for t0 in tl.range(start, end, BLOCK_T, num_stages=STAGES):
        t = t0 + rows
        mask = (t < end)[:, None] & dmask[None, :]
        ptr = t[:, None] * D + offs_d[None, :]
        a, b = _load_coef(X0, X1, X2, t, offs_d, mask, S0, S1, S2, acc, MODE)
        ca, cb = tl.associative_scan((a, b), 0, _combine)
        hs = ca * h[None, :] + cb
        tl.store(H + ptr, hs.to(H.dtype.element_ty), mask=mask)
        h = _last_row(hs, last)
    tl.store(HL + n * D + offs_d, h, mask=dmask)


@triton.jit
def _write_grads(X2, H, p0, p1, t, offs_d, start, h0, mask, G, D, S2, DX0, DX1, DX2, SO, acc, MODE: tl.constexpr):
    """The input gradients of the rows t (BLOCK_T) from G = dL/dh_t there, h_{t-1} (h0 at the sequence's first
    row) and the gates recomputed from the inputs (p0, p1: pointers to the rows of the first two inputs).
    Gradient rows are SO apart (chunks of one buffer)."""
    ptr = t[:, None] * D + offs_d[None, :]
    optr = t[:, None] * SO + offs_d[None, :]
    hp = tl.load(H + ptr - D, mask=mask & (t > start)[:, None], other=0.0).to(acc)
    hp = tl.where((t == start)[:, None], h0[None, :], hp)
    x0 = tl.load(p0, mask=mask, other=0.0).to(acc)
    x1 = tl.load(p1, mask=mask, other=0.0).to(acc)
    if MODE == 0:
        tl.store(DX0 + optr, (G * hp).to(DX0.dtype.element_ty), mask=mask)
        tl.store(DX1 + optr, G.to(DX1.dtype.element_ty), mask=mask)
    elif MODE == 1:
        z, a = _sig_pair(x0)
        gc, dg = _g(x1)
        tl.store(DX0 + optr, (G * z * a * (gc - hp)).to(DX0.dtype.element_ty), mask=mask)
        tl.store(DX1 + optr, (G * z * dg).to(DX1.dtype.element_ty), mask=mask)
    else:
        x2 = tl.load(X2 + t[:, None] * S2 + offs_d[None, :], mask=mask, other=0.0).to(acc)
        d, sfn, sin_ = _lstm_logit(x0, x1)
        z, a = _sig_pair(d)
        gc, dg = _g(x2)
        dd = G * z * a * (gc - hp)
        tl.store(DX0 + optr, (-dd * sfn).to(DX0.dtype.element_ty), mask=mask)
        tl.store(DX1 + optr, (dd * sin_).to(DX1.dtype.element_ty), mask=mask)
        tl.store(DX2 + optr, (G * z * dg).to(DX2.dtype.element_ty), mask=mask)


@triton.jit
def gated_bwd_kernel(
    X0,
    X1,
    X2,
    H,
    H0,
    GH,
    GL,
    DX0,
    DX1,
    DX2,
    DH0,
    CU,
    D,
    S0,
    S1,
    S2,
    SO,
    MODE: tl.constexpr,
    BLOCK_T: tl.constexpr,
    BLOCK_D: tl.constexpr,
    STAGES: tl.constexpr,
):
    n, offs_d, dmask, start, end = _program_rows(CU, D, BLOCK_D)
    g = tl.load(GL + n * D + offs_d, mask=dmask, other=0.0)
    h0 = tl.load(H0 + n * D + offs_d, mask=dmask, other=0.0)
    acc = g.dtype
    rows = tl.arange(0, BLOCK_T)
    last = (rows == BLOCK_T - 1)[:, None]
    n_chunks = tl.cdiv(end - start, BLOCK_T)
    for c in tl.range(0, n_chunks, num_stages=STAGES):
        t = end - 1 - c * BLOCK_T - rows  # descending time within the chunk
        valid = t >= start
        mask = valid[:, None] & dmask[None, :]
        # a_{t+1}: the coefficient that carries g_{t+1} back to g_t (1 past the end)
        nmask = (valid & (t + 1 < end))[:, None] & dmask[None, :]
        p0 = X0 + t[:, None] * S0 + offs_d[None, :]
        p1 = X1 + t[:, None] * S1 + offs_d[None, :]
        an = _load_coef_a(p0 + S0, p1 + S1, nmask, acc, MODE)
        gh = tl.load(GH + t[:, None] * D + offs_d[None, :], mask=mask, other=0.0).to(acc)
        ca, cb = tl.associative_scan((an, gh), 0, _combine)
        G = ca * g[None, :] + cb
        g = _last_row(G, last)
        _write_grads(X2, H, p0, p1, t, offs_d, start, h0, mask, G, D, S2, DX0, DX1, DX2, SO, acc, MODE)
    # dL/dh0 = a_start g_start (g itself for an empty sequence)
    smask = dmask & ((offs_d * 0 + end) > start)
    a0 = _load_coef_a(X0 + start * S0 + offs_d, X1 + start * S1 + offs_d, smask, acc, MODE)
    tl.store(DH0 + n * D + offs_d, a0 * g, mask=dmask)
