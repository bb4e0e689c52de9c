"""Single-pass forward and backward of the gated scans with decoupled look-back (``LaunchConfig(lookback=True)``).

Every chunk of BLOCK_T steps x BLOCK_D channels of every sequence is its own program, so even one sequence
fills the GPU, and each input is still read once (the segment path reads them twice). Programs take their
chunk from an atomic counter, so a chunk starts only after every earlier chunk of its column has started
(no deadlock whatever order the hardware schedules programs in). A chunk scans its rows from a zero state,
publishes its aggregate (A, B) (h_end = A h_in + B) with flag 1, then walks back over the earlier chunks of
its column: a chunk with flag 2 has published its inclusive state, which ends the walk; one with flag 1
contributes its aggregate and the walk goes on. It then publishes its own inclusive state (flag 2) and
writes h = ca h_in + cb. Chunk 0 of a column starts from h0 and publishes its inclusive state at once. The
backward runs the same scheme backwards in time (the latest chunk first, from dL/dh_last).

Publishing is: the vector stores, a barrier of the program, then a release exchange of the flag; reading is
an acquire read of the flag, then loads that bypass L1 (``.cg``). A walk that sees a zero flag spins;
MAX_SPINS bounds it (the chunk then writes NaN rather than hanging the GPU: a failed test, not a hang).

Only uniform batches (B sequences of T steps); packed variable-length batches take the one-pass kernel.
Not yet run on a GPU: correct in Triton's interpreter (which runs programs one after another, so the tests
also force the walk through aggregates with AGGREGATES_ONLY), unmeasured.
"""

from __future__ import annotations

import triton
import triton.language as tl

from minrnn.ops.triton.gated_kernels import _combine, _last_row, _load_coef, _load_coef_a, _write_grads


@triton.jit
def _publish(FLAGS, tile, value, P, idx, dmask, flag: tl.constexpr):
    """Store ``value`` at P[idx], then raise the chunk's flag to ``flag`` (release)."""
    tl.store(P + idx, value, mask=dmask)
    tl.debug_barrier()
    tl.atomic_xchg(FLAGS + tile, flag, sem="release", scope="gpu")


@triton.jit
def _look_back(FLAGS, AGG_A, AGG_B, INC, tile, cols, dmask, agg_a, agg_b, acc, BLOCK_D: tl.constexpr,
               MAX_SPINS: tl.constexpr):
    """Publish this chunk's aggregate, then compose the aggregates of the chunks before it (tile - 1, tile - 2,
    ...) until one has published its inclusive state: the state entering this chunk (NaN after MAX_SPINS)."""
    vec = tile * BLOCK_D + cols
    tl.store(AGG_A + vec, agg_a, mask=dmask)
    _publish(FLAGS, tile, agg_b, AGG_B, vec, dmask, 1)
    acc_a = tl.full([BLOCK_D], 1.0, acc)
    acc_b = tl.zeros([BLOCK_D], acc)
    carry = tl.zeros([BLOCK_D], acc)
    j = tile - 1
    spins = 0
    looking = True
    while looking:
        f = tl.atomic_add(FLAGS + j, 0, sem="acquire", scope="gpu")
        jv = j * BLOCK_D + cols
        if f == 2:
            inc = tl.load(INC + jv, mask=dmask, other=0.0, cache_modifier=".cg")
            carry = acc_a * inc + acc_b
            looking = False
        elif f == 1:
            ja = tl.load(AGG_A + jv, mask=dmask, other=1.0, cache_modifier=".cg")
            jb = tl.load(AGG_B + jv, mask=dmask, other=0.0, cache_modifier=".cg")
            acc_b = acc_a * jb + acc_b
            acc_a = acc_a * ja
            j -= 1
        else:
            spins += 1
            if spins > MAX_SPINS:
                carry = tl.full([BLOCK_D], float("nan"), acc)
                looking = False
    return carry


@triton.jit
def _take_chunk(COUNTER, T, D, BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr, LATEST_FIRST: tl.constexpr):
    """The next chunk from the counter: (tile id, C chunks per sequence, chunk index c in time, sequence n,
    channel lanes, channels, channel mask, the sequence's first row). Tile ids run over the chunks of a column
    (sequence, channel block) in walk order: c = tile % C, or C - 1 - tile % C when ``LATEST_FIRST``."""
    C = tl.cdiv(T, BLOCK_T)
    tile = tl.atomic_add(COUNTER, 1)
    if LATEST_FIRST:
        c = C - 1 - tile % C
    else:
        c = tile % C
    col = tile // C
    n = col // tl.cdiv(D, BLOCK_D)
    cols = tl.arange(0, BLOCK_D)
    offs_d = (col % tl.cdiv(D, BLOCK_D)) * BLOCK_D + cols
    return tile, C, c, n, cols, offs_d, offs_d < D, n.to(tl.int64) * T


@triton.jit
def gated_fwd_lookback_kernel(
    X0,
    X1,
    X2,
    H0,
    H,
    HL,
    FLAGS,
    AGG_A,
    AGG_B,
    INC,
    COUNTER,
    T,
    D,
    S0,
    S1,
    S2,
    MODE: tl.constexpr,
    BLOCK_T: tl.constexpr,
    BLOCK_D: tl.constexpr,
    AGGREGATES_ONLY: tl.constexpr,
    MAX_SPINS: tl.constexpr,
):
    tile, C, c, n, cols, offs_d, dmask, start = _take_chunk(COUNTER, T, D, BLOCK_T, BLOCK_D, False)
    rows = tl.arange(0, BLOCK_T)
    t = start + c * BLOCK_T + rows
    mask = (t < start + T)[:, None] & dmask[None, :]
    carry = tl.load(H0 + n * D + offs_d, mask=dmask, other=0.0)
    acc = carry.dtype
    a, b = _load_coef(X0, X1, X2, t, offs_d, mask, S0, S1, S2, acc, MODE)
    ca, cb = tl.associative_scan((a, b), 0, _combine)
    last = (rows == BLOCK_T - 1)[:, None]
    agg_a, agg_b = _last_row(ca, last), _last_row(cb, last)
    vec = tile * BLOCK_D + cols
    if c > 0:
        carry = _look_back(FLAGS, AGG_A, AGG_B, INC, tile, cols, dmask, agg_a, agg_b, acc, BLOCK_D, MAX_SPINS)
    inclusive = agg_a * carry + agg_b
    if c == 0 or not AGGREGATES_ONLY:
        _publish(FLAGS, tile, inclusive, INC, vec, dmask, 2)
    hs = ca * carry[None, :] + cb
    tl.store(H + t[:, None] * D + offs_d[None, :], hs.to(H.dtype.element_ty), mask=mask)
    if c == C - 1:
        tl.store(HL + n * D + offs_d, inclusive, mask=dmask)


@triton.jit
def gated_bwd_lookback_kernel(
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
    FLAGS,
    AGG_A,
    AGG_B,
    INC,
    COUNTER,
    T,
    D,
    S0,
    S1,
    S2,
    SO,
    MODE: tl.constexpr,
    BLOCK_T: tl.constexpr,
    BLOCK_D: tl.constexpr,
    AGGREGATES_ONLY: tl.constexpr,
    MAX_SPINS: tl.constexpr,
):
    """The backward g_t = dL/dh_t + a_{t+1} g_{t+1} the same way, walking time backwards: the chunks are taken
    latest first, and the state passed between them is g at a chunk's first row (GL enters the last chunk)."""
    tile, C, c, n, cols, offs_d, dmask, start = _take_chunk(COUNTER, T, D, BLOCK_T, BLOCK_D, True)
    end = start + T
    rows = tl.arange(0, BLOCK_T)
    t = start + c * BLOCK_T + (BLOCK_T - 1 - rows)  # descending time within the chunk
    valid = t < end
    mask = valid[:, None] & dmask[None, :]
    carry = tl.load(GL + n * D + offs_d, mask=dmask, other=0.0)
    h0 = tl.load(H0 + n * D + offs_d, mask=dmask, other=0.0)
    acc = carry.dtype
    nmask = (valid & (t + 1 < end))[:, None] & dmask[None, :]
    p0 = X0 + t[:, None] * S0 + offs_d[None, :]
    p1 = X1 + t[:, None] * S1 + offs_d[None, :]
    an = _load_coef_a(p0 + S0, p1 + S1, nmask, acc, MODE)
    gh = tl.load(GH + t[:, None] * D + offs_d[None, :], mask=mask, other=0.0).to(acc)
    ca, cb = tl.associative_scan((an, gh), 0, _combine)
    last = (rows == BLOCK_T - 1)[:, None]  # the chunk's first row in time
    agg_a, agg_b = _last_row(ca, last), _last_row(cb, last)
    if c < C - 1:
        carry = _look_back(FLAGS, AGG_A, AGG_B, INC, tile, cols, dmask, agg_a, agg_b, acc, BLOCK_D, MAX_SPINS)
    inclusive = agg_a * carry + agg_b  # g at the chunk's first row
    if c == C - 1 or not AGGREGATES_ONLY:
        _publish(FLAGS, tile, inclusive, INC, tile * BLOCK_D + cols, dmask, 2)
    G = ca * carry[None, :] + cb
    _write_grads(X2, H, p0, p1, t, offs_d, start, h0, mask, G, D, S2, DX0, DX1, DX2, SO, acc, MODE)
    if c == 0:  # dL/dh0 = a_start g_start
        a0 = _load_coef_a(X0 + start * S0 + offs_d, X1 + start * S1 + offs_d, dmask, acc, MODE)
        tl.store(DH0 + n * D + offs_d, a0 * inclusive, mask=dmask)


def lookback_grid(N: int, T: int, D: int, block_t: int, block_d: int) -> int:
    """Number of programs (chunks) of a launch."""
    return N * triton.cdiv(D, block_d) * triton.cdiv(T, block_t)
