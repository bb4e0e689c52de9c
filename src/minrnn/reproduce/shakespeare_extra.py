"""The extra CPU-scale Shakespeare runs of the minRNN-paper report: trained longer (group "long") and the
min-RNNs widened to the Transformer's parameter count (group "matched")."""

from __future__ import annotations

from collections import defaultdict

from minrnn.reproduce.report import fmt, md_table
from minrnn.reproduce.section_common import NAMES, runs_of

__all__ = ["shakespeare_long", "shakespeare_matched"]


def shakespeare_long(d: dict) -> str:
    """Best validation loss of the longer CPU runs (group "long") beside the main runs'."""
    longs = runs_of(d, "long")
    if not longs:
        return ""
    main = defaultdict(list)
    for r in runs_of(d, "main"):
        if r["config"]["seed"] == longs[0]["config"]["seed"]:
            main[r["config"]["mixer"]].append(r["best_val_loss"])
    rows = [[NAMES[r["config"]["mixer"]], r["config"]["seed"], fmt(main[r["config"]["mixer"]][0], 3)
             if main[r["config"]["mixer"]] else "—", f"{r['best_val_loss']:.3f}", r["best_step"],
             fmt(r["train_wall_s"] / 60, 0)] for r in longs]
    best = {NAMES[r["config"]["mixer"]]: r["best_val_loss"] for r in longs}
    lo, hi = min(best, key=best.get), max(best, key=best.get)
    main_steps = next((r["config"]["steps"] for r in runs_of(d, "main")), None)
    c = longs[0]["config"]
    return "\n\n".join([
        f"**Longer training** (same config, {c['steps']} steps, one seed; `--where group=long`): does the gap "
        "between models close?",
        md_table(["model", "seed", f"best val loss, {main_steps} steps" if main_steps else "main runs",
                  f"best val loss, {c['steps']} steps", "step of best", "train wall min"], rows),
        f"Spread after {c['steps']} steps: {best[hi] - best[lo]:.3f} nats/char ({lo} best, {hi} worst)."])


def shakespeare_matched(d: dict) -> str:
    """The min-RNNs at the Transformer's parameter count (group "matched") beside the same-length runs of
    group "long" (expansion 1, and the Transformer and Mamba)."""
    matched = runs_of(d, "matched")
    if not matched:
        return ""
    longs = {r["config"]["mixer"]: r for r in runs_of(d, "long")}
    rows = []
    for r in matched:
        m = r["config"]["mixer"]
        base = longs.get(m)
        rows.append([NAMES[m], r["config"]["expansion"], r["n_params"], f"{r['best_val_loss']:.3f}",
                     f"{base['best_val_loss']:.3f} ({base['n_params']})" if base else "—",
                     fmt(r["train_wall_s"] / 60, 0)])
    refs = [f"{NAMES[m]} {longs[m]['best_val_loss']:.3f} ({longs[m]['n_params']} parameters)"
            for m in ("transformer", "mamba") if m in longs]
    c = matched[0]["config"]
    return "\n\n".join([
        f"**Parameters matched** ({c['steps']} steps, seed {c['seed']}; `--where group=matched`): the min-RNN LMs "
        "have fewer parameters at expansion 1; widened to the Transformer's count, does the gap close? "
        "Same-length references: " + ("; ".join(refs) if refs else "none run") + ".",
        md_table(["model", "expansion", "params", f"best val loss, {c['steps']} steps",
                  "at expansion 1 (params)", "train wall min"], rows)])
