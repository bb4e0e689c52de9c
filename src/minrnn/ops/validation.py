"""Argument checks shared by the public ops: clear errors naming the argument and what was expected."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

_HALF = (torch.float16, torch.bfloat16)


def is_int(v) -> bool:
    """An int that is not a bool (``True`` is an ``int`` in Python)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    """A finite int or float that is not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def is_integral(v) -> bool:
    """An integer of any kind (Python or numpy) that is not a bool; for arguments converted with ``int()``."""
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def is_real(v) -> bool:
    """A finite real number of any kind (Python or numpy) that is not a bool; converted with ``float()``."""
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(float(v))


def check_tensor(name: str, x, ndim: int, shape_desc: str) -> torch.Tensor:
    """Check that ``x`` is a floating-point tensor of rank ``ndim``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape_desc}, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype, got {x.dtype}")
    if x.dim() != ndim:
        raise ValueError(f"{name} must have shape {shape_desc} ({ndim} dims), got shape {tuple(x.shape)}")
    return x


def check_same_shape(name: str, x: torch.Tensor, ref_name: str, ref: torch.Tensor) -> None:
    if x.shape != ref.shape:
        raise ValueError(f"{name} must have the same shape as {ref_name} {tuple(ref.shape)}, "
                         f"got {tuple(x.shape)}")


def check_shape(name: str, x: torch.Tensor, shape: tuple[int, ...], shape_desc: str) -> None:
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {shape_desc} = {tuple(shape)}, got {tuple(x.shape)}")


def check_aaren_state(state, S: int, H: int, Dv: int, lead: str = "B") -> None:
    """``state`` must be a tuple (m (S, H), u (S, H), w (S, H, Dv)) of floating-point tensors (``lead`` names S
    in the messages: "B" or "N")."""
    if not isinstance(state, (tuple, list)) or len(state) != 3:
        raise TypeError("state must be None or a tuple (m, u, w) as returned by aaren")
    m0, u0, w0 = state
    check_tensor("state[0] (m)", m0, 2, f"({lead}, H)")
    check_tensor("state[1] (u)", u0, 2, f"({lead}, H)")
    check_tensor("state[2] (w)", w0, 3, f"({lead}, H, Dv)")
    check_shape("state[0] (m)", m0, (S, H), f"({lead}, H)")
    check_shape("state[1] (u)", u0, (S, H), f"({lead}, H)")
    check_shape("state[2] (w)", w0, (S, H, Dv), f"({lead}, H, Dv)")


def check_devices(**tensors: torch.Tensor | None) -> torch.device:
    """All given tensors must be on one device; returns it."""
    items = [(k, v) for k, v in tensors.items() if v is not None]
    dev = items[0][1].device
    for k, v in items[1:]:
        if v.device != dev:
            raise ValueError(f"{k} is on {v.device} but {items[0][0]} is on {dev}: all inputs must share "
                             "one device")
    return dev


def compute_dtype(*tensors: torch.Tensor | None) -> torch.dtype:
    """float64 if any input is float64, else float32 (half inputs accumulate in float32)."""
    if any(t is not None and t.dtype == torch.float64 for t in tensors):
        return torch.float64
    return torch.float32


def out_dtype(x: torch.Tensor) -> torch.dtype:
    return x.dtype
