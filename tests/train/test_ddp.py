"""Data parallelism under torchrun (2 CPU processes, gloo): the same losses as one process, and an exact
stop + resume with dropout (each rank must get its own RNG state back).

All DDP runs share one torchrun launch (a small driver calls ``minrnn.cli.main`` once per run; the process
group is set up and torn down per run), since starting the processes costs more than these tiny runs. Each
run gets a fresh rendezvous store on its own port: a process group re-created in the same process on torchrun's
store would find the previous group's keys there (torch restarts its group numbering) and can hang.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from minrnn.tasks import lm
from minrnn.train import read_metrics

DRIVER = """
import json, os, sys
from minrnn.cli import main
os.environ["TORCHELASTIC_USE_AGENT_STORE"] = "False"  # rank 0 serves a fresh store for each run
for argv, port in zip(json.loads(sys.argv[1]), json.loads(sys.argv[2])):
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    rc = main(argv)
    if rc:
        sys.exit(rc)
"""


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _torchrun(tmp_path: Path, runs: list[list[str]]) -> subprocess.CompletedProcess:
    driver = tmp_path / "ddp_driver.py"
    driver.write_text(DRIVER)
    env = {**os.environ, "PYTHONPATH": str(Path(lm.__file__).parents[2]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(driver),
           json.dumps(runs), json.dumps(_free_ports(len(runs)))]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def _metrics(d):
    return [(r["step"], r["train_loss"], r["val_loss"]) for r in read_metrics(d)]


def test_torchrun_two_cpu_processes_match_single_and_resume_exactly(tmp_path, text_file, tiny):
    args = ["--data", str(text_file), "--steps", "4", "--eval-every", "2", "--device", "cpu", *tiny]
    assert lm.main([*args, "--out", str(tmp_path / "single")]) == 0
    drop = ["--data", str(text_file), "--steps", "6", "--eval-every", "2", "--device", "cpu", "--dropout", "0.2",
            *tiny]
    part = str(tmp_path / "part")
    res = _torchrun(tmp_path, [["train", "lm", *args, "--out", str(tmp_path / "ddp")],
                               ["train", "lm", *drop, "--out", str(tmp_path / "straight")],
                               ["train", "lm", *drop, "--out", part, "--stop-at", "3"],
                               ["train", "lm", "--out", part, "--resume", "--no-progress"]])
    single, ddp = read_metrics(tmp_path / "single"), read_metrics(tmp_path / "ddp")
    assert [r["step"] for r in ddp] == [r["step"] for r in single]
    for a, b in zip(single, ddp):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4, abs=1e-5)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-4, abs=1e-5)
    # stopped between records (step 3) and resumed: identical to the uninterrupted run, dropout masks included
    assert [r[0] for r in _metrics(tmp_path / "straight")] == [2, 4, 6]
    assert _metrics(part) == _metrics(tmp_path / "straight")
    # the progress lines come from rank 0 only: one per run
    assert res.stderr.count("lm: mingru") == 4, res.stderr[-3000:]
    assert sum(line.startswith("step ") for line in res.stdout.splitlines()) == 4, res.stdout[-3000:]
