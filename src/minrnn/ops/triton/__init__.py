"""Backend ``triton``: GPU kernels for linear_scan, min_gru, min_lstm and aaren (forward and backward,
chunked scans, packed variable-length batches, float16/bfloat16 read natively).

Importing this package needs ``triton`` (``pip install minrnn[triton]``); the registry skips it when the
import fails. Registered with priority 20 for CUDA tensors. With ``TRITON_INTERPRET=1`` set before the import,
the kernels run in Triton's CPU interpreter and the backend also accepts CPU tensors (for testing; slow).
"""

from __future__ import annotations

import torch

try:
    import triton  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("the 'triton' backend needs the triton package: pip install 'minrnn[triton]'") from e

from minrnn.ops.registry import register
from minrnn.ops.triton.ops import aaren, gated, interpreting

_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def supports(*tensors: torch.Tensor | None) -> bool:
    """CUDA tensors (CPU tensors too under the interpreter) of a supported float dtype."""
    ts = [t for t in tensors if t is not None]
    if interpreting():
        # the interpreter converts bfloat16 only to and from float32 (others reinterpret the bits): bfloat16
        # with float64 then goes in as float64 copies (``registry.select``); compiled kernels convert properly
        dtypes = {t.dtype for t in ts}
        if torch.bfloat16 in dtypes and torch.float64 in dtypes:
            return False
    dev_ok = ("cuda", "cpu") if interpreting() else ("cuda",)
    return all(t.device.type in dev_ok and t.dtype in _DTYPES for t in ts)


for _op in ("linear_scan", "min_gru", "min_lstm"):
    register(_op, "triton", gated(_op), priority=20, supports=supports, varlen=True, native_half=True,
             transforms=False)
register("aaren", "triton", aaren, priority=20, supports=supports, varlen=True, native_half=True, transforms=False)

__all__ = ["aaren", "gated", "interpreting", "supports"]
