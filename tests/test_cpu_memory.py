"""minrnn.cpu_memory: glibc malloc settings that keep freed memory (each applying test runs in a subprocess, so
the test process keeps its own allocator settings)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from minrnn import cpu_memory
from minrnn.cli import main as cli_main

SRC = str(Path(__file__).resolve().parents[1] / "src")
glibc_only = pytest.mark.skipif(cpu_memory._mallopt() is None, reason="needs glibc (Linux) for mallopt")

# Allocates, fills and frees a 64 MiB tensor 12 times (with a small tensor allocated in between and freed in the
# next round, as in a training step) and counts the page faults of the last 4 rounds (the heap settles after a
# few rounds: see the module doc).
FAULTS = """
import resource, sys, torch
from minrnn import cpu_memory
mode = cpu_memory.configure(sys.argv[1])
small = None
for i in range(12):
    if i == 8:
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x = torch.empty(16 * 2**20).fill_(float(i))
    small = torch.empty(10)
    del x
print(mode, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def _faults(mode: str) -> tuple[str, int]:
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1")
    env.pop("MINRNN_CPU_MALLOC", None)
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], int(out[1])


@glibc_only
def test_keep_reuses_freed_pages_default_faults_them_in_again():
    mode, kept = _faults("keep")
    assert mode == "keep"
    assert kept < 512, kept  # 4 x 64 MiB are 65536 pages of 4 KiB: with the memory kept, (almost) none fault
    mode, fresh = _faults("default")
    assert mode == "default"
    assert fresh > 16384, fresh


def test_configure_reads_the_environment_and_names_it_in_errors(monkeypatch):
    monkeypatch.setenv("MINRNN_CPU_MALLOC", "sometimes")
    with pytest.raises(ValueError, match="MINRNN_CPU_MALLOC must be one of keep, default, got 'sometimes'"):
        cpu_memory.configure()
    with pytest.raises(ValueError, match="mode must be one of keep, default"):
        cpu_memory.configure("fast")
    monkeypatch.setenv("MINRNN_CPU_MALLOC", "default")
    assert cpu_memory.configure() in ("default", "keep (set earlier in this process)")
    monkeypatch.delenv("MINRNN_CPU_MALLOC")
    assert cpu_memory.configure() in ("default", "keep (set earlier in this process)")


@pytest.mark.parametrize("bad", [0, -5, 2**31, 1.5, "1G"])
def test_keep_freed_memory_rejects_bad_thresholds(bad):
    with pytest.raises(ValueError, match="threshold_bytes must be an int"):
        cpu_memory.keep_freed_memory(bad)


def test_cli_reports_a_bad_setting_before_running_anything(monkeypatch, capsys):
    monkeypatch.setenv("MINRNN_CPU_MALLOC", "yes")
    assert cli_main(["train", "lm", "--help"]) == 2
    assert "MINRNN_CPU_MALLOC must be one of keep, default" in capsys.readouterr().err


@glibc_only
@glibc_only
@pytest.mark.parametrize("setting, expected", [(None, "default"), ("keep", "keep"), ("default", "default")])
def test_cli_applies_the_setting_for_training_commands(setting, expected):
    code = ("import contextlib, sys; from minrnn import cli, cpu_memory\n"
            "with contextlib.suppress(SystemExit): cli.main(['train', 'lm', '--help'])\n"
            "print(cpu_memory.current_mode(), file=sys.stderr)")
    env = dict(os.environ, PYTHONPATH=SRC)
    env.pop("MINRNN_CPU_MALLOC", None)
    if setting:
        env["MINRNN_CPU_MALLOC"] = setting
    err = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stderr
    assert err.strip().splitlines()[-1] == expected


def test_keep_falls_back_to_the_old_glibc_cap(monkeypatch):
    """Some older glibc versions refuse an mmap threshold above 32 MiB: keep then applies 32 MiB."""
    calls = []

    def fake_mallopt(param, value):
        calls.append((param, value))
        return 0 if value > 32 << 20 else 1

    monkeypatch.setattr(cpu_memory, "_applied", {})
    monkeypatch.setattr(cpu_memory, "_mallopt", lambda: fake_mallopt)
    assert cpu_memory.keep_freed_memory() is True and cpu_memory.current_mode() == "keep"
    assert calls[-2:] == [(-3, 32 << 20), (-1, 32 << 20)]
    monkeypatch.setattr(cpu_memory, "_applied", {})
    monkeypatch.setattr(cpu_memory, "_mallopt", lambda: (lambda p, v: 0))
    assert cpu_memory.configure("keep") == "default (glibc refused the setting)"
