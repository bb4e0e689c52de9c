"""Build (once, cached) and load the fused CPU kernels in ``kernels.cpp``.

The C++ file has a plain C ABI and includes no torch headers, so it compiles in a few seconds with any C++17
compiler (``$CXX``, else ``c++``/``g++``/``clang++``) and does not depend on the torch version. The shared
library is cached under ``$MINRNN_CACHE_DIR`` (default ``~/.cache/minrnn``) in a folder keyed by the sources
(``kernels.cpp`` and the ``*.h`` it includes), compiler, flags and CPU, so a process builds it at most once and
later processes just load it.

If there is no compiler or the build fails, :func:`library` returns None, a warning is issued once per
process, and ``backend="auto"`` falls back to the pure-PyTorch ``chunked`` backend. Set
``MINRNN_DISABLE_CPU_FUSED=1`` to skip the fused kernels altogether (then without a warning). A cached
library another user built but this one cannot load is rebuilt in a private temporary folder.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from pathlib import Path

_SOURCE = Path(__file__).with_name("kernels.cpp")
# -ffp-contract=off: no multiply-add fused differently in the SIMD body and the tail of a loop, so results do
# not depend on where the thread split puts a channel (min_lstm's gradients differed between 1 and 2 threads)
_BASE_FLAGS = ["-O3", "-std=c++17", "-shared", "-fPIC", "-fno-math-errno", "-ffp-contract=off"]
_lock = threading.Lock()
_state: dict = {"tried": False, "lib": None, "error": None, "build_seconds": None, "path": None}


def cache_dir() -> Path:
    """Root of the build cache (``$MINRNN_CACHE_DIR`` or ``~/.cache/minrnn``)."""
    return Path(os.environ.get("MINRNN_CACHE_DIR") or Path.home() / ".cache" / "minrnn")


def _compiler() -> list[str] | None:
    """The compiler command: ``$CXX`` (may carry arguments, e.g. "ccache g++"), else c++/g++/clang++."""
    cxx = os.environ.get("CXX")
    if cxx:
        return shlex.split(cxx)
    for name in ("c++", "g++", "clang++"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


def _cpu_id() -> str:
    """What ``-march=native`` depends on: the CPU's feature list (x86 "flags", Arm "Features") and model."""
    try:
        keep = ("flags", "Features", "model name", "CPU part", "CPU implementer")
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return "\n".join(sorted({ln for ln in lines if ln.startswith(keep)})) + platform.machine()
    except OSError:
        return platform.machine() + platform.processor()


def _sources_bytes() -> bytes:
    """kernels.cpp and the headers beside it (parallel.h, gate_math.h, aaren.h), for the cache key."""
    files = [_SOURCE, *sorted(_SOURCE.parent.glob("*.h"))]
    return b"".join(f.name.encode() + b"\0" + f.read_bytes() for f in files)


_COMPILE_TIMEOUT_S = 300


def _compile(cxx: list[str], out: Path) -> ctypes.CDLL:
    """Build ``out`` and return it loaded, trying the fast flag set first (native ISA, OpenMP), then plainer
    ones. Each candidate is loaded before it is moved into the cache, so a library that builds but cannot
    load (e.g. an OpenMP runtime the loader cannot find) falls through to the next flag set instead of being
    cached; the move is atomic, so concurrent builders never see a half-written file."""
    attempts = [["-march=native", "-fopenmp"], ["-fopenmp"], ["-march=native"], []]
    errors = []
    umask = os.umask(0)
    os.umask(umask)
    for extra in attempts:
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=out.parent)
        os.close(fd)
        cmd = [*cxx, *_BASE_FLAGS, *extra, str(_SOURCE), "-o", tmp]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_COMPILE_TIMEOUT_S)
            if proc.returncode != 0:
                errors.append(f"{' '.join(cmd)}: {_last_line(proc.stderr)}")
                continue
            os.chmod(tmp, 0o755 & ~umask)  # mkstemp made it 0600: other users of a shared cache must read it
            lib = ctypes.CDLL(tmp)
            os.replace(tmp, out)
            return lib
        except (OSError, subprocess.TimeoutExpired) as e:
            errors.append(f"{' '.join(cmd)}: {type(e).__name__}: {e}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise RuntimeError("compiling the fused CPU kernels failed (" + " | ".join(errors) + ")")


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][-300:] if lines else "no output"


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
                _sources_bytes() + " ".join(cxx).encode() + " ".join(_BASE_FLAGS).encode() + _cpu_id().encode()
            ).hexdigest()[:16]
            folder = cache_dir() / "cpu_fused" / key
            path = folder / "libminrnn_cpu_fused.so"
            lib = None
            if path.exists():
                try:
                    lib = ctypes.CDLL(str(path))
                except OSError:  # unreadable (another user's cache) or broken: build a private copy
                    folder = Path(tempfile.mkdtemp(prefix="minrnn_cpu_fused_"))
                    path = folder / "libminrnn_cpu_fused.so"
            if lib is None:
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise RuntimeError(f"cannot create the build cache {folder} ({e}); set MINRNN_CACHE_DIR "
                                       "to a writable folder") from None
                t0 = time.perf_counter()
                lib = _compile(cxx, path)
                _state["build_seconds"] = time.perf_counter() - t0
            _state["lib"] = _declare(lib)
            _state["path"] = path
        except (OSError, RuntimeError) as e:
            _state["error"] = str(e)
        finally:
            _state["tried"] = True  # before warning: under -W error the warning must not cause a rebuild
        if _state["lib"] is None and os.environ.get("MINRNN_DISABLE_CPU_FUSED") != "1":
            warnings.warn(
                f"minrnn: fused CPU kernels unavailable, using the pure-PyTorch 'chunked' backend instead "
                f"({_state['error']})",
                RuntimeWarning,
                stacklevel=4,
            )
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
