"""Keep freed CPU memory for reuse instead of handing it back to the operating system (glibc malloc).

Why: glibc serves allocations above its mmap threshold (dynamic, at most 32 MiB by default) with a fresh
``mmap`` and returns them with ``munmap`` when freed, and trims the top of the heap back to the OS. Every
training step then allocates its large activations and gradients anew, and the first write to each new page
is a page fault (on a VM, an expensive one). Measured on the 2-core EPYC VM of this project
(``minrnn bench ops --malloc keep``, then ``default``; B=16, T=4096, D=256, float32;
benchmarks/results/README.md): one elementwise multiply 23.4 ms -> 3.9 ms; ``min_gru`` forward + backward
106 ms -> 26.6 ms; a ``MinGRU`` layer forward + backward, projection included, 434 ms -> 337 ms.

:func:`keep_freed_memory` raises both thresholds (``mallopt(M_MMAP_THRESHOLD)`` and ``M_TRIM_THRESHOLD``), so
large blocks come from the heap and stay there once freed. The price is memory: the process keeps its peak,
and because torch allocates with ``posix_memalign``, a freed block is not always reused for the next one of
the same size, so the heap grows by a few blocks before it settles (a loop allocating 64 MiB per step settled
at 5 extra blocks, +320 MiB). A loop that also keeps a small tensor alive from every step (say, a list of
losses as tensors) pins the freed blocks apart and grows the heap by one large block per step; glibc already
does the same by default for blocks up to 32 MiB (measured: +16 MiB per step with 16 MiB blocks), and "keep"
extends it to every size. Typical CPU-scale training, whose tensors stay under glibc's 32 MiB limit, gains
little; long sequences and wide layers gain the most.

It changes the whole process, so it is opt-in: call :func:`keep_freed_memory`, or set
``MINRNN_CPU_MALLOC=keep`` for the ``minrnn`` command (train, eval, generate, reproduce, demo);
``minrnn bench ops --malloc keep`` measures it. Where the C library is not glibc (macOS, musl, Windows) it
does nothing and returns False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

ENV_VAR = "MINRNN_CPU_MALLOC"
MODES = ("keep", "default")

_M_TRIM_THRESHOLD = -1  # from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
DEFAULT_THRESHOLD = 1 << 30  # blocks up to 1 GiB come from the heap
_OLD_GLIBC_CAP = 32 << 20
_applied: dict[str, int] = {}


def _mallopt():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    fn = getattr(libc, "mallopt", None)
    if fn is None or not hasattr(libc, "gnu_get_libc_version"):  # musl has mallopt as a no-op stub
        return None
    fn.argtypes, fn.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return fn


def keep_freed_memory(threshold_bytes: int = DEFAULT_THRESHOLD) -> bool:
    """Serve allocations up to ``threshold_bytes`` from the heap and never trim it (glibc only).

    Returns True when both settings were applied, False where the C library is not glibc. Idempotent.
    """
    if not isinstance(threshold_bytes, int) or not 0 < threshold_bytes < 2**31:
        raise ValueError(f"threshold_bytes must be an int in (0, 2**31), got {threshold_bytes!r}")
    if _applied.get("asked") == threshold_bytes:
        return "threshold" in _applied
    mallopt = _mallopt()
    if mallopt is None:
        return False
    _applied.clear()
    # some older glibc versions cap the mmap threshold at 32 MiB on 64-bit (HEAP_MAX_SIZE / 2): fall back to it
    for value in dict.fromkeys((threshold_bytes, min(threshold_bytes, _OLD_GLIBC_CAP))):
        if mallopt(_M_MMAP_THRESHOLD, value) == 1 and mallopt(_M_TRIM_THRESHOLD, value) == 1:
            _applied.update(asked=threshold_bytes, threshold=value)
            return True
    return False


def current_mode() -> str:
    """``"keep"`` when :func:`keep_freed_memory` was applied in this process, else ``"default"``."""
    return "keep" if "threshold" in _applied else "default"


def configure(mode: str | None = None) -> str:
    """Apply ``mode`` (``"keep"`` or ``"default"``; None reads ``$MINRNN_CPU_MALLOC``, default ``"default"``).

    Returns what is in effect: ``"keep"``, ``"default"``, ``"default (not glibc)"``, or, for ``"default"`` after
    ``"keep"`` was applied, ``"keep (set earlier in this process)"`` (glibc cannot go back to its dynamic
    threshold).
    """
    source = "mode"
    if mode is None:
        mode, source = os.environ.get(ENV_VAR, "default").strip().lower() or "default", ENV_VAR
    if mode not in MODES:
        raise ValueError(f"{source} must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "default":
        return "keep (set earlier in this process)" if "threshold" in _applied else "default"
    if keep_freed_memory():
        return "keep"
    return "default (glibc refused the setting)" if _mallopt() is not None else "default (not glibc)"
