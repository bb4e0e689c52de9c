"""The README's results table, generated from the committed results files.

    python -m minrnn.reproduce.readme_summary            # rewrite the block in README.md
    python -m minrnn.reproduce.readme_summary --check    # exit 1 if README.md is out of date

One row per experiment: our headline number at the scale it was run (CPU scale here; see the linked reports for
configs, machines, seeds and every table), beside the paper's. The block sits between the markers
``<!-- RESULTS -->`` and ``<!-- /RESULTS -->``; nothing inside it is edited by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from minrnn.reproduce import aaren_report
from minrnn.reproduce.report import PAPER, fmt, md_table
from minrnn.reproduce.section_common import NAMES, runs_of
from minrnn.reproduce.stats import mean_std
from minrnn.tasks.chomsky.train import normalized_beyond_train

BEGIN, END = "<!-- RESULTS -->", "<!-- /RESULTS -->"


def _load(data: Path, name: str):
    path = data / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _by_mixer(runs, value, keep=lambda r: True) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        if keep(r) and value(r) is not None:
            groups[r["config"]["mixer"]].append(value(r))
    return groups


def _cell(stats: dict, mixer: str, nd: int, scale: float = 1.0) -> str:
    """'mean ± std (n)' of one mixer's values; just the value when there is one."""
    if not stats.get(mixer):
        return "—"
    m, s = mean_std(stats[mixer])
    if len(stats[mixer]) == 1:
        return f"{fmt(m * scale, nd)} (1 seed)"
    return f"{fmt(m * scale, nd)} ± {fmt(s * scale, nd)} (n={len(stats[mixer])})"


def _steps(runs) -> int:
    """The longest training (optimizer steps) among ``runs``."""
    return max(r["config"]["steps"] for r in runs)


def _mean_of_task_means(runs, value) -> dict[str, float]:
    per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in runs:
        per[r["config"]["mixer"]][r["config"]["task"]].append(value(r))
    return {m: mean_std([mean_std(v)[0] for v in tasks.values()])[0] for m, tasks in per.items()}


def minrnn_rows(data: Path) -> list[list[str]]:
    rows = []
    doc = _load(data, "minrnn_runtime")
    if doc:
        sp = doc["speedups"]
        longest = max(int(k.rsplit("@", 1)[1]) for k in sp if k.startswith("mingru/gru_loop@"))
        ours = ", ".join(f"{NAMES[m]} {sp[f'{m}/{b}_loop@{longest}']['speedup']:.1f}x"
                         for m, b in (("mingru", "gru"), ("minlstm", "lstm")) if f"{m}/{b}_loop@{longest}" in sp)
        rows.append(["runtime: speed-up over a GRU/LSTM cell loop", f"{ours} (T={longest}, CPU)",
                     "minGRU 1324x, minLSTM 1361x (T=4096, T4 GPU)"])
    doc = _load(data, "minrnn_selective_copy")
    if doc:
        paper = ", ".join(f"{NAMES[m]} {v}" for m, v in PAPER["selective_copy"].items())
        for group, label in (("main", "selective copying, accuracy % (3 layers, {steps} steps)"),
                             ("long", "selective copying trained 10x longer, accuracy % ({steps} steps)")):
            runs = runs_of(doc, group)
            st = _by_mixer(runs, lambda r: r.get("accuracy"), lambda r: r["config"]["n_layers"] == 3)
            if st:
                ours = ", ".join(f"{NAMES[m]} {_cell(st, m, 1, 100)}" for m in ("mingru", "minlstm", "mamba")
                                 if m in st)
                rows.append([label.format(steps=_steps(runs)), ours, paper])
    doc = _load(data, "minrnn_shakespeare")
    if doc:
        paper = ", ".join(f"{NAMES[m]} {v[0]}" for m, v in PAPER["shakespeare"].items())
        for group, label in (("main", "Shakespeare char LM, best val loss in nats ({steps} steps)"),
                             ("long", "Shakespeare char LM trained 5x longer, best val loss ({steps} steps)"),
                             ("matched", "Shakespeare 5x longer, min-RNNs widened to the Transformer's parameter count "
                                         "({steps} steps)")):
            runs = runs_of(doc, group)
            st = _by_mixer(runs, lambda r: r.get("best_val_loss"))
            if st:
                ours = ", ".join(f"{NAMES[m]} {_cell(st, m, 3)}" for m in PAPER["shakespeare"] if m in st)
                rows.append([label.format(steps=_steps(runs)), ours, paper])
    doc = _load(data, "minrnn_chomsky")
    if doc:
        paper = ", ".join(f"{NAMES.get(m, 'xLSTM')} {v}" for m, v in PAPER["chomsky_avg"].items())
        for group, label in (("main", "formal languages, normalized accuracy averaged over 7 tasks "
                                      "(lengths beyond training, {steps} steps)"),
                             ("long", "formal languages trained 5x longer ({steps} steps, {seeds})")):
            runs = runs_of(doc, group)
            if runs:
                avg = _mean_of_task_means(runs, normalized_beyond_train)
                ours = ", ".join(f"{NAMES.get(m, m)} {fmt(v, 2)}" for m, v in sorted(avg.items()))
                n = len({r["config"]["seed"] for r in runs})
                seeds = f"{n} seed{'s' if n > 1 else ''}"
                rows.append([label.format(steps=_steps(runs), seeds=seeds), ours, paper])
    doc = _load(data, "minrnn_rl")
    if doc:
        st = _by_mixer(doc["runs"], lambda r: r.get("score_mean"))
        ours = ", ".join(f"{NAMES.get(m, m)} {_cell(st, m, 1)}" for m in sorted(st))
        paper = ", ".join(f"{NAMES[m]} {v}" for m, v in PAPER["rl_avg"].items())
        rows.append(["offline RL, normalized score over datasets x seeds (local v5 data / D4RL)", ours, paper])
    return rows


def aaren_rows(data: Path) -> list[list[str]]:
    rows = []
    for name, section in (("tpp", aaren_report.tpp_section), ("forecasting", aaren_report.forecasting_section),
                          ("classification", aaren_report.classification_section)):
        doc = _load(data, f"aaren_{name}")
        if not doc:
            continue
        verdicts = [p[4] for p in section(doc)[1]]
        rows.append([f"Aaren vs Transformer: {name}",
                     f"on par on {verdicts.count('on par')}/{len(verdicts)} dataset rows "
                     f"(Aaren better {verdicts.count('Aaren better')}, "
                     f"Transformer better {verdicts.count('Transformer better')})",
                     "comparable on every dataset"])
    doc = _load(data, "aaren_streaming")
    if doc:
        last = {r["kind"]: r["points"][-1] for r in doc["runs"]}
        if {"aaren", "transformer"} <= set(last):
            a, t = last["aaren"], last["transformer"]
            rows.append([f"streaming {a['tokens']} tokens: state bytes, cumulative CPU s",
                         f"Aaren {a['state_bytes']:,} B, {a['cumulative_cpu_seconds']:.0f} s; Transformer KV cache "
                         f"{t['state_bytes']:,} B, {t['cumulative_cpu_seconds']:.0f} s",
                         "constant vs linear memory, linear vs quadratic time"])
    return rows


def render(root: Path) -> str:
    data = root / "docs" / "results" / "data"
    rows = minrnn_rows(data) + aaren_rows(data)
    if not rows:
        return "No results files yet (run `minrnn reproduce ...`)."
    return "\n".join([
        "Generated by `python -m minrnn.reproduce.readme_summary` from `docs/results/data/*.json`.",
        "Ours are CPU-scale runs (small models, short training, 2-core shared machine): see",
        "[the minRNN report](docs/results/minrnn-paper.md) and [the Aaren report](docs/results/aaren-paper.md)",
        "for configs, machines, seeds, and where and why we differ from the papers.",
        "Mean ± std over runs (n = runs).",
        "",
        md_table(["experiment", "ours", "paper"], rows),
    ])


def update(readme: Path, block: str) -> str:
    text = readme.read_text()
    if BEGIN not in text:
        raise ValueError(f"{readme} has no {BEGIN} marker")
    head, rest = text.split(BEGIN, 1)
    if END not in rest:
        raise ValueError(f"{readme} has {BEGIN} but no {END} after it: the end of the results block is unknown")
    tail = rest.split(END, 1)[1]
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m minrnn.reproduce.readme_summary", description=__doc__.split("\n")[0])
    p.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    p.add_argument("--check", action="store_true", help="exit 1 if README.md's results block is out of date")
    args = p.parse_args(argv)
    readme = args.root / "README.md"
    new = update(readme, render(args.root))
    if args.check:
        if new != readme.read_text():
            print("README.md results block is out of date: run python -m minrnn.reproduce.readme_summary",
                  file=sys.stderr)
            return 1
        return 0
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
