"""Backend registry: the seam between the public ops and their implementations.

Every op (``linear_scan``, ``min_gru``, ``min_lstm``, ``aaren``) has named backends. A backend is a
function on already-validated float32/float64 tensors that returns what the op returns. Fused CPU and
Triton kernels register themselves here, so callers of :mod:`minrnn.functional` never change.

``backend="auto"`` picks the registered backend with the highest priority whose ``supports`` predicate
accepts the inputs (device, dtype, whether gradients are needed).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

from minrnn.ops.higher_order import transformed

OPS = ("linear_scan", "min_gru", "min_lstm", "aaren")

# Modules imported lazily the first time a backend is resolved; each registers its backends on import.
# Optional ones (kernels that need a compiler or triton) may fail to import: they are then skipped.
_BUILTIN_MODULES = (
    "minrnn.ops.linear_scan",
    "minrnn.ops.gated",
    "minrnn.ops.aaren",
)
_UNAVAILABLE: dict[str, str] = {}  # optional backend module -> why it did not load
#: backend name -> a callable saying why that backend cannot run at all here ("" when it can), e.g. why the
#: fused CPU kernels did not build; quoted when such a backend is asked for by name and refuses the inputs
_NOT_AVAILABLE: dict[str, Callable[[], str]] = {}
_OPTIONAL_MODULES = (
    "minrnn.ops.cpu_fused",
    "minrnn.ops.triton",
)


def _always(*tensors: torch.Tensor) -> bool:
    return True


@dataclass(frozen=True)
class Backend:
    """One implementation of one op.

    Attributes:
        op: which op it implements (one of :data:`OPS`).
        name: the name users pass as ``backend=``.
        fn: the implementation; same positional arguments and return value as the op.
        priority: higher wins under ``backend="auto"``.
        supports: predicate over the op's tensor arguments (None for absent ones).
        varlen: ``fn`` accepts the keyword ``cu_seqlens`` (packed variable-length batches); other backends
            are run once per sequence by :mod:`minrnn.functional`.
        native_half: ``fn`` takes float16/bfloat16 inputs as they are (accumulating in float32 inside)
            and returns outputs in the input dtype; other backends get float32 copies.
        transforms: ``fn`` works under torch.func transforms (grad, vmap, ...); compiled kernels, which read
            data pointers, do not, and ``auto`` skips them there.
    """

    op: str
    name: str
    fn: Callable
    priority: int = 0
    supports: Callable[..., bool] = _always
    varlen: bool = False
    native_half: bool = False
    transforms: bool = True


_REGISTRY: dict[str, dict[str, Backend]] = {op: {} for op in OPS}
_loaded = False


def register(op: str, name: str, fn: Callable, *, priority: int = 0,
             supports: Callable[..., bool] | None = None, varlen: bool = False,
             native_half: bool = False, transforms: bool = True) -> None:
    """Register ``fn`` as backend ``name`` of ``op`` (replacing one of the same name)."""
    if op not in _REGISTRY:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    _REGISTRY[op][name] = Backend(op, name, fn, priority, supports or _always, varlen, native_half, transforms)


def explain_unavailable(name: str, why: Callable[[], str]) -> None:
    """Register ``why() -> str``: why backend ``name`` cannot run at all here ("" when it can). The error for
    a backend asked for by name that refuses the inputs then quotes it (e.g. why a compiler build failed)."""
    _NOT_AVAILABLE[name] = why


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in _BUILTIN_MODULES:
        importlib.import_module(mod)
    for mod in _OPTIONAL_MODULES:
        try:
            importlib.import_module(mod)
        except ImportError as e:  # not installed: its backends are simply absent
            _UNAVAILABLE[mod] = f"{type(e).__name__}: {e}"
        except Exception as e:  # noqa: BLE001 - installed but broken (e.g. a triton/driver mismatch): say so once
            _UNAVAILABLE[mod] = f"{type(e).__name__}: {e}"
            warnings.warn(f"minrnn: {mod} failed to import, its backends are unavailable ({_UNAVAILABLE[mod]})",
                          RuntimeWarning, stacklevel=3)


def load_backends() -> None:
    """Import every backend module now (the registry otherwise does it on first use). The layers call it when
    they are built, so that torch.compile never traces the imports (it cannot: ``fullgraph=True`` failed)."""
    _load()


def backends(op: str) -> list[str]:
    """Names of the registered backends of ``op``, best first."""
    _load()
    return [b.name for b in sorted(_REGISTRY[op].values(), key=lambda b: -b.priority)]


def _candidates(op: str, name: str) -> list[Backend]:
    """The backends ``name`` may mean, best first: all of them for ``"auto"``, else the one named."""
    _load()
    table = _REGISTRY[op]
    if not isinstance(name, str):
        raise TypeError(f"backend must be a string, got {type(name).__name__}")
    if name == "auto":
        return sorted(table.values(), key=lambda b: -b.priority)
    if name not in table:
        why = "".join(f"; {mod} did not load ({err})" for mod, err in _UNAVAILABLE.items() if name in mod)
        raise ValueError(f"backend must be 'auto' or one of {sorted(table)} for {op}, got {name!r}{why}")
    return [table[name]]


def _unsupported(op: str, name: str, tensors) -> Exception:
    if name == "auto":
        return RuntimeError(f"no backend of {op} supports these inputs")
    if transformed(*tensors) and not _REGISTRY[op][name].transforms:
        return ValueError(f"backend {name!r} of {op} is a compiled kernel and cannot run under torch.func "
                          "transforms (grad, vmap, ...): use backend='auto' or 'chunked'")
    dev = next((t.device for t in tensors if t is not None), None)
    why = _NOT_AVAILABLE.get(name)
    why = f"; {why()}" if why is not None and why() else ""
    return ValueError(f"backend {name!r} of {op} does not support these inputs (device {dev}){why}")


def _usable(b: Backend, tensors, wrapped: bool) -> bool:
    """``wrapped``: :func:`transformed` of the op's tensors, checked once per call, not once per backend."""
    return (b.transforms or not wrapped) and b.supports(*tensors)


def resolve(op: str, name: str, *tensors: torch.Tensor | None) -> Backend:
    """Return the backend ``name`` of ``op``; ``"auto"`` picks the best one supporting ``tensors``."""
    wrapped = transformed(*tensors)
    for b in _candidates(op, name):
        if _usable(b, tensors, wrapped):
            return b
    raise _unsupported(op, name, tensors)


_HALF = (torch.float16, torch.bfloat16)


def select(op: str, name: str, raw: tuple, convert: Callable[[], tuple]) -> tuple[Backend, tuple]:
    """Pick a backend like :func:`resolve` and the tensors to call it with.

    ``raw`` are the op's tensor arguments as the user gave them; ``convert()`` returns them in the
    accumulation dtype (float32 for float16/bfloat16). A backend registered with ``native_half=True`` that
    supports the raw tensors gets them unconverted (no extra pass over memory); every other backend gets the
    converted ones.
    """
    if not any(t is not None and t.dtype in _HALF for t in raw):
        # float32/float64 go in as they are, unless they are mixed: then all take the accumulation dtype
        args = raw if len({t.dtype for t in raw if t is not None}) == 1 else convert()
        return resolve(op, name, *args), args
    converted, wrapped = None, transformed(*raw)  # a dtype conversion keeps a tensor wrapped or dual
    for b in _candidates(op, name):
        if b.native_half and _usable(b, raw, wrapped):
            return b, raw
        if converted is None:
            converted = convert()
        if _usable(b, converted, wrapped):
            return b, converted
    raise _unsupported(op, name, raw)
