"""``minrnn bench gpu`` on a CPU: our ops, the copy yardstick and the paper-step section run and write their
columns; the outside kernels and the launch sweep need CUDA and say so (timings are not asserted)."""

from __future__ import annotations

import csv

import pytest

from minrnn.bench import gpu


def _rows(path):
    return list(csv.DictReader(ln for ln in path.read_text().splitlines() if not ln.startswith("#")))


@pytest.fixture
def one_thread():
    """nn.GRU's per-step thread synchronisation makes it crawl on a busy machine; one thread keeps it steady."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_bench_gpu_on_cpu_writes_bandwidth_and_paper_ratios(tmp_path, capsys, one_thread):
    argv = ["--device", "cpu", "--shapes", "2x64x16", "--copy-mb", "4", "--repeats", "2", "--hidden", "16",
            "--step-shape", "2,4096", "--out", str(tmp_path)]
    assert gpu.main(argv) == 0
    (csv_file,) = tmp_path.glob("gpu_cpu_*.csv")
    rows = _rows(csv_file)
    by_case = {r["case"]: r for r in rows}
    assert float(by_case["device-to-device copy (read + write)"]["GBps"]) > 0
    for op in gpu.UNITS:
        for pas in ("fwd", "fwd+bwd"):
            r = by_case[f"{op} ours (auto) {pas}"]
            assert float(r["GBps"]) > 0 and float(r["pct_copy"]) > 0
    assert by_case["fla / accelerated-scan"]["note"] == "needs CUDA"
    assert float(by_case["aaren ours (auto), 4 heads fwd+bwd"]["GBps"]) > 0
    steps = {r["case"]: r for r in rows if r["section"] == "step"}
    assert set(steps) == {"mingru training step", "minlstm training step", "gru training step"}
    assert float(steps["mingru training step"]["paper_t4_ms"]) == 3.41
    assert float(steps["mingru training step"]["x_vs_paper_t4"]) > 0
    out = capsys.readouterr().out
    assert "sweep: skipped" in out and "wrote" in out
    assert "command: python -m minrnn.bench.gpu --device cpu" in next(tmp_path.glob("gpu_cpu_*.md")).read_text()


def test_peak_bandwidth_lookup():
    assert gpu.peak_bandwidth("NVIDIA H100 80GB HBM3") == 3.35e12
    assert gpu.peak_bandwidth("NVIDIA H100 PCIe") == 2.0e12
    assert gpu.peak_bandwidth("NVIDIA H200") == 4.8e12
    assert gpu.peak_bandwidth("Tesla T4") == 0.32e12
    assert gpu.peak_bandwidth("some new GPU") is None
    # whole model names only: "L4" is not "L40", "A100" is not "RTX A1000", "H200" is not "GH200"
    assert gpu.peak_bandwidth("NVIDIA L40") == 0.864e12
    assert gpu.peak_bandwidth("NVIDIA RTX A1000 6GB Laptop GPU") is None
    assert gpu.peak_bandwidth("NVIDIA GH200 480GB") is None
    assert gpu.peak_bandwidth("NVIDIA A100-SXM4-40GB") == 1.555e12


def test_bad_arguments_name_the_argument():
    with pytest.raises(SystemExit, match="--sections"):
        gpu.main(["--sections", "scan,nope"])
    with pytest.raises(SystemExit):
        gpu.build_parser().parse_args(["--shapes", "2x64"])


def test_outside_implementations_are_checked_timed_and_compared(monkeypatch):
    """The 'scan' section's handling of an outside kernel: its own layout (time-major here), the error check
    against ours, the ratio to our time, and a kernel that fails."""
    import torch

    from minrnn.ops.linear_scan.reference import linear_scan_reference

    def time_major(a, b):
        ga, tb = (x.detach().transpose(1, 2).contiguous().requires_grad_() for x in (a, b))

        def fn():
            h, _ = linear_scan_reference(ga.transpose(1, 2), tb.transpose(1, 2), torch.zeros(a.shape[0], a.shape[2]))
            return h.transpose(1, 2)

        return {"fake time-major": (fn, [ga, tb], True), "broken": ((lambda: 1 / 0), [ga, tb], False)}

    monkeypatch.setattr(gpu, "_outside_scans", time_major)
    rows = gpu.bench_scan(2, 33, 8, torch.float32, "cpu", gpu._timer("cpu", 1), copy_bps=1e10, peak_bps=None)
    by_case = {r["case"]: r for r in rows}
    fake = by_case["fake time-major fwd+bwd"]
    assert fake["max_rel_err"] < 1e-6 and fake["x_vs_ours"] > 0
    assert "ZeroDivisionError" in by_case["broken"]["note"]
    assert "pct_peak" not in fake and fake["pct_copy"] > 0
