"""Build (once, cached) and load the fused CPU kernels in ``kernels.cpp``.

The C++ file has a plain C ABI and includes no torch headers, so it compiles in a few seconds with any C++17
compiler (``$CXX``, else ``c++``/``g++``/``clang++``) and does not depend on the torch version. The shared
library is cached under ``$MINRNN_CACHE_DIR`` (default ``~/.cache/minrnn``) in a folder keyed by the sources
(``kernels.cpp`` and the ``*.h`` it includes), compiler, flags and CPU, so a process builds it at most once and
later processes just load it.

If there is no compiler or the build fails, :func:`library` returns None, a warning is issued once per
process, and ``backend="auto"`` falls back to the pure-PyTorch ``chunked`` backend. Set
``MINRNN_DISABLE_CPU_FUSED=1`` to skip the fused kernels altogether.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from pathlib import Path

_SOURCE = Path(__file__).with_name("kernels.cpp")
_BASE_FLAGS = ["-O3", "-std=c++17", "-shared", "-fPIC", "-fno-math-errno"]
_lock = threading.Lock()
_state: dict = {"tried": False, "lib": None, "error": None, "build_seconds": None, "path": None}


def cache_dir() -> Path:
    """Root of the build cache (``$MINRNN_CACHE_DIR`` or ``~/.cache/minrnn``)."""
    return Path(os.environ.get("MINRNN_CACHE_DIR") or Path.home() / ".cache" / "minrnn")


def _compiler() -> str | None:
    cxx = os.environ.get("CXX")
    if cxx:
        return cxx
    for name in ("c++", "g++", "clang++"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _cpu_id() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        return next((ln for ln in text.splitlines() if ln.startswith("flags")), "") + platform.machine()
    except OSError:
        return platform.machine() + platform.processor()


def _sources_bytes() -> bytes:
    """kernels.cpp and the headers beside it (parallel.h, gate_math.h, aaren.h), for the cache key."""
    files = [_SOURCE, *sorted(_SOURCE.parent.glob("*.h"))]
    return b"".join(f.name.encode() + b"\0" + f.read_bytes() for f in files)


def _compile(cxx: str, out: Path) -> None:
    """Compile to ``out``, trying the fast flag set first (native ISA, OpenMP), then plainer ones."""
    attempts = [["-march=native", "-fopenmp"], ["-fopenmp"], []]
    errors = []
    for extra in attempts:
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=out.parent)
        os.close(fd)
        cmd = [cxx, *_BASE_FLAGS, *extra, str(_SOURCE), "-o", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode == 0:
            os.replace(tmp, out)  # atomic: concurrent builders never see a half-written library
            return
        os.unlink(tmp)
        errors.append(f"{' '.join(cmd)}\n{proc.stderr[-2000:]}")
    raise RuntimeError("compiling the fused CPU kernels failed:\n" + "\n".join(errors))


def library() -> ctypes.CDLL | None:
    """The loaded kernel library, building it on first use; None when it cannot be built."""
    if _state["tried"]:
        return _state["lib"]
    with _lock:
        if _state["tried"]:
            return _state["lib"]
        try:
            if os.environ.get("MINRNN_DISABLE_CPU_FUSED") == "1":
                raise RuntimeError("disabled by MINRNN_DISABLE_CPU_FUSED=1")
            cxx = _compiler()
            if cxx is None:
                raise RuntimeError("no C++ compiler found (set CXX or install g++/clang++)")
            key = hashlib.sha256(
                _sources_bytes() + cxx.encode() + " ".join(_BASE_FLAGS).encode() + _cpu_id().encode()
            ).hexdigest()[:16]
            folder = cache_dir() / "cpu_fused" / key
            path = folder / "libminrnn_cpu_fused.so"
            if not path.exists():
                folder.mkdir(parents=True, exist_ok=True)
                t0 = time.perf_counter()
                _compile(cxx, path)
                _state["build_seconds"] = time.perf_counter() - t0
            _state["lib"] = _declare(ctypes.CDLL(str(path)))
            _state["path"] = path
        except (OSError, RuntimeError) as e:
            _state["error"] = str(e)
            warnings.warn(
                f"minrnn: fused CPU kernels unavailable, using the pure-PyTorch 'chunked' backend "
                f"instead ({str(e).splitlines()[0]})",
                RuntimeWarning,
                stacklevel=3,
            )
        _state["tried"] = True
        return _state["lib"]


def build_info() -> dict:
    """Whether the library loaded, its path, the build time in this process (None if it came from the
    cache) and the error if it failed."""
    library()
    return {k: _state[k] for k in ("path", "build_seconds", "error")} | {
        "available": _state["lib"] is not None
    }


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    P, I64, INT = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
    PP = ctypes.POINTER(ctypes.c_void_p)
    for name in ("scan", "gru", "lstm"):
        getattr(lib, f"mr_{name}_fwd").argtypes = [INT, PP, P, P, P, P, P, I64, I64, INT]
        getattr(lib, f"mr_{name}_bwd").argtypes = [INT, PP, P, P, P, P, P, PP, I64, P, P, I64, I64, INT]
    for name in ("mr_aaren_fwd", "mr_aaren_bwd"):
        getattr(lib, name).argtypes = [INT, PP, INT, P, I64, I64, I64, INT]
    for fn in ("scan", "gru", "lstm", "aaren"):
        for d in ("fwd", "bwd"):
            getattr(lib, f"mr_{fn}_{d}").restype = None
    return lib
