"""Building and loading the fused CPU kernels when things go wrong: each case runs in a fresh process with its
own cache folder (the build state is per process)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
CXX = shutil.which("c++") or shutil.which("g++")
needs_cxx = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")

PROBE = textwrap.dedent("""
    import contextlib, json, sys, warnings, torch
    import minrnn.functional as F
    from minrnn.ops import cpu_fused, registry
    caught, record = [], not sys.warnoptions  # with -W error, keep the interpreter's filters
    with (warnings.catch_warnings(record=True) if record else contextlib.nullcontext([])) as w:
        if record:
            warnings.simplefilter("always")
        for _ in range(2):
            try:
                F.min_gru(torch.randn(1, 4, 3), torch.randn(1, 4, 3))
            except RuntimeWarning as e:  # only under -W error
                caught.append(str(e))
        name = registry.resolve("min_gru", "auto", torch.randn(1, 2, 3), torch.randn(1, 2, 3), None).name
    info = cpu_fused.build_info()
    print(json.dumps({"backend": name, "warnings": [str(m.message) for m in w], "raised": caught,
                      "path": str(info["path"]), "error": info["error"]}))
""")


def _probe(tmp_path, *python_args, **env):
    import json

    full = dict(os.environ, PYTHONPATH=SRC, MINRNN_CACHE_DIR=str(tmp_path / "cache"), **env)
    full.pop("MINRNN_DISABLE_CPU_FUSED", None) if "MINRNN_DISABLE_CPU_FUSED" not in env else None
    out = subprocess.run([sys.executable, *python_args, "-c", PROBE], capture_output=True, text=True, env=full,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_cxx
def test_cxx_may_carry_arguments_and_the_library_is_readable_by_others(tmp_path):
    r = _probe(tmp_path, CXX=f"{CXX} -DMINRNN_TEST_FLAG=1")
    assert r["backend"] == "cpu_fused" and not r["warnings"], r
    mode = stat.S_IMODE(os.stat(r["path"]).st_mode)
    assert mode & 0o044 == 0o044 or os.umask(0o022) & 0o044, oct(mode)  # group/other may read (umask allowing)
    assert not list((tmp_path / "cache").rglob("tmp*.so"))


@needs_cxx
def test_a_library_that_builds_but_cannot_load_falls_through_to_plainer_flags(tmp_path):
    """With -fopenmp the wrapper links a library it deletes again: the result cannot load, is not cached, and
    the build moves on to a flag set without OpenMP."""
    wrapper = tmp_path / "cxx.sh"
    wrapper.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        case "$*" in *-fopenmp*)
            d=$(mktemp -d); echo 'int f(void){{return 0;}}' > "$d/f.c"
            {CXX} -shared -fPIC "$d/f.c" -o "$d/libgone.so" && {CXX} "$@" -L"$d" -Wl,--no-as-needed -lgone
            rc=$?; rm -rf "$d"; exit $rc ;;
        esac
        exec {CXX} "$@"
        """))
    wrapper.chmod(0o755)
    r = _probe(tmp_path, CXX=str(wrapper))
    assert r["backend"] == "cpu_fused" and not r["warnings"], r
    r2 = _probe(tmp_path, CXX=str(wrapper))  # the next process loads the cached (working) library
    assert r2["backend"] == "cpu_fused" and r2["path"] == r["path"]


def test_under_warnings_as_errors_a_failed_build_is_not_retried(tmp_path):
    r = _probe(tmp_path, "-W", "error::RuntimeWarning", CXX="/nonexistent/c++")
    assert r["backend"] == "chunked" and len(r["raised"]) == 1, r  # one warning, then the fallback quietly
    assert "no C++ compiler" not in r["raised"][0] and "/nonexistent/c++" in r["raised"][0]
    assert not list((tmp_path / "cache").rglob("tmp*.so"))


def test_disabling_the_backend_is_silent(tmp_path):
    r = _probe(tmp_path, MINRNN_DISABLE_CPU_FUSED="1")
    assert r["backend"] == "chunked" and not r["warnings"] and "disabled" in r["error"], r
