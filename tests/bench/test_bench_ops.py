"""Smoke test of ``minrnn bench ops``: every section runs and writes its ratios (timings are not asserted)."""

from __future__ import annotations

import csv

import pytest

from minrnn.bench import ops, targets


def test_bench_ops_quick_writes_ratios(tmp_path, capsys):
    assert ops.main(["--quick", "--T", "64", "--contexts", "64,128", "--steps", "5", "--out", str(tmp_path)]) == 0
    csv_files = list(tmp_path.glob("ops_cpu_*_quick.csv"))
    md_files = list(tmp_path.glob("ops_cpu_*_quick.md"))
    assert len(csv_files) == 1 and len(md_files) == 1
    lines = [ln for ln in csv_files[0].read_text().splitlines() if not ln.startswith("#")]
    rows = list(csv.DictReader(lines))
    sections = {r["section"] for r in rows}
    assert sections == {"scan", "layer", "step"}
    # explicit sizes win over --quick's (they were silently replaced); the rest come from --quick
    assert {(r["B"], r["T"]) for r in rows if r["section"] != "step"} == {("4", "64")}
    assert {r["T"] for r in rows if r["section"] == "step"} == {"64", "128"}
    scan = [r for r in rows if r["section"] == "scan"]
    assert scan[0]["case"].startswith("elementwise multiply") and float(scan[0]["x_multiply"]) == 1.0
    assert all(float(r["x_multiply_prealloc"]) > 0 for r in scan)
    assert any("torch.nn.GRU" in r["case"] for r in rows)
    assert "command: python -m minrnn.bench.ops --quick" in md_files[0].read_text()
    assert "malloc: default" in md_files[0].read_text()
    assert "wrote" in capsys.readouterr().out
    # the targets summary reads the same file
    table = targets.render(csv_files[0])
    assert "malloc: default" in table
    checked = {t for _, t, _, _ in targets.target_rows(targets.read_run(csv_files[0])[1])}
    assert {"min_gru fwd+bwd <= 10x multiply", "MinGRU layer <= 2x its projection",
            "MinLSTM >= 20x faster than torch.nn.LSTM", "MinGRU.step() flat from 64 to 128 tokens"} <= checked


def _write(path, rows):
    cols = ["section", "case", "B", "T", "D", "seconds", "x_multiply", "x_multiply_prealloc", "x_fast",
            "x_projection", "us_per_token"]
    lines = ["# malloc: keep", ",".join(cols)]
    lines += [",".join(str(r.get(c, "")) for c in cols) for r in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("D, gru_s, verdict", [(64, 0.5, "yes"), (64, 0.1, "no"), (256, 0.1, "(stated at D=64)")])
def test_targets_verdicts(tmp_path, D, gru_s, verdict):
    shape = {"B": 16, "T": 2048, "D": D}
    _write(tmp_path / "run.csv", [
        dict(shape, section="scan", case="min_gru cpu_fused (auto) fwd+bwd", seconds=0.02, x_multiply=12,
             x_multiply_prealloc=13, x_fast=1),
        dict(shape, section="layer", case="MinGRU layer fwd+bwd", seconds=0.02, x_projection=1.2),
        dict(shape, section="layer", case="torch.nn.GRU fwd+bwd", seconds=gru_s, x_projection=gru_s / 0.0167),
    ])
    rows = {t: (m, v) for _, t, m, v in targets.target_rows(targets.read_run(tmp_path / "run.csv")[1])}
    assert rows["min_gru fwd+bwd <= 10x multiply"] == ("12.0x", "no")
    assert rows["MinGRU layer <= 2x its projection"] == ("1.20x", "yes")
    assert rows["MinGRU >= 20x faster than torch.nn.GRU"][1] == verdict
    assert targets.main([str(tmp_path / "run.csv")]) == 0
    with pytest.raises(SystemExit, match="does not exist"):
        targets.main([str(tmp_path / "missing.csv")])


@pytest.mark.parametrize("args", [["--steps", "0"], ["--threads", "-1"], ["--B", "-1"], ["--repeats", "0"],
                                  ["--T", "64,0"], ["--D", "x"]])
def test_bench_ops_rejects_bad_sizes_before_running(args, capsys):
    with pytest.raises(SystemExit) as e:
        ops.main(args)
    assert e.value.code == 2 and "expected" in capsys.readouterr().err
