"""Autograd wrappers around the fused CPU kernels (equations in ``kernels.cpp``, ``gate_math.h``, ``aaren.h``).

Every op runs one forward pass (read inputs, write outputs) and one backward pass (read inputs, outputs and
output gradients; write input gradients). The minGRU/minLSTM backward recomputes the gate activations from
the saved logits inside the kernel and writes the logit gradients directly: no (a, b) or gate tensors are
ever materialised. Saved for backward: the inputs, h and h0 (Aaren: also the running maxima m_t and sums u_t,
(B, T, H) each).

All ops take float32/float64 contiguous CPU tensors, batch-first (B, T, ...) or packed (1, total_T, ...)
with ``cu_seqlens``.
"""

from __future__ import annotations

import ctypes

import torch

from minrnn.ops.cpu_fused.build import library
from minrnn.ops.higher_order import aaren_grads, gated_grads
from minrnn.ops.layout import gradient_buffers, row_stride, rows_view

_KERNELS = {"linear_scan": "scan", "min_gru": "gru", "min_lstm": "lstm"}
_OPS = {k: op for op, k in _KERNELS.items()}


def _ptrs(*tensors: torch.Tensor | None):
    arr = (ctypes.c_void_p * len(tensors))()
    for i, t in enumerate(tensors):
        arr[i] = None if t is None else t.data_ptr()
    return arr


def _offsets(B: int, T: int, cu_seqlens: torch.Tensor | None) -> torch.Tensor:
    if cu_seqlens is not None:
        return cu_seqlens.contiguous()
    return torch.arange(B + 1, dtype=torch.int64) * T


_PARALLEL_MIN_ELEMENTS = 1 << 18


def _threads(numel: int) -> int:
    """torch's thread count, or 1 for small problems (thread wake-up costs more than it saves, and a lot more
    on an oversubscribed machine, where a descheduled thread stalls the whole parallel region)."""
    return max(1, torch.get_num_threads()) if numel >= _PARALLEL_MIN_ELEMENTS else 1


def _row_strides(xs: list[torch.Tensor]):
    arr = (ctypes.c_int64 * len(xs))()
    for i, x in enumerate(xs):
        arr[i] = row_stride(x)
    return arr


def _run_fwd(kernel: str, xs, h0, h, h_last, cu) -> None:
    """Forward kernel: inputs ``xs`` (row-strided (B, T, D) or packed), h0 -> h, h_last (preallocated)."""
    getattr(library(), f"mr_{kernel}_fwd")(
        int(h.dtype == torch.float64), _ptrs(*xs), _row_strides(xs), h0.data_ptr(), h.data_ptr(),
        h_last.data_ptr(), cu.data_ptr(), cu.numel() - 1, h.shape[-1], _threads(h.numel()))


def _run_bwd(kernel: str, xs, h, h0, grad_h, grad_last, grads, grad_h0, cu) -> None:
    """Backward kernel into the preallocated ``grads`` (rows ``row_stride(grads[0])`` apart) and ``grad_h0``."""
    getattr(library(), f"mr_{kernel}_bwd")(
        int(h.dtype == torch.float64), _ptrs(*xs), _row_strides(xs), h.data_ptr(), h0.data_ptr(),
        grad_h.data_ptr(), grad_last.data_ptr(), _ptrs(*grads), row_stride(grads[0]), grad_h0.data_ptr(),
        cu.data_ptr(), cu.numel() - 1, h.shape[-1], _threads(h.numel()))


class _GatedFn(torch.autograd.Function):
    """The inputs are saved as given (a contiguous copy, when one is needed, is made again in backward), so
    a backward that autograd records (second derivatives) can differentiate through them."""

    @staticmethod
    def forward(ctx, kernel: str, cu: torch.Tensor, h0: torch.Tensor, *inputs: torch.Tensor):
        xs, h0c = [rows_view(x) for x in inputs], h0.contiguous()
        h = torch.empty(xs[0].shape, dtype=xs[0].dtype)
        h_last = torch.empty_like(h0c)  # contiguous, as the kernel writes it (h0 may be a transposed view)
        _run_fwd(kernel, xs, h0c, h, h_last, cu)
        ctx.kernel = kernel
        ctx.save_for_backward(cu, h0, h, *inputs)
        return h, h_last

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor, grad_last: torch.Tensor):
        cu, h0, h, *inputs = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiable gradients from the chunked backend
            offs = cu.tolist() if inputs[0].shape[0] == 1 else None
            grads = gated_grads(_OPS[ctx.kernel], inputs, h0, offs, grad_h, grad_last,
                                (*ctx.needs_input_grad[3:], ctx.needs_input_grad[2]))
            return (None, None, grads[-1], *grads[:-1])
        xs, h0 = [rows_view(x) for x in inputs], h0.contiguous()
        grad_h = grad_h.contiguous()
        grad_last = grad_last.contiguous()
        grads = gradient_buffers(xs)
        grad_h0 = torch.empty_like(h0)
        _run_bwd(ctx.kernel, xs, h, h0, grad_h, grad_last, grads, grad_h0, cu)
        return (None, None, grad_h0, *grads)


def gated(op: str):
    """Backend function of ``op`` (linear_scan, min_gru, min_lstm): ``fn(*inputs, h0, cu_seqlens=None)``."""
    kernel = _KERNELS[op]

    def fn(*args, cu_seqlens: torch.Tensor | None = None):
        *inputs, h0 = args
        B, T, _ = inputs[0].shape
        return _GatedFn.apply(kernel, _offsets(B, T, cu_seqlens), h0, *inputs)

    fn.__name__ = f"{op}_cpu_fused"
    fn.__doc__ = f"Fused CPU ``{op}``: (*inputs (B, T, D), h0 (B, D)) -> (h (B, T, D), h_last (B, D))."
    return fn


class _AarenFn(torch.autograd.Function):
    """Inputs saved as given (contiguous copies, when needed, are made again in backward), as in _GatedFn."""

    @staticmethod
    def forward(ctx, cu: torch.Tensor, has_state: bool, scores: torch.Tensor, values: torch.Tensor, m0, u0, w0):
        s, v = scores.contiguous(), values.contiguous()
        _, L, H = s.shape
        N, Dv = cu.numel() - 1, v.shape[-1]
        o = torch.empty_like(v)
        m_all, u_all = torch.empty_like(s), torch.empty_like(s)
        mT, uT = s.new_empty(N, H), s.new_empty(N, H)
        wT = v.new_empty(N, H, Dv)
        st = (m0.contiguous(), u0.contiguous(), w0.contiguous()) if has_state else (None, None, None)
        library().mr_aaren_fwd(
            int(s.dtype == torch.float64),
            _ptrs(s, v, *st, o, m_all, u_all, mT, uT, wT),
            int(has_state),
            cu.data_ptr(),
            N,
            H,
            Dv,
            _threads(v.numel()),
        )
        ctx.has_state = has_state
        ctx.save_for_backward(cu, scores, values, o, m_all, u_all, mT, uT, wT,
                              *((m0, u0, w0) if has_state else ()))
        return o, mT, uT, wT

    @staticmethod
    def backward(ctx, go, gm, gu, gw):
        cu, s, v, o, m_all, u_all, mT, uT, wT, *st = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiable gradients from the chunked backend
            state = tuple(st) if ctx.has_state else None
            offs = cu.tolist() if s.shape[0] == 1 else None  # (1, total, H) packed, else an empty batch
            grads = aaren_grads(s, v, state, offs, (go, gm, gu, gw), ctx.needs_input_grad[2:])
            return None, None, *grads
        s, v = s.contiguous(), v.contiguous()
        st = [x.contiguous() for x in st]
        m0, u0, w0 = st if ctx.has_state else (None, None, None)
        go, gm, gu, gw = (x.contiguous() for x in (go, gm, gu, gw))
        ds, dv = torch.empty_like(s), torch.empty_like(v)
        dm0, du0, dw0 = (torch.empty_like(x) for x in st) if ctx.has_state else (None, None, None)
        N, H, Dv = mT.shape[0], s.shape[-1], v.shape[-1]
        library().mr_aaren_bwd(
            int(s.dtype == torch.float64),
            _ptrs(s, v, o, m_all, u_all, m0, u0, w0, go, gm, gu, gw, mT, uT, wT, ds, dv, dm0, du0, dw0),
            int(ctx.has_state),
            cu.data_ptr(),
            N,
            H,
            Dv,
            _threads(v.numel()),
        )
        return None, None, ds, dv, dm0, du0, dw0


def aaren(scores: torch.Tensor, values: torch.Tensor, state, cu_seqlens: torch.Tensor | None = None):
    """Fused CPU Aaren: scores (B, T, H), values (B, T, H, Dv), state None or (m, u, w)."""
    B, T, _ = scores.shape
    cu = _offsets(B, T, cu_seqlens)
    if cu_seqlens is not None or B > 1:
        s, v = scores.reshape(1, B * T, -1), values.reshape(1, B * T, *values.shape[2:])
    else:
        s, v = scores, values
    m0, u0, w0 = state if state is not None else (None, None, None)
    o, m, u, w = _AarenFn.apply(cu, state is not None, s, v, m0, u0, w0)
    return o.view(values.shape), (m, u, w)


def kernels_only(op: str, inputs: list[torch.Tensor], h0: torch.Tensor, grad_h: torch.Tensor):
    """For benchmarks: a callable running the forward and backward kernels of ``op`` into buffers allocated
    once here, so its time leaves out allocation (first-touch page faults) and autograd.
    inputs: (B, T, D) each (contiguous or projection chunks); h0: (B, D); grad_h: (B, T, D). The results
    of the last call are in ``run.buffers`` (h, grads, grad_h0)."""
    kernel = _KERNELS[op]
    xs = [rows_view(x.detach()) for x in inputs]
    h0, grad_h = h0.detach().contiguous(), grad_h.detach().contiguous()
    B, T, D = xs[0].shape
    cu = _offsets(B, T, None)
    h = torch.empty(B, T, D, dtype=xs[0].dtype)
    h_last, grad_last, grad_h0 = torch.empty_like(h0), torch.zeros_like(h0), torch.empty_like(h0)
    grads = [torch.empty_like(h) for _ in xs]

    def run() -> None:
        _run_fwd(kernel, xs, h0, h, h_last, cu)
        _run_bwd(kernel, xs, h, h0, grad_h, grad_last, grads, grad_h0, cu)

    run.buffers = {"h": h, "grads": grads, "grad_h0": grad_h0}  # type: ignore[attr-defined]
    return run
