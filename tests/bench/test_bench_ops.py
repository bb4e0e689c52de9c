"""Smoke test of ``minrnn bench ops``: every section runs and writes its ratios (timings are not asserted)."""

from __future__ import annotations

import csv

from minrnn.bench import ops


def test_bench_ops_quick_writes_ratios(tmp_path, capsys):
    assert ops.main(["--quick", "--T", "64", "--contexts", "64,128", "--steps", "5", "--out", str(tmp_path)]) == 0
    csv_files = list(tmp_path.glob("ops_cpu_*_quick.csv"))
    md_files = list(tmp_path.glob("ops_cpu_*_quick.md"))
    assert len(csv_files) == 1 and len(md_files) == 1
    lines = [ln for ln in csv_files[0].read_text().splitlines() if not ln.startswith("#")]
    rows = list(csv.DictReader(lines))
    sections = {r["section"] for r in rows}
    assert sections == {"scan", "layer", "step"}
    scan = [r for r in rows if r["section"] == "scan"]
    assert scan[0]["case"].startswith("elementwise multiply") and float(scan[0]["x_multiply"]) == 1.0
    assert all(float(r["x_multiply_prealloc"]) > 0 for r in scan)
    assert any("torch.nn.GRU" in r["case"] for r in rows)
    assert "command: python -m minrnn.bench.ops --quick" in md_files[0].read_text()
    assert "wrote" in capsys.readouterr().out
