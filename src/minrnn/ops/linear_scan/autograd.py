"""Memory-lean autograd for any forward scan kernel.

The backward of h_t = a_t h_{t-1} + b_t is itself a linear scan, run in reverse:

    g_t   = dL/dh_t + a_{t+1} g_{t+1}      (g_{T-1} also receives dL/dh_last)
    dL/db_t = g_t,  dL/da_t = g_t * h_{t-1},  dL/dh0 = a_0 g_0

so any forward kernel ``kernel(a, b, h0) -> h`` gives a full op: only a, h and h0 are saved.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

ScanKernel = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def reverse_scan(kernel: ScanKernel, a: torch.Tensor, grad_h: torch.Tensor, grad_last: torch.Tensor) -> torch.Tensor:
    """g_t = grad_h_t + a_{t+1} g_{t+1}, with g_{T} := grad_last folded in through a_T := 1. Shapes (B, T, D)."""
    a_next = torch.cat([a[:, 1:], torch.ones_like(a[:, :1])], dim=1)
    g = kernel(a_next.flip(1), grad_h.flip(1), grad_last)
    return g.flip(1)


def _scan(kernel: ScanKernel, a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """h = kernel(a, b, h0) through the autograd function: with forward mode (``jvp``) in eager mode; without
    it while torch.compile traces (dynamo cannot trace an autograd function that defines ``jvp``)."""
    fn = _ScanFn if torch.compiler.is_compiling() else _ScanFnForwardAD
    return fn.apply(kernel, a, b, h0)


class _ScanFn(torch.autograd.Function):
    """h = kernel(a, b, h0) with the reverse-scan backward. The backward is made of differentiable ops (its
    reverse scan is this function again) when autograd records it (``create_graph=True``), so derivatives of
    any order work; torch.func's vmap gets a generated rule (the kernel must then be plain torch ops)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(kernel: ScanKernel, a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor):
        return kernel(a.contiguous(), b.contiguous(), h0.contiguous())

    @staticmethod
    def setup_context(ctx, inputs, output):
        kernel, a, _, h0 = inputs
        ctx.kernel = kernel
        ctx.save_for_backward(a, output, h0)
        ctx.save_for_forward(a, output, h0)

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor):
        a, h, h0 = ctx.saved_tensors
        kernel = ctx.kernel
        if torch.is_grad_enabled():  # a graph of this backward is being recorded: keep it differentiable
            kernel = functools.partial(_scan, ctx.kernel)
        g = reverse_scan(kernel, a, grad_h.contiguous(), torch.zeros_like(h0))
        h_prev = torch.cat([h0.unsqueeze(1), h[:, :-1]], dim=1)
        grad_a = g * h_prev
        grad_h0 = a[:, 0] * g[:, 0]
        return None, grad_a, g, grad_h0


class _ScanFnForwardAD(_ScanFn):
    """:class:`_ScanFn` with forward mode (torch.func.jvp / jacfwd / hessian, torch.autograd.forward_ad)."""

    @staticmethod
    def jvp(ctx, _kernel_tangent, a_tangent, b_tangent, h0_tangent):
        """The tangent of h is itself a linear scan: dh_t = a_t dh_{t-1} + (da_t h_{t-1} + db_t), from dh_0."""
        a, h, h0 = ctx.saved_tensors
        b_in = torch.zeros_like(h) if b_tangent is None else b_tangent
        if a_tangent is not None:
            b_in = b_in + a_tangent * torch.cat([h0.unsqueeze(1), h[:, :-1]], dim=1)
        dh0 = torch.zeros_like(h0) if h0_tangent is None else h0_tangent
        return _scan(ctx.kernel, a, b_in, dh0)


def scan_with_kernel(kernel: ScanKernel, a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``kernel`` with the reverse-scan backward; returns (h (B, T, D), h_last (B, D))."""
    h = _scan(kernel, a, b, h0)
    return h, h[:, -1]
