"""Memory-lean autograd for any forward scan kernel.

The backward of h_t = a_t h_{t-1} + b_t is itself a linear scan, run in reverse:

    g_t   = dL/dh_t + a_{t+1} g_{t+1}      (g_{T-1} also receives dL/dh_last)
    dL/db_t = g_t,  dL/da_t = g_t * h_{t-1},  dL/dh0 = a_0 g_0

so any forward kernel ``kernel(a, b, h0) -> h`` gives a full op: only a, h and h0 are saved.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

ScanKernel = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def reverse_scan(kernel: ScanKernel, a: torch.Tensor, grad_h: torch.Tensor, grad_last: torch.Tensor) -> torch.Tensor:
    """g_t = grad_h_t + a_{t+1} g_{t+1}, with g_{T} := grad_last folded in through a_T := 1. Shapes (B, T, D)."""
    a_next = torch.cat([a[:, 1:], torch.ones_like(a[:, :1])], dim=1)
    g = kernel(a_next.flip(1), grad_h.flip(1), grad_last)
    return g.flip(1)


class _ScanFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, kernel: ScanKernel, a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor):
        h = kernel(a.contiguous(), b.contiguous(), h0.contiguous())
        ctx.kernel = kernel
        ctx.save_for_backward(a, h, h0)
        return h

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_h: torch.Tensor):
        a, h, h0 = ctx.saved_tensors
        grad_h = grad_h.contiguous()
        g = reverse_scan(ctx.kernel, a, grad_h, torch.zeros_like(h0))
        h_prev = torch.cat([h0.unsqueeze(1), h[:, :-1]], dim=1)
        grad_a = g * h_prev
        grad_h0 = a[:, 0] * g[:, 0]
        return None, grad_a, g, grad_h0


def scan_with_kernel(kernel: ScanKernel, a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``kernel`` with the reverse-scan backward; returns (h (B, T, D), h_last (B, D))."""
    h = _ScanFn.apply(kernel, a, b, h0)
    return h, h[:, -1]
