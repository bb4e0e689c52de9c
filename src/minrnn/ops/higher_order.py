"""Second and higher derivatives through the fused kernels, and torch.func transforms.

The fused CPU and Triton kernels compute first derivatives only. When autograd records a graph of the
backward itself (``create_graph=True``: gradient penalties, Hessian-vector products, MAML), their backward
calls :func:`recompute_grads` instead: it recomputes the op from the saved inputs with the ``chunked``
backend, whose autograd (:mod:`minrnn.ops.linear_scan.autograd`) is differentiable to any order, and
differentiates that. Same values, a graph autograd can differentiate again; it costs the ``chunked`` backend's
time, and is only taken when such a graph is asked for.

torch.func transforms (``grad``, ``vmap``, ``jacrev``, ...) wrap tensors in a way the kernels cannot read
(no data pointer), and forward-mode dual tensors need a ``jvp`` the kernels do not have: :func:`transformed`
tells the registry to skip backends registered with ``transforms=False`` there (``backend="auto"`` then takes
``chunked``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.autograd.forward_ad as forward_ad


def transformed(*tensors: torch.Tensor | None) -> bool:
    """True when any tensor is wrapped by a torch.func transform (grad, vmap, jvp, ...) or carries a
    forward-mode tangent (``torch.autograd.forward_ad`` dual tensors: the kernels have no jvp). False while
    torch.compile traces (dynamo cannot trace the check: it would break the graph there)."""
    if torch.compiler.is_compiling():
        return False
    return any(t is not None and (torch._C._functorch.is_functorch_wrapped_tensor(t)
                                  or forward_ad.unpack_dual(t).tangent is not None) for t in tensors)


def _composite(op: str):
    from minrnn.ops.registry import resolve

    return resolve(op, "chunked").fn


def _slots(tensors: Sequence[torch.Tensor | None]) -> list[torch.Tensor | None]:
    """A distinct view of each tensor, one per argument slot: the same tensor passed as two inputs (e.g.
    ``linear_scan(a, a)``) must get each slot's gradient, not their sum twice."""
    return [None if t is None else t.view_as(t) for t in tensors]


def _grads(outputs: Sequence[torch.Tensor], grad_outputs: Sequence[torch.Tensor | None],
           inputs: Sequence[torch.Tensor | None], needs: Sequence[bool]) -> list[torch.Tensor | None]:
    """d(sum <outputs, grad_outputs>)/d(inputs) with create_graph=True; None where not needed."""
    wrt = [x for x, n in zip(inputs, needs) if n and x is not None]
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if g is not None and o.requires_grad]
    if not wrt or not pairs:
        return [None] * len(inputs)
    got = iter(torch.autograd.grad([o for o, _ in pairs], wrt, [g for _, g in pairs], create_graph=True,
                                   allow_unused=True))
    return [next(got) if n and x is not None else None for x, n in zip(inputs, needs)]


def gated_grads(op: str, inputs: Sequence[torch.Tensor], h0: torch.Tensor, offs: list[int] | None,
                grad_h: torch.Tensor, grad_last: torch.Tensor, needs: Sequence[bool]) -> list[torch.Tensor | None]:
    """Differentiable gradients of a gated op (linear_scan, min_gru, min_lstm) w.r.t. (*inputs, h0).

    inputs: (B, T, D) each as the kernel got them (any float dtype); h0: (B, D) or (N, D), the accumulation
    dtype; offs: N + 1 packed-sequence offsets for inputs (1, total_T, D), or None; needs: which of
    (*inputs, h0) need a gradient."""
    from minrnn.ops.varlen import run_per_sequence

    fn = _composite(op)
    with torch.enable_grad():
        ins = _slots((*inputs, h0))
        xs, h0 = [x.to(h0.dtype) for x in ins[:-1]], ins[-1]
        h, h_last = fn(*xs, h0) if offs is None else run_per_sequence(fn, tuple(xs), h0, offs)
        return _grads((h.to(grad_h.dtype), h_last), (grad_h, grad_last), ins, needs)


def aaren_grads(scores: torch.Tensor, values: torch.Tensor, state, offs: list[int] | None,
                grad_outputs: Sequence[torch.Tensor], needs: Sequence[bool]) -> list[torch.Tensor | None]:
    """Differentiable gradients of ``aaren`` w.r.t. (scores, values, m0, u0, w0); ``state`` None or (m0, u0,
    w0) in the accumulation dtype ``grad_outputs[1].dtype``; grad_outputs: of (out, m, u, w)."""
    from minrnn.ops.varlen import aaren_per_sequence

    fn, acc = _composite("aaren"), grad_outputs[1].dtype
    with torch.enable_grad():
        ins = _slots((scores, values, *(state or (None, None, None))))
        s, v, st = ins[0].to(acc), ins[1].to(acc), (None if state is None else tuple(ins[2:]))
        out, (m, u, w) = fn(s, v, st) if offs is None else aaren_per_sequence(fn, s, v, st, offs)
        return _grads((out.to(grad_outputs[0].dtype), m, u, w), grad_outputs, ins, needs)
