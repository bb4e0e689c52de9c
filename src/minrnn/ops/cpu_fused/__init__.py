"""Backend ``cpu_fused``: one C++ pass per direction for linear_scan, min_gru, min_lstm and aaren.

The kernels (``kernels.cpp``) parallelise over (sequence, channel block) with OpenMP, walk time sequentially
and vectorise over contiguous channels; minGRU/minLSTM read the raw logits and apply the gate activations
inside the forward and backward passes. Variable-length packed batches run natively (``cu_seqlens``).
The readable references are ``minrnn.ops.linear_scan.reference`` and ``minrnn.ops.aaren.reference``.

Registered with priority 10 for CPU float32/float64 inputs; the library is built on first use (cached).
When it cannot be built the backend declares no support, so ``auto`` picks ``chunked`` (one warning).
"""

from __future__ import annotations

import torch

from minrnn.ops.cpu_fused.build import build_info, library
from minrnn.ops.cpu_fused.ops import aaren, gated
from minrnn.ops.registry import explain_unavailable, register

_DTYPES = (torch.float32, torch.float64)


def supports(*tensors: torch.Tensor | None) -> bool:
    """CPU tensors of one dtype, float32 or float64, and a library that built."""
    ts = [t for t in tensors if t is not None]
    if not all(t.device.type == "cpu" and t.dtype in _DTYPES and t.dtype == ts[0].dtype for t in ts):
        return False
    return library() is not None


def _why_unavailable() -> str:
    if library() is not None:
        return ""
    error = " ".join(str(build_info()["error"]).split())
    return f"the fused CPU kernels are unavailable: {error[:400]}{' ...' if len(error) > 400 else ''}"


for _op in ("linear_scan", "min_gru", "min_lstm"):
    register(_op, "cpu_fused", gated(_op), priority=10, supports=supports, varlen=True, transforms=False)
register("aaren", "cpu_fused", aaren, priority=10, supports=supports, varlen=True, transforms=False)
explain_unavailable("cpu_fused", _why_unavailable)

__all__ = ["aaren", "build_info", "gated", "library", "supports"]
