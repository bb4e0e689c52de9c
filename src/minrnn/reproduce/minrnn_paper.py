"""Reproduce every experiment of "Were RNNs All We Needed?" (``minrnn reproduce minrnn-paper``).

Experiments (``--only`` picks some; each writes ``<out>/data/minrnn_<exp>.json`` when it finishes, and the
markdown report ``<out>/minrnn-paper.md`` is regenerated from whatever JSON files exist):
- ``runtime``: training-step time/memory vs T (:mod:`minrnn.bench.runtime`);
- ``selective_copy``: Table 1 (+ the 1/2/3-layer ablation);
- ``shakespeare``: character LM (Fig. 2);
- ``chomsky``: the 7 formal-language tasks (Table 2);
- ``rl``: decision models on the local D4RL-layout data (Table 3); also writes ``<out>/data/rl.json``.
``--scale gpu`` is the paper's configuration; ``--scale cpu`` a reduced one for a 2-core CPU (see the plans
below and the report). Every run is seeded; results are deterministic on CPU for a fixed seed and thread
count.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from minrnn.argtypes import positive_int
from minrnn.reproduce import sections
from minrnn.reproduce.report import load_json, machine_info, save_json
from minrnn.reproduce.rl_section import rl_summary

__all__ = ["EXPERIMENTS", "plan", "run_experiment", "main"]

EXPERIMENTS = ("runtime", "selective_copy", "shakespeare", "chomsky", "rl")
#: CPU-scale Shakespeare: the expansion that gives each min-RNN LM the Transformer's parameter count (2 layers,
#: d_model 64: minGRU 108,048 / minLSTM 110,680 parameters vs the Transformer's 108,224; at expansion 1 they
#: have 92,096 / 100,416)
MATCHED_EXPANSION = {"mingru": 1.3125, "minlstm": 1.0625}
CHOMSKY_TASKS = ("parity_check", "even_pairs", "cycle_nav", "bucket_sort", "majority", "majority_count",
                 "missing_duplicate")


def plan(exp: str, scale: str, seeds: int | None = None) -> list[dict]:
    """The list of run configs (dicts for each task's ``run``) of experiment ``exp`` at ``scale``."""
    if exp not in EXPERIMENTS:
        raise ValueError(f"exp must be one of {EXPERIMENTS}, got {exp!r}")
    if scale not in ("cpu", "gpu"):
        raise ValueError(f"scale must be 'cpu' or 'gpu', got {scale!r}")
    cpu = scale == "cpu"
    if exp == "runtime":
        from minrnn.bench.runtime import PRESETS
        return [dict(PRESETS[scale])]
    if exp == "selective_copy":
        from minrnn.tasks.selective_copy import PRESETS
        base = dict(PRESETS[scale], progress=False)
        n = seeds or 3
        runs = [dict(base, mixer=m, seed=s, group="main") for m in ("mingru", "minlstm") for s in range(n)]
        runs += [dict(base, mixer="mamba", seed=s, group="main", **({"expansion": 1.0} if cpu else {}))
                 for s in range(n)]
        runs += [dict(base, mixer=m, n_layers=L, seed=s, group="ablation") for m in ("mingru", "minlstm")
                 for L in (1, 2) for s in range(n)]
        if cpu:  # does training longer approach "solved"? (the paper's claim); 10x the steps, one seed
            runs += [dict(base, mixer=m, steps=10 * base["steps"], eval_every=base["steps"], seed=0,
                          group="long", **({"expansion": 1.0} if m == "mamba" else {}))
                     for m in ("mingru", "minlstm", "mamba")]
        return runs
    if exp == "shakespeare":
        from minrnn.reproduce.shakespeare import PRESETS
        runs = [dict(PRESETS[scale], mixer=m, seed=s, progress=False)
                for m in ("mingru", "minlstm", "mamba", "transformer") for s in range(seeds or 3)]
        if cpu:  # does the gap to the Transformer close with more training? 5x the steps, one seed
            base = PRESETS[scale]
            runs += [dict(base, mixer=m, seed=0, progress=False, steps=5 * base["steps"],
                          eval_every=5 * base["eval_every"], group="long")
                     for m in ("mingru", "minlstm", "transformer", "mamba")]
            # is the remaining gap capacity? the min-RNNs widened to the Transformer's parameter count
            # (minGRU 108,048 and minLSTM 110,680 vs 108,224 parameters), same 5x steps
            runs += [dict(base, mixer=m, expansion=e, seed=0, progress=False, steps=5 * base["steps"],
                          eval_every=5 * base["eval_every"], group="matched")
                     for m, e in (("mingru", MATCHED_EXPANSION["mingru"]), ("minlstm", MATCHED_EXPANSION["minlstm"]))]
        return runs
    if exp == "chomsky":
        from minrnn.tasks.chomsky.train import PRESETS
        mixers = ("minlstm", "mingru", "transformer", "lstm", "mamba")
        runs = [dict(PRESETS[scale], task=t, mixer=m, seed=s, progress=False)
                for t in CHOMSKY_TASKS for m in mixers for s in range(seeds or 3)]
        if cpu:  # is the gap to the paper under-training? 5x the steps, one seed, the paper's three models
            runs += [dict(PRESETS[scale], task=t, mixer=m, seed=0, progress=False,
                          steps=5 * PRESETS[scale]["steps"], group="long")
                     for t in CHOMSKY_TASKS for m in ("minlstm", "mingru", "mamba")]
        return runs
    from minrnn.tasks.rl import PRESETS
    data = tuple((e, d) for e in ("hopper", "halfcheetah") for d in ("medium", "medium-replay", "medium-expert"))
    rl_mixers = ("mingru", "minlstm", "aaren", "transformer", "mamba")
    return [dict(PRESETS[scale], env=e, dataset=d, mixer=m, seed=s, progress=False)
            for e, d in data for m in rl_mixers for s in range(seeds or 3)]


def _runner(exp: str):
    if exp == "selective_copy":
        from minrnn.tasks.selective_copy import run
    elif exp == "shakespeare":
        from minrnn.reproduce.shakespeare import run
    elif exp == "chomsky":
        from minrnn.tasks.chomsky.train import run
    else:
        from minrnn.tasks.rl import run
    return run


def settable(exp: str, scale: str) -> set[str]:
    """The keys ``--set`` may give for ``exp``: the fields of its task's config (the runtime benchmark: the keys
    of its plan). Every run of the experiment gets them, also runs whose plan leaves them at the default."""
    if exp == "runtime":
        return set().union(*plan(exp, scale, None))
    if exp == "selective_copy":
        from minrnn.tasks.selective_copy import SelectiveCopyConfig as cls
    elif exp == "shakespeare":
        from minrnn.reproduce.shakespeare import ShakespeareConfig as cls
    elif exp == "chomsky":
        from minrnn.tasks.chomsky.train import ChomskyConfig as cls
    else:
        from minrnn.tasks.rl.train import RLConfig as cls
    return {f.name for f in dataclasses.fields(cls)}


def _done(cfg: dict, runs: list[dict]) -> bool:
    """Whether a saved run has exactly the values of ``cfg`` (its config may hold more keys: defaults)."""
    return any(all(r.get("config", {}).get(k) == v for k, v in cfg.items()) for r in runs)


_MISSING = object()
_IDENTITY = ("task", "env", "dataset", "mixer", "n_layers", "seed")  # with the group: one planned config each


def _same_slot_other_config(cfg: dict, group, runs: list[dict]) -> dict | None:
    """A saved run of the same (task, env, dataset, mixer, n_layers, seed, group) as ``cfg`` but with other
    values: a resume with other --set values would add it as another seed of the same cell."""
    for r in runs:
        rc = r.get("config", {})
        if (all(rc.get(k) == cfg.get(k) for k in _IDENTITY if k in cfg) and r.get("group") == group
                and not _done(cfg, [r])):
            return r
    return None


def _matches(cfg: dict, where: dict) -> bool:
    """Whether a planned config (or a saved run's config plus its group) has the values of ``where``; a config
    without a plan group is in group "main", as in the reports."""
    return all((cfg.get(k, "main") if k == "group" else cfg.get(k, _MISSING)) == v for k, v in where.items())


def run_experiment(exp: str, scale: str, out_dir: Path, seeds: int | None = None,
                   limit: int | None = None, overrides: dict | None = None,
                   where: dict | None = None, resume: bool = False) -> dict | None:
    """Run every config of ``plan(exp, scale)`` that matches ``where`` (e.g. {"mixer": "mamba"}), the first
    ``limit`` only if given; ``overrides`` replaces config keys that a config has (e.g. {"steps": 5}).
    Saves the JSON after every run. ``resume``: keep the runs already saved in that JSON (same scale) and
    run only the missing configs, so an interrupted reproduction continues where it stopped. With ``where``,
    only the saved runs of the configs about to run are replaced; every other saved run is kept.
    Returns None, saving nothing, when no planned config matches ``where``."""
    t0 = time.perf_counter()
    where = where or {}
    configs = [c for c in plan(exp, scale, seeds) if _matches(c, where)]
    if not configs:
        print(f"[{exp}] no planned config matches --where {where}: skipped, saved results left as they are",
              flush=True)
        return None
    keys = settable(exp, scale)
    configs = [{**c, **{k: v for k, v in (overrides or {}).items() if k in keys}} for c in configs[:limit]]
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    result = {"experiment": exp, "scale": scale, "machine": machine_info(), "runs": []}
    path = out_dir / "data" / f"minrnn_{exp}.json"
    saved = load_json(path) if (resume or where) and exp != "runtime" else None
    if saved is not None and saved.get("scale") == scale:
        if resume:
            result = saved
            t0 -= float(saved.get("wall_time_s", 0.0))
        else:  # --where without --resume: rerun the selected configs, keep every other saved run
            to_run = [{k: v for k, v in c.items() if k != "group"} for c in configs]
            kept = [r for r in saved["runs"] if not any(_done(c, [r]) for c in to_run)]
            result = {**saved, "runs": kept}
            t0 -= float(saved.get("wall_time_s", 0.0)) - sum(float(r.get("wall_time_s", 0.0))
                                                            for r in saved["runs"] if r not in kept)
    if exp == "runtime":
        from minrnn.bench import runtime
        cfg = dict(configs[0])
        device = "cuda" if torch.cuda.is_available() and scale == "gpu" else "cpu"
        result["config"] = {**cfg, "device": device}
        result["rows"] = runtime.run(device=device, **cfg)
        result["speedups"] = runtime.speedups(result["rows"])
        runtime.plot(result["rows"], out_dir / "minrnn_runtime.png")
    else:
        run = _runner(exp)
        for i, cfg in enumerate(configs):
            group = cfg.pop("group", None)
            label = ", ".join(f"{k}={cfg[k]}" for k in ("task", "env", "dataset", "mixer", "n_layers", "seed")
                              if k in cfg)
            if resume and _done(cfg, result["runs"]):
                print(f"[{exp} {i + 1}/{len(configs)}] {label}: saved already (--resume)", flush=True)
                continue
            other = _same_slot_other_config(cfg, group, result["runs"]) if resume else None
            if other is not None:
                diff = {k: (other["config"].get(k), v) for k, v in cfg.items() if other["config"].get(k) != v}
                raise ValueError(f"--resume: the saved run {label} was made with other values {diff} (saved, now); "
                                 "resume with the same --set values, or rerun it with --where (without --resume)")
            print(f"[{exp} {i + 1}/{len(configs)}] {label} ...", flush=True)
            r = run(cfg)
            if group:
                r["group"] = group
            result["runs"].append(r)
            result["wall_time_s"] = time.perf_counter() - t0
            save_json(result, path)  # partial results land after every run
            print(f"[{exp} {i + 1}/{len(configs)}] done in {r['wall_time_s']:.0f}s: "
                  f"{sections.summary(exp, r)}", flush=True)
    result["wall_time_s"] = time.perf_counter() - t0
    save_json(result, path)
    if exp == "rl":
        save_json(rl_summary(result), out_dir / "data" / "rl.json")
    return result


def merge_runs(exp: str, out_dir: Path, others: list[Path]) -> dict:
    """Append the runs saved under other output folders (e.g. extra seeds run in parallel with
    ``--out-dir X --set seed=1``) to ``<out>/data/minrnn_<exp>.json``; runs with an identical config are kept
    once, and the wall time grows by the runs actually added. Every file is read before anything is written."""
    path = out_dir / "data" / f"minrnn_{exp}.json"
    base = load_json(path)
    if base is None or exp == "runtime":
        raise ValueError(f"nothing to merge into: {path} is missing or exp is runtime")
    others = list(dict.fromkeys(Path(o).resolve() for o in others))  # each folder once
    loaded = []
    for other in others:
        d = load_json(other / "data" / f"minrnn_{exp}.json")
        if d is None:
            raise FileNotFoundError(f"{other}/data/minrnn_{exp}.json not found")
        loaded.append((other, d))
    seen = {json.dumps(r["config"], sort_keys=True) for r in base["runs"]}
    for other, d in loaded:
        added = 0
        for r in d["runs"]:
            key = json.dumps(r["config"], sort_keys=True)
            if key not in seen:
                seen.add(key)
                base["runs"].append(r)
                base["wall_time_s"] = base.get("wall_time_s", 0) + float(r.get("wall_time_s", 0.0))
                added += 1
        base.setdefault("merged_from", []).append({"dir": str(other), "machine": d["machine"], "runs_added": added})
    save_json(base, path)
    if exp == "rl":
        save_json(rl_summary(base), out_dir / "data" / "rl.json")
    return base


def write_report(out_dir: Path) -> Path:
    """Regenerate ``<out>/minrnn-paper.md`` (and plots) from the JSON files present."""
    data = {e: load_json(out_dir / "data" / f"minrnn_{e}.json") for e in EXPERIMENTS}
    md = sections.render(data, out_dir)
    path = out_dir / "minrnn-paper.md"
    path.write_text(md)
    return path


def _parse_kv(items: list[str], flag: str) -> dict:
    """["k=v", ...] -> {k: json.loads(v) or the raw string}."""
    out = {}
    for kv in items:
        if "=" not in kv:
            raise ValueError(f"{flag} expects KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def _check_keys(exps, scale: str, overrides: dict, where: dict) -> None:
    """--set keys must be config fields of some selected experiment, --where keys keys of some planned config
    (a typo silently ran the preset)."""
    planned, fields = {"group"}, set()
    for exp in exps:
        for c in plan(exp, scale, None):
            planned |= set(c)
        fields |= settable(exp, scale)
    for flag, given, keys in (("--set", overrides, fields), ("--where", where, planned)):
        unknown = sorted(set(given) - keys)
        if unknown:
            raise ValueError(f"{flag}: unknown key(s) {unknown}; the selected experiments have {sorted(keys)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="minrnn reproduce minrnn-paper", description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--only", nargs="+", choices=EXPERIMENTS, default=None, help="run only these experiments")
    p.add_argument("--out-dir", default="docs/results", help="report folder (JSON goes to OUT/data)")
    p.add_argument("--seeds", type=positive_int, default=None, help="override the number of seeds")
    p.add_argument("--limit", type=positive_int, default=None, help="run only the first N configs of each experiment")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                   help="override config keys of every run (value parsed as JSON), e.g. --set steps=10")
    p.add_argument("--where", nargs="+", default=[], metavar="KEY=VALUE",
                   help="run only the planned configs with these values, e.g. --where mixer=mamba (saved runs of "
                        "other configs are kept; an experiment with no matching config is skipped)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch.set_num_threads")
    p.add_argument("--report-only", action="store_true", help="only rebuild the markdown from saved JSON")
    p.add_argument("--allow-cpu", action="store_true",
                   help="run --scale gpu experiments although their tasks train on the CPU (see the error)")
    p.add_argument("--resume", action="store_true",
                   help="keep the runs already in OUT's JSON and run only the missing ones (after a crash)")
    p.add_argument("--merge", nargs="+", default=None, metavar="DIR",
                   help="append the runs saved under these output folders to OUT's JSON (for --only EXPs; "
                        "without --only, every experiment saved in both places), then rebuild the report")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    out = Path(a.out_dir)
    overrides, where = _parse_kv(a.set, "--set"), _parse_kv(a.where, "--where")
    if not a.report_only and not a.merge:
        _check_keys(a.only or EXPERIMENTS, a.scale, overrides, where)
        cpu_only = [e for e in (a.only or EXPERIMENTS) if e != "runtime"]
        if a.scale == "gpu" and cpu_only and not a.allow_cpu:
            raise ValueError(f"--scale gpu: {', '.join(cpu_only)} train on the CPU (their tasks have no device "
                             "option yet; only runtime uses CUDA), where the paper's configurations take weeks "
                             "(selective copying alone ~1000 h); pass --allow-cpu to run them anyway")
    if a.merge:
        exps = a.only or [e for e in EXPERIMENTS if e != "runtime"
                          and (out / "data" / f"minrnn_{e}.json").is_file()
                          and any((Path(m) / "data" / f"minrnn_{e}.json").is_file() for m in a.merge)]
        if not exps:
            raise ValueError(f"--merge: no experiment has saved runs both in {out} and in {' '.join(a.merge)}")
        for exp in exps:
            merge_runs(exp, out, [Path(m) for m in a.merge])
            print(f"merged {exp}", flush=True)
    failed = []
    if not a.merge and not a.report_only:
        for exp in a.only or EXPERIMENTS:
            print(f"=== {exp} ({a.scale}) ===", flush=True)
            t0 = time.perf_counter()
            try:
                run_experiment(exp, a.scale, out, a.seeds, a.limit, overrides, where, resume=a.resume)
            except (ImportError, FileNotFoundError, ValueError) as e:  # go on with the others, fail at the end
                print(f"!!! {exp} failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
                failed.append(f"{exp} ({type(e).__name__}: {e})")
            print(f"=== {exp} took {time.perf_counter() - t0:.0f}s ===", flush=True)
            write_report(out)
    print(f"wrote {write_report(out)}")
    if failed:
        raise ValueError(f"{len(failed)} experiment(s) failed: " + "; ".join(failed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
