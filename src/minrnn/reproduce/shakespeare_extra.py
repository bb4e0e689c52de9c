"""The extra CPU-scale Shakespeare runs of the minRNN-paper report: trained longer (group "long") and the
min-RNNs widened to the Transformer's parameter count (group "matched"). Both are aggregated over the seeds
that were run (mean ± sample std)."""

from __future__ import annotations

from collections import defaultdict

from minrnn.reproduce.report import fmt, md_table
from minrnn.reproduce.section_common import NAMES, runs_of
from minrnn.reproduce.stats import mean_std

__all__ = ["shakespeare_long", "shakespeare_matched"]


def _by_mixer(runs: list[dict]) -> dict[str, list[dict]]:
    by = defaultdict(list)
    for r in runs:
        by[r["config"]["mixer"]].append(r)
    return by


def _loss(rs: list[dict], seeds: set | None = None) -> str:
    """'mean ± std (n)' of the best validation losses of ``rs`` (only ``seeds`` if given), or '—'."""
    xs = [r["best_val_loss"] for r in rs if seeds is None or r["config"]["seed"] in seeds]
    if not xs:
        return "—"
    m, s = mean_std(xs)
    return f"{m:.3f} (1 seed)" if len(xs) == 1 else f"{m:.3f} ± {s:.3f} ({len(xs)} seeds)"


def _mean(rs: list[dict], seeds: set) -> float | None:
    xs = [r["best_val_loss"] for r in rs if r["config"]["seed"] in seeds]
    return mean_std(xs)[0] if xs else None


def _seeds(rs: list[dict]) -> set:
    return {r["config"]["seed"] for r in rs}


def shakespeare_long(d: dict) -> str:
    """Best validation loss of the longer CPU runs (group "long") beside the main runs of the same seeds."""
    longs = _by_mixer(runs_of(d, "long"))
    if not longs:
        return ""
    main = _by_mixer(runs_of(d, "main"))
    rows = [[NAMES[m], "/".join(str(s) for s in sorted(_seeds(rs))), _loss(main.get(m, []), _seeds(rs)),
             _loss(rs), "/".join(str(r["best_step"]) for r in rs),
             fmt(mean_std([r["train_wall_s"] / 60 for r in rs])[0], 0)] for m, rs in longs.items()]
    best = {NAMES[m]: mean_std([r["best_val_loss"] for r in rs])[0] for m, rs in longs.items()}
    lo, hi = min(best, key=best.get), max(best, key=best.get)
    main_steps = next((r["config"]["steps"] for r in runs_of(d, "main")), None)
    c = next(iter(longs.values()))[0]["config"]
    return "\n\n".join([
        f"**Longer training** (same config, {c['steps']} steps; `--where group=long`): does the gap between "
        "models close?",
        md_table(["model", "seeds", f"best val loss, {main_steps} steps (same seeds)" if main_steps else
                  "main runs", f"best val loss, {c['steps']} steps", "step of best", "train wall min (mean)"],
                 rows),
        f"Spread of the means after {c['steps']} steps: {best[hi] - best[lo]:.3f} nats/char ({lo} best, "
        f"{hi} worst)."])


def shakespeare_matched(d: dict) -> str:
    """The min-RNNs at the Transformer's parameter count (group "matched") beside the same-length runs of
    group "long" (expansion 1, and the Transformer and Mamba) of the same seeds."""
    matched = _by_mixer(runs_of(d, "matched"))
    if not matched:
        return ""
    longs = _by_mixer(runs_of(d, "long"))
    seeds = set().union(*(_seeds(rs) for rs in matched.values()))
    rows = [[NAMES[m], rs[0]["config"]["expansion"], rs[0]["n_params"], _loss(rs),
             _loss(longs.get(m, []), _seeds(rs)) + (f" ({longs[m][0]['n_params']})" if m in longs else ""),
             fmt(mean_std([r["train_wall_s"] / 60 for r in rs])[0], 0)] for m, rs in matched.items()]
    refs = [f"{NAMES[m]} {_loss(longs[m], seeds)} ({longs[m][0]['n_params']} parameters)"
            for m in ("transformer", "mamba") if m in longs]
    gaps = []
    for m, rs in matched.items():
        ref, before = _mean(longs.get("transformer", []), _seeds(rs)), _mean(longs.get(m, []), _seeds(rs))
        if ref is not None and before is not None:
            after = _mean(rs, _seeds(rs))
            gaps.append(f"{NAMES[m]} {before - ref:+.3f} at expansion 1, {after - ref:+.3f} matched")
    c = next(iter(matched.values()))[0]["config"]
    return "\n\n".join([
        f"**Parameters matched** ({c['steps']} steps, seeds {'/'.join(str(s) for s in sorted(seeds))}; "
        "`--where group=matched`): the min-RNN LMs have fewer parameters at expansion 1; widened to the "
        "Transformer's count, does the gap close? Same-length references over the same seeds: "
        + ("; ".join(refs) if refs else "none run") + ".",
        md_table(["model", "expansion", "params", f"best val loss, {c['steps']} steps",
                  "at expansion 1 (params)", "train wall min (mean)"], rows),
        ("Gap to the Transformer (mean best val loss, same seeds, nats/char): " + "; ".join(gaps) + ".")
        if gaps else ""])
