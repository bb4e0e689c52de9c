"""Autograd wrappers and launches of the Triton kernels.

Inputs may be float16/bfloat16/float32/float64 (read as they are, accumulated in the dtype of h0 / the state:
float32, or float64); outputs come back in the input dtype, final states in the accumulation dtype, input
gradients in the input dtype. Saved for backward: the inputs, h and h0 (Aaren: also m_t, u_t per token
and head). h is saved in the input dtype: a float16 state beyond float16's range (65504), which the float32
state itself survives, gives inf gradients (use bfloat16 or float32 there). Sequences: a batch (B, T, ...)
is the offsets [0, T, ..., BT] over the flattened rows; packed variable-length batches pass their own
``cu_seqlens``.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import triton

from minrnn.ops.higher_order import aaren_grads, gated_grads
from minrnn.ops.layout import gradient_buffers, row_stride, rows_view
from minrnn.ops.triton.aaren_kernels import aaren_bwd_kernel, aaren_fwd_kernel
from minrnn.ops.triton.gated_kernels import gated_bwd_kernel, gated_fwd_kernel
from minrnn.ops.triton.lookback_kernels import gated_bwd_lookback_kernel, gated_fwd_lookback_kernel, lookback_grid
from minrnn.ops.triton.segment_kernels import carry_kernel, gated_bwd_summary_kernel, gated_fwd_summary_kernel

_MODES = {"linear_scan": 0, "min_gru": 1, "min_lstm": 2}


def interpreting() -> bool:
    """True when Triton runs its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


@dataclass(frozen=True)
class LaunchConfig:
    """How the gated kernels are launched: ``block_t`` steps per chunk, ``block_d`` channels per program (powers
    of two, >= 16), ``num_warps`` per program and ``num_stages`` of software pipelining of the chunk loops
    (None: 3; 1: none). ``segment``: cut the sequences of a (B, T, ...) batch into pieces of that many steps
    scanned in parallel (``segment_kernels``); None: one program walks a whole sequence. ``lookback``: the
    forward and backward of a (B, T, ...) batch in one pass, every chunk its own program (``lookback_kernels``).
    Defaults: :data:`DEFAULT_FWD`, :data:`DEFAULT_BWD`; ``minrnn bench gpu --sections sweep`` times the
    alternatives."""

    block_t: int = 64
    block_d: int = 32
    num_warps: int = 4
    num_stages: int | None = None
    segment: int | None = None
    lookback: bool = False

    def __post_init__(self):
        for name in ("block_t", "block_d", "num_warps", "num_stages", "segment"):
            v = getattr(self, name)
            if not (type(v) is int or (v is None and name in ("num_stages", "segment"))):
                raise TypeError(f"{name} must be an int{' or None' if name in ('num_stages', 'segment') else ''}, "
                                f"got {v!r}")
        if type(self.lookback) is not bool:
            raise TypeError(f"lookback must be a bool, got {self.lookback!r}")
        for name in ("block_t", "block_d"):
            v = getattr(self, name)
            if v < 16 or v & (v - 1):
                raise ValueError(f"{name} must be a power of two >= 16, got {v}")
        if self.block_t * self.block_d > 2**20:  # triton.language's TRITON_MAX_TENSOR_NUMEL
            raise ValueError(f"block_t * block_d must be at most 2**20 elements per program, got "
                             f"{self.block_t} * {self.block_d}")
        if self.num_warps not in (1, 2, 4, 8, 16):
            raise ValueError(f"num_warps must be one of 1, 2, 4, 8, 16, got {self.num_warps}")
        if self.num_stages is not None and self.num_stages < 1:
            raise ValueError(f"num_stages must be >= 1 or None, got {self.num_stages}")
        if self.segment is not None and (self.segment < self.block_t or self.segment % self.block_t):
            raise ValueError(f"segment must be a multiple of block_t={self.block_t} or None, got {self.segment}")
        if self.lookback and self.segment is not None:
            raise ValueError("lookback and segment are two ways to split a sequence: choose one")


_OVERRIDE: LaunchConfig | None = None


@contextlib.contextmanager
def launch_config(config: LaunchConfig) -> Iterator[None]:
    """Launch the gated kernels with ``config`` inside the block (for benchmarks and tests)."""
    global _OVERRIDE
    if not isinstance(config, LaunchConfig):
        raise TypeError(f"config must be a LaunchConfig, got {type(config).__name__}")
    previous, _OVERRIDE = _OVERRIDE, config
    try:
        yield
    finally:
        _OVERRIDE = previous


#: defaults for the forward and the backward kernel, from the compiler's resource report for sm_90
#: (``benchmarks/gpu/kernel_resources.py``, docs/kernels.md): the backward with 64-step chunks spills (min_lstm,
#: unpipelined) or holds 116 KB of shared memory (pipelined, one program per SM); with 32-step chunks neither.
#: Not yet timed on a GPU: ``minrnn bench gpu --sections sweep``.
DEFAULT_FWD = LaunchConfig(block_t=64, block_d=32, num_warps=4)
DEFAULT_BWD = LaunchConfig(block_t=32, block_d=32, num_warps=4)


def _launch(D: int, backward: bool = False) -> tuple[int, int, LaunchConfig, dict]:
    """(BLOCK_T, BLOCK_D, the configuration, launch keywords incl. STAGES) for rows of ``D`` channels."""
    cfg = _OVERRIDE or (DEFAULT_BWD if backward else DEFAULT_FWD)
    opts = {"num_warps": cfg.num_warps, "STAGES": cfg.num_stages or 3}
    block_t = 32 if interpreting() and _OVERRIDE is None else cfg.block_t
    block_d = cfg.block_d if _OVERRIDE is not None else max(16, min(cfg.block_d, triton.next_power_of_2(D)))
    return block_t, block_d, cfg, opts


#: tests only: chunks of the look-back kernels publish aggregates only (every walk goes back to the first chunk)
_LOOKBACK_AGGREGATES_ONLY = False
#: a look-back walk that sees an unpublished chunk this many times gives up and writes NaN (never hangs)
_LOOKBACK_MAX_SPINS = 1 << 22


def _lookback_buffers(N: int, T: int, D: int, bt: int, bd: int, ref: torch.Tensor):
    """(flags, aggregates A and B, inclusive states, chunk counter) of a look-back launch (one program per chunk:
    ``flags.numel()`` programs)."""
    tiles = lookback_grid(N, T, D, bt, bd)
    flags = torch.zeros(tiles, dtype=torch.int32, device=ref.device)
    agg_a, agg_b, inc = (torch.empty(tiles, bd, dtype=ref.dtype, device=ref.device) for _ in range(3))
    return flags, agg_a, agg_b, inc, torch.zeros(1, dtype=torch.int32, device=ref.device)


def _lookback_options(cfg: LaunchConfig) -> dict:
    return dict(AGGREGATES_ONLY=_LOOKBACK_AGGREGATES_ONLY, MAX_SPINS=_LOOKBACK_MAX_SPINS, num_warps=cfg.num_warps)


def _pieces(N: int, T: int, L: int, device) -> tuple[torch.Tensor, int]:
    """Offsets (N * S + 1) of the pieces of ``L`` steps of N sequences of T steps, and S."""
    S = triton.cdiv(T, L)
    starts = torch.arange(N, device=device)[:, None] * T + torch.arange(S, device=device)[None, :] * L
    return torch.cat([starts.reshape(-1), starts.new_full((1,), N * T)]), S


def _offsets(B: int, T: int, cu_seqlens: torch.Tensor | None, device) -> torch.Tensor:
    if cu_seqlens is not None:
        return cu_seqlens.contiguous()
    device = torch.device(device)
    if device.type != "cuda":
        return _batch_offsets(B, T, device, None)
    if torch.cuda.is_current_stream_capturing():  # a cached tensor made during capture holds nothing until replay
        return _make_offsets(B, T, device)
    return _batch_offsets(B, T, device, torch.cuda.current_stream(device).cuda_stream)


def _make_offsets(B: int, T: int, device: torch.device) -> torch.Tensor:
    with torch.inference_mode(False):  # a normal tensor even when first asked for under inference_mode
        return torch.arange(B + 1, dtype=torch.int64, device=device) * T


@functools.lru_cache(maxsize=64)
def _batch_offsets(B: int, T: int, device: torch.device, stream: int | None) -> torch.Tensor:
    """[0, T, ..., B T] on ``device``, made once per shape and stream (two kernel launches saved per call on a
    GPU; the kernels only read it; per stream, so its first use is ordered after the kernel that made it)."""
    return _make_offsets(B, T, device)


def _on(device: torch.device):
    """Launch on the tensors' GPU: Triton launches on the current device, which need not be theirs."""
    return torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()


class _GatedFn(torch.autograd.Function):
    """Gated scans over the sequences given by offsets ``cu``; ``T`` > 0 says they all have T steps (a
    (B, T, D) batch), which lets ``LaunchConfig.segment`` or ``lookback`` split them."""

    @staticmethod
    def forward(ctx, mode: int, T: int, cu: torch.Tensor, h0_given: torch.Tensor, *inputs: torch.Tensor):
        xs = [rows_view(x) for x in inputs]
        h0 = h0_given.contiguous()
        N, D = h0.shape
        h = torch.empty(xs[0].shape, dtype=xs[0].dtype, device=xs[0].device)
        bt, bd, cfg, opts = _launch(D)
        seg = cfg.segment
        x2 = xs[2] if mode == 2 else xs[0]
        args = (xs[0], xs[1], x2)
        strides = [row_stride(x) for x in args]
        kw = dict(MODE=mode, BLOCK_T=bt, BLOCK_D=bd, **opts)
        if cfg.lookback and T > 0:
            h_last, lb = torch.empty_like(h0), _lookback_buffers(N, T, D, bt, bd, h0)
            gated_fwd_lookback_kernel[(lb[0].numel(),)](
                *args, h0, h, h_last, *lb, T, D, *strides, MODE=mode, BLOCK_T=bt, BLOCK_D=bd, **_lookback_options(cfg)
            )
        elif seg and T > seg:  # pieces: summaries, carries, then the pieces as sequences of a packed batch
            cu_p, S = _pieces(N, T, seg, h0.device)
            grid = (N * S, triton.cdiv(D, bd))
            A, B, C, last = (torch.empty(N * S, D, dtype=h0.dtype, device=h0.device) for _ in range(4))
            gated_fwd_summary_kernel[grid](*args, A, B, cu_p, D, *strides, **kw)
            carry_kernel[(N, grid[1])](A, B, h0, C, S, D, REVERSE=False, BLOCK_D=bd)
            gated_fwd_kernel[grid](*args, C, h, last, cu_p, D, *strides, **kw)
            h_last = last.view(N, S, D)[:, -1].contiguous()
        else:
            h_last = torch.empty_like(h0)
            gated_fwd_kernel[(N, triton.cdiv(D, bd))](*args, h0, h, h_last, cu, D, *strides, **kw)
        ctx.mode, ctx.T = mode, T
        # the inputs as given (contiguous copies are made again in backward), so that a recorded backward
        # (second derivatives) can differentiate through them
        ctx.save_for_backward(cu, h0_given, h, *inputs)
        return h, h_last

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor, grad_last: torch.Tensor):
        cu, h0, h, *inputs = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiable gradients from the chunked backend
            op = next(name for name, m in _MODES.items() if m == ctx.mode)
            grads = gated_grads(op, inputs, h0, None if ctx.T > 0 else cu.tolist(), grad_h, grad_last,
                                (*ctx.needs_input_grad[4:], ctx.needs_input_grad[3]))
            return (None, None, None, grads[-1], *grads[:-1])
        xs, h0 = [rows_view(x) for x in inputs], h0.contiguous()
        grad_h = grad_h.contiguous()
        grad_last = grad_last.to(h0.dtype).contiguous()
        N, D = h0.shape
        grads = gradient_buffers(xs)
        bt, bd, cfg, opts = _launch(D, backward=True)
        seg = cfg.segment
        x2 = xs[2] if ctx.mode == 2 else xs[0]
        dx2 = grads[2] if ctx.mode == 2 else grads[0]
        strides = [row_stride(x) for x in (xs[0], xs[1], x2)]
        kw = dict(MODE=ctx.mode, BLOCK_T=bt, BLOCK_D=bd, **opts)
        T = ctx.T
        if cfg.lookback and T > 0:
            lb = _lookback_buffers(N, T, D, bt, bd, h0)
            grad_h0 = torch.empty_like(h0)
            gated_bwd_lookback_kernel[(lb[0].numel(),)](
                xs[0], xs[1], x2, h, h0, grad_h, grad_last, grads[0], grads[1], dx2, grad_h0, *lb, T, D, *strides,
                row_stride(grads[0]), MODE=ctx.mode, BLOCK_T=bt, BLOCK_D=bd, **_lookback_options(cfg),
            )
            return (None, None, None, grad_h0, *grads)
        if seg and T > seg:
            cu_p, S = _pieces(N, T, seg, h0.device)
            grid = (N * S, triton.cdiv(D, bd))
            # each piece starts from h0 or the last state of the piece before it
            h0_p = torch.cat([h0[:, None], h.view(N, T, D)[:, seg - 1 :: seg][:, : S - 1].to(h0.dtype)], 1)
            A, B, C, dh0_p = (torch.empty(N * S, D, dtype=h0.dtype, device=h0.device) for _ in range(4))
            gated_bwd_summary_kernel[grid](xs[0], xs[1], grad_h, A, B, cu_p, D, *strides[:2], **kw)
            carry_kernel[(N, grid[1])](A, B, grad_last, C, S, D, REVERSE=True, BLOCK_D=bd)
            h0_in, g_in, dh0_out, cu_in = h0_p.reshape(N * S, D), C, dh0_p, cu_p
        else:
            grid = (N, triton.cdiv(D, bd))
            h0_in, g_in, dh0_out, cu_in = h0, grad_last, torch.empty_like(h0), cu
        gated_bwd_kernel[grid](
            xs[0], xs[1], x2, h, h0_in, grad_h, g_in, grads[0], grads[1], dx2, dh0_out, cu_in, D, *strides,
            row_stride(grads[0]), **kw,
        )
        grad_h0 = dh0_out.view(N, S, D)[:, 0].contiguous() if cu_in is not cu else dh0_out
        return (None, None, None, grad_h0, *grads)


def gated(op: str):
    """Backend function of ``op``: ``fn(*inputs (B, T, D), h0 (B, D), cu_seqlens=None) -> (h, h_last)``."""
    mode = _MODES[op]

    def fn(*args, cu_seqlens: torch.Tensor | None = None):
        *inputs, h0 = args
        B, T, _ = inputs[0].shape
        uniform_T = T if cu_seqlens is None else 0
        with _on(h0.device):
            return _GatedFn.apply(mode, uniform_T, _offsets(B, T, cu_seqlens, h0.device), h0, *inputs)

    fn.__name__ = f"{op}_triton"
    return fn


def _aaren_blocks(Dv: int) -> tuple[int, int, dict]:
    """(BLOCK_T, BLOCK_V, launch keywords) of the Aaren kernels: a program holds all Dv channels of its head, so
    the chunk shrinks as Dv grows. With 64-step chunks the sm_90 build spills from Dv = 64 on (416 bytes of
    stack forward); BLOCK_T * BLOCK_V <= 1024 (and 8 warps from 128 channels) cuts that to 8-48 bytes at
    Dv >= 128 and none below (benchmarks/results/kernel_resources_sm90_*.md)."""
    bv = max(16, triton.next_power_of_2(Dv))
    bt = 32 if interpreting() else max(16, min(64, 1024 // bv))
    return bt, bv, {"num_warps": 4 if bv <= 64 else 8, "STAGES": 3}


class _AarenFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, cu, acc_dtype, has_state, scores, values, m0, u0, w0):
        s, v = scores.contiguous(), values.contiguous()
        H, Dv = s.shape[-1], v.shape[-1]
        N = cu.numel() - 1
        o = torch.empty_like(v)
        m_all = torch.empty(s.shape, dtype=acc_dtype, device=s.device)
        u_all = torch.empty_like(m_all)
        mT = torch.empty(N, H, dtype=acc_dtype, device=s.device)
        uT = torch.empty_like(mT)
        wT = torch.empty(N, H, Dv, dtype=acc_dtype, device=s.device)
        given = (m0, u0, w0) if has_state else ()
        if has_state:
            m0, u0, w0 = m0.contiguous(), u0.contiguous(), w0.contiguous()
        else:
            m0 = u0 = w0 = mT  # never read
        bt, bv, opts = _aaren_blocks(Dv)
        aaren_fwd_kernel[(N, H)](
            s,
            v,
            m0,
            u0,
            w0,
            o,
            m_all,
            u_all,
            mT,
            uT,
            wT,
            cu,
            H,
            Dv,
            HAS_STATE=has_state,
            BLOCK_T=bt,
            BLOCK_V=bv,
            **opts,
        )
        ctx.has_state, ctx.blocks = has_state, (bt, bv, opts)
        # the inputs as given (contiguous copies are made again in backward), for a recorded backward
        ctx.save_for_backward(cu, scores, values, o, m_all, u_all, mT, uT, wT, *given)
        return o, mT, uT, wT

    @staticmethod
    def backward(ctx, go, gm, gu, gw):
        cu, s, v, o, m_all, u_all, mT, uT, wT, *given = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiable gradients from the chunked backend
            offs = cu.tolist() if s.shape[0] == 1 else None
            state = tuple(given) if ctx.has_state else None
            return None, None, None, *aaren_grads(s, v, state, offs, (go, gm, gu, gw), ctx.needs_input_grad[3:])
        s, v = s.contiguous(), v.contiguous()
        m0, u0, w0 = (x.contiguous() for x in given) if ctx.has_state else (mT, mT, mT)  # never read then
        go, gm, gu, gw = (x.contiguous() for x in (go, gm.to(mT.dtype), gu.to(mT.dtype), gw.to(mT.dtype)))
        ds, dv = torch.empty_like(s), torch.empty_like(v)
        dm0, du0, dw0 = torch.empty_like(m0), torch.empty_like(u0), torch.empty_like(w0)
        N, H, Dv = mT.shape[0], s.shape[-1], v.shape[-1]
        bt, bv, opts = ctx.blocks
        aaren_bwd_kernel[(N, H)](
            s,
            v,
            o,
            m_all,
            u_all,
            m0,
            u0,
            w0,
            go,
            gm,
            gu,
            gw,
            mT,
            uT,
            wT,
            ds,
            dv,
            dm0,
            du0,
            dw0,
            cu,
            H,
            Dv,
            HAS_STATE=ctx.has_state,
            BLOCK_T=bt,
            BLOCK_V=bv,
            **opts,
        )
        if not ctx.has_state:
            dm0 = du0 = dw0 = None
        return None, None, None, ds, dv, dm0, du0, dw0


def aaren(scores: torch.Tensor, values: torch.Tensor, state, cu_seqlens: torch.Tensor | None = None):
    """Triton Aaren: scores (B, T, H), values (B, T, H, Dv), state None or (m, u, w) (accumulation dtype)."""
    B, T, H = scores.shape
    cu = _offsets(B, T, cu_seqlens, scores.device)
    acc = torch.float64 if torch.float64 in (scores.dtype, values.dtype) else torch.float32
    if state is not None:
        acc = state[0].dtype
    m0, u0, w0 = state if state is not None else (None, None, None)
    with _on(scores.device):
        o, m, u, w = _AarenFn.apply(cu, acc, state is not None, scores, values, m0, u0, w0)
    return o, (m, u, w)
