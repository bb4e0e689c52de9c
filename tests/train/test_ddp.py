import os
import subprocess
import sys
from pathlib import Path

import pytest

from minrnn.tasks import lm
from minrnn.train import read_metrics


def test_torchrun_two_cpu_processes_match_single(tmp_path, text_file, tiny):
    args = ["--data", str(text_file), "--steps", "4", "--eval-every", "2", "--device", "cpu", *tiny]
    assert lm.main([*args, "--out", str(tmp_path / "single")]) == 0
    env = {**os.environ, "PYTHONPATH": str(Path(lm.__file__).parents[2]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "minrnn", "train", "lm", *args, "--out", str(tmp_path / "ddp")]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    single, ddp = read_metrics(tmp_path / "single"), read_metrics(tmp_path / "ddp")
    assert [r["step"] for r in ddp] == [r["step"] for r in single]
    for a, b in zip(single, ddp):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4, abs=1e-5)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-4, abs=1e-5)
