"""The CPU kernel targets of issue #6, read from ``minrnn bench ops`` CSV files: one markdown table per file.

    python -m minrnn.bench.targets benchmarks/results/ops_cpu_<stamp>.csv [more.csv ...]

For every (T, D) of a run it prints the ratios the targets are stated in, with a "met?" column:
- ``min_gru`` forward + backward (auto backend) within 10x one elementwise multiply that allocates its output
  (and the same for the kernels alone into preallocated buffers, against the preallocated multiply);
- ``min_gru`` at least 10x faster than the paper's log-space scan (ours and lucidrains' ``minGRU-pytorch``);
- ``MinGRU`` / ``MinLSTM`` layer forward + backward within 2x its input projection;
- the layers at least 20x faster than ``torch.nn.GRU`` / ``torch.nn.LSTM`` (stated at D=64; since a layer
  cannot beat its own input projection, ``torch.nn.GRU``'s time over the projection's bounds the ratio);
- ``step()`` latency flat in the context length (largest over smallest context, within 1.5x).
The file's own header (command, machine, load, malloc mode) is repeated above its table.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path


def read_run(path: str | Path) -> tuple[list[str], list[dict]]:
    """(header lines without '# ', rows with numbers parsed) of one ``bench ops`` CSV."""
    header, body = [], []
    for line in Path(path).read_text().splitlines():
        (header if line.startswith("# ") else body).append(line[2:] if line.startswith("# ") else line)
    rows = []
    for r in csv.DictReader(body):
        rows.append({k: (float(v) if v not in ("", None) and k not in ("section", "case") else v)
                     for k, v in r.items()})
    return header, rows


def _find(rows: list[dict], start: str) -> dict | None:
    return next((r for r in rows if r["case"].startswith(start)), None)


def _verdict(value: float | None, limit: float, at_most: bool) -> str:
    if value is None:
        return "not run"
    return "yes" if (value <= limit if at_most else value >= limit) else "no"


def target_rows(rows: list[dict]) -> list[tuple[str, str, str, str]]:
    """(shape, target, measured, met?) for every (T, D) of a run, scan and layer sections, then step()."""
    out = []
    by_shape: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for r in rows:
        if r["section"] in ("scan", "layer"):
            by_shape[(int(r["T"]), int(r["D"]))].append(r)
    for (T, D), rs in sorted(by_shape.items()):
        shape = f"T={T}, D={D}"
        op = _find(rs, "min_gru cpu_fused (auto)") or _find(rs, "min_gru ")
        kern = _find(rs, "min_gru cpu_fused kernels")
        if op is not None and op["section"] == "scan":
            out.append((shape, "min_gru fwd+bwd <= 10x multiply", f"{op['x_multiply']:.1f}x",
                        _verdict(op["x_multiply"], 10, True)))
            if kern is not None:
                out.append((shape, "kernels only <= 10x preallocated multiply",
                            f"{kern['x_multiply_prealloc']:.1f}x", _verdict(kern["x_multiply_prealloc"], 10, True)))
            for name, label in (("min_gru log_space", "ours"), ("min_gru minGRU-pytorch", "minGRU-pytorch")):
                slow = _find(rs, name)
                if slow is not None:
                    out.append((shape, f">= 10x faster than the log-space scan ({label})",
                                f"{slow['x_fast']:.1f}x", _verdict(slow["x_fast"], 10, False)))
        for layer, rnn in (("MinGRU", "torch.nn.GRU"), ("MinLSTM", "torch.nn.LSTM")):
            lay, base = _find(rs, f"{layer} layer"), _find(rs, rnn)
            if lay is None or base is None:
                continue
            out.append((shape, f"{layer} layer <= 2x its projection", f"{lay['x_projection']:.2f}x",
                        _verdict(lay["x_projection"], 2, True)))
            speedup = base["seconds"] / lay["seconds"]
            out.append((shape, f"{layer} >= 20x faster than {rnn}",
                        f"{speedup:.1f}x (at most {base['x_projection']:.1f}x: {rnn} over the projection)",
                        _verdict(speedup, 20, False) if D == 64 else "(stated at D=64)"))
    steps: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for r in rows:
        if r["section"] == "step":
            steps[(r["case"].split(".step")[0], int(r["D"]))].append(r)
    for (layer, D), rs in sorted(steps.items()):
        rs = sorted(rs, key=lambda r: r["T"])
        growth = rs[-1]["seconds"] / rs[0]["seconds"]
        out.append((f"D={D}", f"{layer}.step() flat from {int(rs[0]['T'])} to {int(rs[-1]['T'])} tokens",
                    f"{rs[0]['us_per_token']:.0f} -> {rs[-1]['us_per_token']:.0f} us", _verdict(growth, 1.5, True)))
    return out


def render(path: str | Path) -> str:
    header, rows = read_run(path)
    lines = [f"### {Path(path).name}", "", *[f"- {h}" for h in header], "",
             "| shape | target | measured | met? |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(r)} |" for r in target_rows(rows)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m minrnn.bench.targets", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", help="CSV files written by `minrnn bench ops`")
    args = p.parse_args(argv)
    for f in args.files:
        if not Path(f).is_file():
            raise SystemExit(f"files: {f} does not exist")
        print(render(f))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
