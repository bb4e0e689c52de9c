"""Triton kernels of Aaren, forward and backward (equations in ``minrnn/ops/aaren/reference.py`` and the
backward derivation in ``minrnn/ops/cpu_fused/kernels.cpp``).

One program per (sequence n, head k) holds the Dv channels of that head. Forward: per chunk of BLOCK_T tokens,
the paper's associative operator on (m, u, w) triples runs as a scan inside the chunk, then merges with the
carried state; padding tokens are the identity (m = -inf, u = 0, w = 0) and the operator treats equal maxima
as exp(0) = 1 so padding never makes NaN. The running maxima and sums m_t, u_t are saved for the backward.

Backward, at fixed maxima: gW_t = go_t / u_t + a_{t+1} gW_{t+1}, gU_t = -(go_t . o_t) / u_t + a_{t+1} gU_{t+1}
with a_t = exp(m_{t-1} - m_t) (a reverse linear scan), dv_t = p_t gW_t, ds_t = p_t (gU_t + gW_t . v_t) with
p_t = exp(s_t - m_t); dL/dm_final - gu u_T - gw . w_T goes to the token that first reached the final maximum.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _exp_diff(x, m):
    """exp(x - m), exactly 1 where x == m (also -inf == -inf): ``minrnn.ops.aaren.reference.exp_diff``."""
    return tl.where(x == m, 1.0, tl.exp(x - m))


@triton.jit
def _merge(m1, u1, w1, m2, u2, w2):
    m = tl.maximum(m1, m2)
    e1 = _exp_diff(m1, m)
    e2 = _exp_diff(m2, m)
    return m, u1 * e1 + u2 * e2, w1 * e1 + w2 * e2


@triton.jit
def _combine3(a1, b1, c1, a2, b2, c2):
    return a1 * a2, b1 * a2 + b2, c1 * a2 + c2


@triton.jit
def aaren_fwd_kernel(
    S,
    V,
    M0,
    U0,
    W0,
    O,
    MA,
    UA,
    MT,
    UT,
    WT,
    CU,
    H,
    Dv,
    HAS_STATE: tl.constexpr,
    BLOCK_T: tl.constexpr,
    BLOCK_V: tl.constexpr,
    STAGES: tl.constexpr,
):
    n = tl.program_id(0)
    k = tl.program_id(1)
    idx = n * H + k
    start = tl.load(CU + n)
    end = tl.load(CU + n + 1)
    cols = tl.arange(0, BLOCK_V)
    vmask = cols < Dv
    col0 = cols == 0
    rows = tl.arange(0, BLOCK_T)
    last = (rows == BLOCK_T - 1)[:, None]
    acc = MT.dtype.element_ty
    if HAS_STATE:
        m = tl.load(M0 + idx + cols * 0).to(acc)
        u = tl.load(U0 + idx + cols * 0).to(acc)
        w = tl.load(W0 + idx * Dv + cols, mask=vmask, other=0.0).to(acc)
    else:
        m = tl.full([BLOCK_V], float("-inf"), acc)
        u = tl.zeros([BLOCK_V], acc)
        w = tl.zeros([BLOCK_V], acc)
    for t0 in tl.range(start, end, BLOCK_T, num_stages=STAGES):
        t = t0 + rows
        tv = t < end
        mask = tv[:, None] & vmask[None, :]
        s = tl.load(S + t * H + k, mask=tv, other=float("-inf")).to(acc)
        vptr = (t[:, None] * H + k) * Dv + cols[None, :]
        v = tl.load(V + vptr, mask=mask, other=0.0).to(acc)
        m2 = tl.zeros([BLOCK_T, BLOCK_V], acc) + s[:, None]
        u2 = tl.where(tv[:, None], 1.0, 0.0) + tl.zeros([BLOCK_T, BLOCK_V], acc)
        mc, uc, wc = tl.associative_scan((m2, u2, v), 0, _merge)
        mm, uu, ww = _merge(m[None, :], u[None, :], w[None, :], mc, uc, wc)
        tl.store(O + vptr, (ww / uu).to(O.dtype.element_ty), mask=mask)
        sptr = t[:, None] * H + k + cols[None, :] * 0
        smask = tv[:, None] & col0[None, :]
        tl.store(MA + sptr, mm, mask=smask)
        tl.store(UA + sptr, uu, mask=smask)
        m = tl.max(tl.where(last, mm, float("-inf")), axis=0)
        u = tl.sum(tl.where(last, uu, 0.0), axis=0)
        w = tl.sum(tl.where(last, ww, 0.0), axis=0)
    tl.store(MT + idx + cols * 0, m, mask=col0)
    tl.store(UT + idx + cols * 0, u, mask=col0)
    tl.store(WT + idx * Dv + cols, w, mask=vmask)


@triton.jit
def aaren_bwd_kernel(
    S,
    V,
    O,
    MA,
    UA,
    M0,
    U0,
    W0,
    GO,
    GM,
    GU,
    GW,
    MT,
    UT,
    WT,
    DS,
    DV,
    DM0,
    DU0,
    DW0,
    CU,
    H,
    Dv,
    HAS_STATE: tl.constexpr,
    BLOCK_T: tl.constexpr,
    BLOCK_V: tl.constexpr,
    STAGES: tl.constexpr,
):
    n = tl.program_id(0)
    k = tl.program_id(1)
    idx = n * H + k
    start = tl.load(CU + n)
    end = tl.load(CU + n + 1)
    cols = tl.arange(0, BLOCK_V)
    vmask = cols < Dv
    col0 = (cols == 0)[None, :]
    rows = tl.arange(0, BLOCK_T)
    last = (rows == BLOCK_T - 1)[:, None]
    mfin = tl.load(MT + idx)
    acc = mfin.dtype
    gW = tl.load(GW + idx * Dv + cols, mask=vmask, other=0.0)
    wT = tl.load(WT + idx * Dv + cols, mask=vmask, other=0.0)
    gU = tl.load(GU + idx)
    dm = tl.load(GM + idx) - gU * tl.load(UT + idx) - tl.sum(gW * wT, axis=0)
    if HAS_STATE:
        m0 = tl.load(M0 + idx).to(acc)
    else:
        m0 = float("-inf")
    gU2 = tl.zeros([BLOCK_V], acc) + gU
    n_chunks = tl.cdiv(end - start, BLOCK_T)
    for c in tl.range(0, n_chunks, num_stages=STAGES):
        t = end - 1 - c * BLOCK_T - rows
        valid = t >= start
        mask = valid[:, None] & vmask[None, :]
        mt = tl.load(MA + t * H + k, mask=valid, other=0.0)
        mn = tl.load(MA + (t + 1) * H + k, mask=valid & (t + 1 < end), other=0.0)
        mn = tl.where(valid & (t + 1 < end), mn, mt)
        mp = tl.load(MA + (t - 1) * H + k, mask=valid & (t > start), other=0.0)
        mp = tl.where(t > start, mp, m0)
        ut = tl.load(UA + t * H + k, mask=valid, other=1.0)
        s = tl.load(S + t * H + k, mask=valid, other=0.0).to(acc)
        vptr = (t[:, None] * H + k) * Dv + cols[None, :]
        go = tl.load(GO + vptr, mask=mask, other=0.0).to(acc)
        o = tl.load(O + vptr, mask=mask, other=0.0).to(acc)
        v = tl.load(V + vptr, mask=mask, other=0.0).to(acc)
        inv = 1.0 / ut
        bw = go * inv[:, None]
        bu = tl.zeros([BLOCK_T, BLOCK_V], acc) - (tl.sum(go * o, axis=1) * inv)[:, None]
        cc = tl.zeros([BLOCK_T, BLOCK_V], acc) + _exp_diff(mt, mn)[:, None]
        ca, cw, cu_ = tl.associative_scan((cc, bw, bu), 0, _combine3)
        GW2 = ca * gW[None, :] + cw
        GU2 = ca * gU2[None, :] + cu_
        p = _exp_diff(s, mt)
        tl.store(DV + vptr, (p[:, None] * GW2).to(DV.dtype.element_ty), mask=mask)
        gu_rows = tl.sum(tl.where(col0, GU2, 0.0), axis=1)
        ds = p * (gu_rows + tl.sum(GW2 * v, axis=1))
        route = valid & (mt == mfin) & (mp != mfin)
        ds = ds + tl.where(route, dm, 0.0)
        ds = tl.where(s == float("-inf"), 0.0, ds)  # a masked score gets no gradient, as in the reference
        tl.store(DS + t * H + k, ds.to(DS.dtype.element_ty), mask=valid)
        gW = tl.sum(tl.where(last, GW2, 0.0), axis=0)
        gU2 = tl.sum(tl.where(last, GU2, 0.0), axis=0)
    if HAS_STATE:
        m_start = tl.load(MA + start * H + k, mask=end > start, other=0.0)
        m_start = tl.where(end > start, m_start, m0)
        a0 = _exp_diff(m0, m_start)
        gu_s = tl.sum(tl.where(cols == 0, gU2, 0.0), axis=0)
        w0 = tl.load(W0 + idx * Dv + cols, mask=vmask, other=0.0).to(acc)
        u0 = tl.load(U0 + idx).to(acc)
        dm0 = a0 * (gu_s * u0 + tl.sum(gW * w0, axis=0)) + tl.where(m0 == mfin, dm, 0.0)
        tl.store(DW0 + idx * Dv + cols, a0 * gW, mask=vmask)
        tl.store(DU0 + idx, a0 * gu_s)
        tl.store(DM0 + idx, dm0)
