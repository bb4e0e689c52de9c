"""Section 5 of the minRNN-paper report (offline RL with decision models) and ``data/rl.json``, which the
Aaren report reads too."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from minrnn.reproduce.report import PAPER, bar_plot, fmt, md_table
from minrnn.reproduce.section_common import NAMES, header
from minrnn.reproduce.stats import mean_std

__all__ = ["rl_section", "rl_summary"]


def rl_summary(d: dict) -> dict:
    """The documented format of ``data/rl.json`` (read by the Aaren report):
    ``{"scale", "machine", "score": "D4RL-style normalized score with the local reference returns",
    "datasets": {"<env>-<dataset>": {"<mixer>": {"mean", "std" (over seeds), "seeds": [...],
    "per_seed": [...], "episodes_per_seed", "episode_std" (mean over seeds)}}}}``."""
    ds = defaultdict(lambda: defaultdict(list))
    for r in d["runs"]:
        c = r["config"]
        if "score_mean" in r:
            ds[f"{c['env']}-{c['dataset']}"][c["mixer"]].append(r)
    out = {}
    for name, per in ds.items():
        out[name] = {}
        for m, rs in per.items():
            mu, sd = mean_std([r["score_mean"] for r in rs])
            out[name][m] = {"mean": mu, "std": sd, "seeds": [r["config"]["seed"] for r in rs],
                            "per_seed": [r["score_mean"] for r in rs], "episodes_per_seed": rs[0]["episodes"],
                            "episode_std": mean_std([r["score_std"] for r in rs])[0]}
    return {"scale": d["scale"], "machine": d["machine"], "datasets": out,
            "score": "100*(R-random)/(expert-random), local reference returns from "
                     "$MINRNN_DATA_DIR/rl/README.md"}


def rl_section(d: dict, out: Path) -> str:
    """The markdown of section 5 (and its bar plot ``minrnn_rl.png`` in ``out``)."""
    s = rl_summary(d)["datasets"]
    mixers = list(dict.fromkeys(r["config"]["mixer"] for r in d["runs"]))
    rows, avg = [], defaultdict(list)
    for name, per in s.items():
        row = [name]
        for m in mixers:
            if m in per:
                avg[m].append(per[m]["mean"])
                e = per[m]
                spread = e["std"] if len(e["seeds"]) > 1 else e["episode_std"]
                row.append(f"{e['mean']:.1f} ± {spread:.1f} ({len(e['seeds'])})")
            else:
                row.append("—")
        rows.append(row)
    if s:
        rows.append(["**average**"] + [f"**{mean_std(avg[m])[0]:.1f}**" if avg[m] else "—" for m in mixers])
    rows.append(["paper average (D4RL, 9 datasets)"] + [fmt(PAPER["rl_avg"].get(m), 1) for m in mixers])
    rel = ""
    pr = PAPER["rl_avg"]
    n_seeds = sorted({len(e["seeds"]) for per in s.values() for e in per.values()})
    c = d["runs"][0]["config"]
    if avg.get("transformer"):
        base = mean_std(avg["transformer"])[0]
        rel = ("Relative to the Decision Transformer on the same data (average score difference): "
               + ", ".join(f"{NAMES[m]} {mean_std(avg[m])[0] - base:+.1f}" for m in mixers
                           if m != "transformer" and avg[m])
               + " (paper, D4RL: "
               + ", ".join(f"{NAMES[m]} {v - pr['transformer']:+.1f}" for m, v in pr.items()
                           if m != "transformer")
               + f" over DT). Seeds per cell: {'/'.join(map(str, n_seeds))}; {c['eval_episodes']} rollouts "
               "per seed. Only "
               "differences larger than the ± spread (over seeds; over episodes with one seed) mean "
               "anything.")
    skipped = {r.get("eval_skipped") for r in d["runs"] if "eval_skipped" in r}
    if s:
        bar_plot(list(s), {NAMES[m]: [s[n][m]["mean"] if m in s[n] else 0 for n in s] for m in mixers},
                 out / "minrnn_rl.png", "normalized score", "Offline RL (local gymnasium-v5 data)")
    c = d["runs"][0]["config"]
    return "\n\n".join([
        "## 5. Offline RL with decision models (Table 3)",
        header(d),
        f"Command: `minrnn reproduce minrnn-paper --scale {d['scale']} --only rl`. Data: the local "
        "gymnasium-v5 D4RL-layout files in `$MINRNN_DATA_DIR/rl` (SAC-generated stand-ins, NOT D4RL). Model: "
        f"(return-to-go, state, action) tokens, d_model {c['d_model']}, {c['n_layers']} layers, context "
        f"K={c['K']}, "
        f"batch {c['batch_size']}, lr {c['lr']}, {c['steps']} steps; rollouts: {c['eval_episodes']} "
        f"episodes in "
        "gymnasium MuJoCo v5, target return = best dataset episode return. Cell = normalized score: mean "
        "over seeds ± std over seeds (number of seeds in brackets; with one seed, ± std over its "
        "episodes). Transformer = Decision Transformer.",
        md_table(["dataset"] + [NAMES.get(m, m) for m in mixers], rows),
        rel,
        ("Rollouts skipped: " + "; ".join(sorted(skipped))) if skipped else "",
        ("Evaluation seeds: these runs reset rollout i of seed s with env seed 100 + 1000 s + i, so seeds 1 "
         "and 2 started their rollouts from the reset states of medium (seed 1) and expert-ish (seed 2) "
         "training episodes 100.. (the generator used 1000 + i and 2000 + i); MuJoCo's reset noise is only "
         "±0.005, so every start is close to the training starts anyway. New runs use 1,000,000 + 1000 s + i.")
        if any("eval_env_seeds" not in r and "eval_skipped" not in r for r in d["runs"]) else "",
        "Machine-readable summary: `data/rl.json` = {\"datasets\": {\"<env>-<dataset>\": {\"<mixer>\": "
        "{\"mean\", \"std\" (over seeds), \"seeds\", \"per_seed\", \"episodes_per_seed\", "
        "\"episode_std\"}}}} (see `minrnn.reproduce.rl_section.rl_summary`).",
        "Paper numbers are D4RL (gym v2) averages and are not comparable to scores on these local "
        "datasets; the "
        "claim checked here is relative: do the min-RNN decision models match the Transformer on the same "
        "data?",
        "![rl](minrnn_rl.png)" if s else ""])
