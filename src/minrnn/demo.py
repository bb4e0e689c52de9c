"""``minrnn demo`` / ``make demo``: a minGRU and a same-shape Transformer character LM on Shakespeare (CPU).

Both models use the same backbone (width, depth, causal conv, MLP, norm), data, batches, schedule and seed;
only the sequence mixer differs. Prints both validation losses and wall times and a minGRU sample, and can
append the result as markdown (``--results FILE``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

DEMO_MODEL = {"d_model": 128, "n_layers": 3, "conv_kernel": 4, "mlp": True, "num_heads": 4}
DEMO_TRAIN = {"steps": 600, "batch_size": 32, "context": 128, "lr": 3e-3, "warmup_steps": 50,
              "min_lr_ratio": 0.1, "eval_every": 100, "eval_batches": 16}


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _default_threads() -> int:
    """2 threads (or the core count if smaller); 1 when other processes already load the cores, where two
    OpenMP threads contending for busy cores run several times slower than one."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0] > cores - 0.5
    except OSError:
        busy = False
    return 1 if busy else max(1, min(2, cores))


def _git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10).stdout.strip() or "n/a"
    except (OSError, subprocess.SubprocessError):
        return "n/a"


def _train(mixer: str, args, out: Path) -> dict:
    from minrnn.tasks import lm
    from minrnn.train import read_metrics

    cfg = {"model": {**DEMO_MODEL, "mixer": mixer}, "train": _train_config(args)}
    cfg_file = out / f"{mixer}.json"
    cfg_file.write_text(json.dumps(cfg, indent=2))
    argv = ["--data", args.data, "--out", str(out / mixer), "--config", str(cfg_file)]
    if args.no_progress:
        argv.append("--no-progress")
    load0 = _loadavg()
    t0 = time.perf_counter()
    lm.main(argv)
    wall = time.perf_counter() - t0
    last = read_metrics(out / mixer)[-1]
    model, _, _ = lm.load_run(out / mixer)
    return {"mixer": mixer, "val_loss": last["val_loss"], "train_loss": last["train_loss"], "wall_s": wall,
            "train_s": last["elapsed_s"], "params": model.num_parameters(), "loadavg_start": load0,
            "loadavg_end": _loadavg()}


def _train_config(args) -> dict:
    """DEMO_TRAIN with the run's steps and seed; the warmup shrinks for short runs (at most a tenth of them)."""
    warmup = min(DEMO_TRAIN["warmup_steps"], args.steps // 10)
    return {**DEMO_TRAIN, "steps": args.steps, "warmup_steps": warmup, "seed": args.seed, "device": "cpu"}


def _check_args(args) -> list[str]:
    """Validate the options before anything is trained or written; return the mixers of ``--mixers``."""
    from minrnn.devices import check_threads
    from minrnn.models import MIXERS, BackboneConfig
    from minrnn.train import TrainConfig

    if args.threads is not None:
        check_threads(args.threads, "--threads")
    if args.steps <= 0:
        raise ValueError(f"--steps must be a positive int, got {args.steps}")
    if not 0 <= args.seed < 2**32:
        raise ValueError(f"--seed must be an int in [0, 2**32), got {args.seed}")
    mixers = [m.strip() for m in args.mixers.split(",") if m.strip()]
    if not mixers:
        raise ValueError(f"--mixers must name at least one mixer (comma-separated, from {', '.join(MIXERS)}), "
                         f"got {args.mixers!r}")
    unknown = [m for m in mixers if m not in MIXERS]
    if unknown:
        raise ValueError(f"--mixers: unknown mixer(s) {unknown}; expected names from {', '.join(MIXERS)}")
    dups = sorted({m for m in mixers if mixers.count(m) > 1})
    if dups:
        raise ValueError(f"--mixers names {dups} more than once")
    TrainConfig(**_train_config(args))
    for m in mixers:
        BackboneConfig(**{**DEMO_MODEL, "mixer": m})
    if args.out:  # before anything trains: a reused --out would fail only after the first model's run
        from minrnn.train.checkpoint import holds_run

        taken = [m for m in mixers if holds_run(Path(args.out) / m / "checkpoint")]
        if taken:
            raise ValueError(f"--out {args.out} already holds demo runs of {', '.join(taken)}; choose another --out")
    return mixers


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="minrnn demo", description=__doc__.splitlines()[0])
    p.add_argument("--data", default="shakespeare", help="'shakespeare' or a UTF-8 text file")
    p.add_argument("--steps", type=int, default=DEMO_TRAIN["steps"])
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--threads", type=int,
                   help="torch CPU threads (default: 2, or 1 when the machine is already busy)")
    p.add_argument("--out", help="run directory (default: runs/demo-<UTC time>)")
    p.add_argument("--mixers", default="mingru,transformer", help="comma-separated mixers to compare")
    p.add_argument("--results", help="append a markdown record of this run to this file")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    mixers = _check_args(args)
    if args.threads is None:
        args.threads = _default_threads()
    torch.set_num_threads(args.threads)
    print(f"demo: {args.threads} torch thread(s), loadavg {_loadavg()}", file=sys.stderr)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or f"runs/demo-{stamp}")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = [_train(m, args, out) for m in mixers]
    from minrnn.tasks import lm

    model, _, vocab = lm.load_run(out / results[0]["mixer"])
    g = torch.Generator().manual_seed(args.seed)
    prompt = next(c for c in ("ROMEO:", "\n", vocab.chars[0]) if all(ch in vocab.stoi for ch in c))
    sample = vocab.decode(model.generate(vocab.encode(prompt), 300, temperature=0.8, generator=g))
    total = time.perf_counter() - t0
    width = max(len(r["mixer"]) for r in results)
    lines = [f"{'model':<{width}}  params     val loss (nats/char)  train (s)  wall (s)",
             *(f"{r['mixer']:<{width}}  {r['params']:<9,}  {r['val_loss']:<20.4f}  {r['train_s']:<9.0f}  "
               f"{r['wall_s']:.0f}" for r in results)]
    print("\n" + "\n".join(lines))
    print(f"\ntotal {total:.0f} s on {os.cpu_count()} CPU cores ({args.threads} torch threads), "
          f"loadavg now {_loadavg()}; runs in {out}")
    print(f"\n--- {results[0]['mixer']} sample (temperature 0.8) ---\n{sample}\n")
    if args.results:
        _write_results(Path(args.results), args, argv, results, total, sample)
    return 0


def _write_results(path: Path, args, argv, results, total, sample) -> None:
    cmd = ("python scripts/demo.py " if argv is None else "minrnn demo ") + shlex.join(
        sys.argv[1:] if argv is None else argv)
    if os.environ.get("MINRNN_DATA_DIR"):
        cmd = f"MINRNN_DATA_DIR={os.environ['MINRNN_DATA_DIR']} {cmd}"
    rows = "\n".join(f"| {r['mixer']} | {r['params']:,} | {r['val_loss']:.4f} | {r['train_loss']:.4f} | "
                     f"{r['wall_s']:.0f} | {r['loadavg_start']} -> {r['loadavg_end']} |" for r in results)
    text = f"""
## Demo run {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} (commit {_git_rev()})

- Command: `{cmd.strip()}`
- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs,
  {args.threads} torch threads, torch {torch.__version__}, Python {platform.python_version()}
- Config: model {json.dumps(DEMO_MODEL)},
  train {json.dumps({k: v for k, v in _train_config(args).items() if k not in ('seed', 'device')})}, seed {args.seed}
- Total wall time: {total:.0f} s

| model | params | val loss (nats/char) | train loss | wall (s) | loadavg start -> end |
|---|---|---|---|---|---|
{rows}

Sample ({results[0]['mixer']}, temperature 0.8):

```
{sample}
```
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
