"""Memory layout helpers shared by the fused kernels.

The kernels address row t (a global time index over the flattened batch or the packed sequences) of an
input at ``base + t * row_stride`` with unit stride over channels. That covers contiguous (B, T, D) tensors
and, with no copy, the chunks of one projection's output (``proj(x).chunk(k, dim=-1)``), whose rows are
k * D apart.
"""

from __future__ import annotations

import torch


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
