"""Memory layout helpers shared by the fused kernels.

The kernels address row t (a global time index over the flattened batch or the packed sequences) of an
input at ``base + t * row_stride`` with unit stride over channels. That covers contiguous (B, T, D) tensors
and, with no copy, the chunks of one projection's output (``proj(x).chunk(k, dim=-1)``), whose rows are
k * D apart.
"""

from __future__ import annotations

import torch

from minrnn.ops.higher_order import transformed


def rows_view(x: torch.Tensor) -> torch.Tensor:
    """``x`` (B, T, D) itself when its rows are evenly spaced with unit channel stride, else a contiguous
    copy."""
    B, T, _ = x.shape
    if x.stride(2) == 1 and (B == 1 or x.stride(0) == T * x.stride(1)):
        return x
    return x.contiguous()


def row_stride(x: torch.Tensor) -> int:
    """Distance between consecutive rows of a tensor accepted by :func:`rows_view`."""
    B, T, _ = x.shape
    return x.stride(1) if T > 1 or B == 1 else x.stride(0)


def are_adjacent_chunks(xs: list[torch.Tensor]) -> bool:
    """Whether ``xs`` (each (B, T, D)) are the consecutive last-dim chunks of one contiguous (B, T, n * D)
    tensor, i.e. ``src.chunk(n, dim=-1)``."""
    B, T, D = xs[0].shape
    n, esize = len(xs), xs[0].element_size()
    for i, x in enumerate(xs):
        if (x.shape != xs[0].shape or x.dtype != xs[0].dtype or x.stride(2) != 1
                or (T > 1 and x.stride(1) != n * D) or (B > 1 and x.stride(0) != T * n * D)
                or x.data_ptr() != xs[0].data_ptr() + i * D * esize):
            return False
    return True


def gradient_buffers(xs: list[torch.Tensor]) -> list[torch.Tensor]:
    """Uninitialised tensors for the gradients of the (B, T, D) inputs ``xs`` of a kernel: the chunks of one
    (B, T, n * D) buffer when ``xs`` are such chunks of one projection (so :func:`chunk_last_dim`'s backward can
    hand the buffer on without concatenating), else one tensor per input."""
    if len(xs) > 1 and are_adjacent_chunks(xs):
        B, T, D = xs[0].shape
        return list(xs[0].new_empty(B, T, len(xs) * D).chunk(len(xs), dim=-1))
    return [torch.empty(x.shape, dtype=x.dtype, device=x.device) for x in xs]


class _ChunkLastDim(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, n: int):
        ctx.shape = x.shape
        return tuple(x.chunk(n, dim=-1))

    @staticmethod
    def backward(ctx, *grads: torch.Tensor | None):
        # the buffer the chunks came from, when they are its adjacent chunks; not while autograd records this
        # backward (second derivatives: the concatenation is differentiable)
        if (not torch.is_grad_enabled()
                and all(g is not None and g.dim() == 3 for g in grads)
                and grads[0].shape[-1] * len(grads) == ctx.shape[-1]):
            src = grads[0]._base
            if (src is not None and src.shape == ctx.shape and src.is_contiguous()
                    and src.data_ptr() == grads[0].data_ptr() and are_adjacent_chunks(list(grads))):
                return src, None
        ref = next(g for g in grads if g is not None)
        return torch.cat([g if g is not None else torch.zeros_like(ref) for g in grads], dim=-1), None


def chunk_last_dim(x: torch.Tensor, n: int) -> tuple[torch.Tensor, ...]:
    """``x.chunk(n, dim=-1)`` (views, no copy) whose backward skips the concatenation when the incoming
    gradients already are the adjacent chunks of one buffer, as the fused kernels write them for inputs
    that are such chunks (the minGRU/minLSTM layers' projections). ``x``: (..., n * D)."""
    if x.shape[-1] % n != 0:
        raise ValueError(f"x must have a last dimension divisible by n={n}, got shape {tuple(x.shape)}")
    # plain chunks under torch.func transforms and torch.compile (whose backward never takes the fast path)
    if not x.requires_grad or torch.compiler.is_compiling() or transformed(x):
        return tuple(x.chunk(n, dim=-1))
    return _ChunkLastDim.apply(x, n)
