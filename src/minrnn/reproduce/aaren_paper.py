"""``minrnn reproduce aaren-paper``: Aaren vs Transformer in the same task models ("Attention as an RNN").

Settings: ``tpp`` (event prediction), ``forecasting``, ``classification``, ``streaming`` (constant vs linear
memory per token), ``params`` (parameter counts), ``rl`` (read from the repro-minrnn helper's rl.json).
Each setting writes ``<data-dir>/aaren_<setting>.json`` after every finished run (partial results land),
then ``docs/results/aaren-paper.md`` is rebuilt from every JSON present.

    minrnn reproduce aaren-paper --scale cpu                 # everything
    minrnn reproduce aaren-paper --scale cpu --only tpp      # one setting (+ report)
    minrnn reproduce aaren-paper --only report               # rebuild the report only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from minrnn.cpu_memory import current_mode
from minrnn.reproduce import aaren_settings as S

SETTINGS = ("params", "tpp", "forecasting", "classification", "streaming")
KINDS = ("aaren", "transformer")


def machine_info() -> dict:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu_malloc": current_mode(), "note": "shared, noisy machine: other jobs ran at the same time"}


MISSING_DEFAULTS = {"device": "cpu"}   # config keys added after some recorded runs, with their old value
NOT_IDENTITY = ("data_dir",)  # where the files were found, not what was run: resuming from another path matches


class Recorder:
    """Accumulates runs of one setting and rewrites its JSON after each run."""

    def __init__(self, path: Path, setting: str, scale: str, extra: dict, seeds=None, resume: bool = False):
        self.path, self.t0 = path, time.perf_counter()
        self.seeds = list(seeds) if seeds else S.SEEDS[scale]
        self.doc = {"setting": setting, "scale": scale, "machine": machine_info(), "seeds": self.seeds,
                    "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "reductions": S.REDUCTIONS[scale], "complete": False, "runs": [], **extra}
        self.previous_seconds = 0.0
        if resume and path.exists():
            old = json.loads(path.read_text())
            if old.get("scale") == scale:
                self.doc["runs"] = old.get("runs", [])
                self.doc["started_utc"] = old.get("started_utc", self.doc["started_utc"])
                self.doc["seeds"] = sorted(set(self.seeds) | set(old.get("seeds", [])))
                self.previous_seconds = float(old.get("wall_seconds", 0.0))

    @staticmethod
    def _same(run: dict, cfg: dict, ignore: tuple[str, ...] = ()) -> bool:
        """True when ``run``'s config has every key of ``cfg`` with the same value, ``NOT_IDENTITY`` and
        ``ignore`` keys aside. A key that an older run's config lacks matches only its default
        (``MISSING_DEFAULTS``, e.g. device="cpu")."""
        rc = run.get("config")
        return isinstance(rc, dict) and all(
            rc[k] == v if k in rc else MISSING_DEFAULTS.get(k, object()) == v
            for k, v in cfg.items() if k not in NOT_IDENTITY and k not in ignore)

    def done(self, cfg: dict) -> bool:
        """True when a recorded run has the configuration ``cfg`` (resume)."""
        return any(self._same(r, cfg) for r in self.doc["runs"])

    def add(self, result: dict) -> None:
        """Record a run. It replaces a recorded run of the same configuration and seed that differs only in
        the device (a rerun with ``--resume --device cuda``): the file holds one run per seed, so the report's
        means and stds stay over seeds."""
        result = {k: v for k, v in result.items() if k != "config"} | {"config": result.get("config")}
        cfg = result["config"]
        if isinstance(cfg, dict):
            self.doc["runs"] = [r for r in self.doc["runs"] if not self._same(r, cfg, ignore=("device",))]
        self.doc["runs"].append(result)
        self.flush()

    def flush(self, complete: bool = False) -> None:
        self.doc["complete"] = complete
        self.doc["wall_seconds"] = self.previous_seconds + time.perf_counter() - self.t0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.doc, indent=1, default=float))
        tmp.replace(self.path)


def _log(msg: str) -> None:
    print(f"[{datetime.now(timezone.utc).strftime('%H:%M:%S')}] {msg}", flush=True)


def run_tpp(scale: str, rec: Recorder, data_dir, device: str = "cpu") -> None:
    from minrnn.tasks.tpp import run
    spec = S.TPP[scale]
    for ds, over in spec["datasets"].items():
        for seed in rec.seeds:
            for kind in KINDS:
                cfg = {"dataset": ds, "encoder": S.ENCODER[scale] | {"kind": kind}, "fit": spec["fit"],
                       "seed": seed, "data_dir": data_dir, "device": device, **spec["base"], **over}
                if rec.done(cfg):
                    continue
                r = run(cfg)
                _log(f"tpp {ds} {kind} seed {seed}: nll/event {r['test_nll_per_event']:.4f} "
                     f"({r['wall_seconds']:.0f}s)")
                rec.add(r)


def run_forecasting(scale: str, rec: Recorder, data_dir, device: str = "cpu") -> None:
    from minrnn.tasks.forecasting import run
    spec = S.FORECASTING[scale]
    for ds, horizon in spec["runs"]:
        for seed in rec.seeds:
            for kind in KINDS:
                cfg = {"dataset": ds, "pred_len": horizon, "encoder": S.ENCODER[scale] | {"kind": kind},
                       "fit": spec["fit"], "seed": seed, "data_dir": data_dir, "device": device,
                       **spec["base"]}
                if rec.done(cfg):
                    continue
                r = run(cfg)
                _log(f"forecasting {ds}-{horizon} {kind} seed {seed}: mse {r['test_mse']:.4f} "
                     f"mae {r['test_mae']:.4f} ({r['wall_seconds']:.0f}s)")
                rec.add(r)


def run_classification(scale: str, rec: Recorder, data_dir, device: str = "cpu") -> None:
    from minrnn.tasks.classification import run
    spec = S.CLASSIFICATION[scale]
    for ds, over in spec["datasets"].items():
        for seed in rec.seeds:
            for kind in KINDS:
                cfg = {"dataset": ds, "encoder": S.ENCODER[scale] | {"kind": kind}, "fit": spec["fit"],
                       "seed": seed, "data_dir": data_dir, "device": device, **over}
                if rec.done(cfg):
                    continue
                r = run(cfg)
                _log(f"classification {ds} {kind} seed {seed}: acc {r['test_accuracy']:.4f} "
                     f"({r['wall_seconds']:.0f}s)")
                rec.add(r)


def run_params(scale: str, rec: Recorder, data_dir, device: str = "cpu") -> None:
    from torch import nn

    from minrnn.layers import AarenEncoderLayer
    for d, h, ff in ((512, 8, 2048), (64, 4, 256), (32, 4, 64)):
        for kind, cls in (("aaren", AarenEncoderLayer), ("transformer", nn.TransformerEncoderLayer)):
            n = sum(p.numel() for p in cls(d, h, dim_feedforward=ff).parameters())
            rec.add({"kind": kind, "d_model": d, "nhead": h, "dim_feedforward": ff, "parameters": n,
                     "module": cls.__module__ + "." + cls.__name__})


def run_streaming(scale: str, out_dir: Path) -> None:
    from minrnn.bench.streaming import main as bench
    bench([*S.STREAMING[scale], "--out-dir", str(out_dir), "--json-name", "aaren_streaming.json"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="minrnn reproduce aaren-paper", description=__doc__.split("\n")[0])
    p.add_argument("--scale", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--only", choices=(*SETTINGS, "report"), action="append",
                   help="run only these settings (repeatable); 'report' just rebuilds the report")
    p.add_argument("--data-dir", default=None, help="datasets root (default: $MINRNN_DATA_DIR)")
    p.add_argument("--out-dir", default="docs/results/data", help="where the raw JSON goes")
    p.add_argument("--report", default=None,
                   help="the markdown report (default: docs/results/aaren-paper.md for the default --out-dir, "
                        "else OUT_DIR/aaren-paper.md, so a scratch run never overwrites the committed report)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="override the scale's seeds")
    p.add_argument("--resume", action="store_true",
                   help="keep the runs already in the setting's JSON and skip configs already run")
    p.add_argument("--device", default=None,
                   help="torch device for training (default: cuda at --scale gpu when available, else cpu)")
    args = p.parse_args(argv)
    from minrnn.devices import check_device, check_threads

    if check_threads(args.threads, allow_zero=True):
        torch.set_num_threads(args.threads)
    if args.device is not None:
        check_device(args.device)
    if args.seeds is not None and any(s < 0 for s in args.seeds):
        raise ValueError(f"--seeds must be ints >= 0, got {args.seeds}")
    out_dir = Path(args.out_dir)
    if args.report is None:  # the committed report only for the committed data folder, else inside --out-dir
        default_out = Path(p.get_default("out_dir")).resolve()
        args.report = ("docs/results/aaren-paper.md" if out_dir.resolve() == default_out
                       else str(out_dir / "aaren-paper.md"))
    device = args.device or ("cuda" if args.scale == "gpu" and torch.cuda.is_available() else "cpu")
    if args.scale == "gpu" and device == "cpu":
        _log("--scale gpu on the CPU: no CUDA device here, so the paper-scale runs train on the CPU (slow)")
    todo = [s for s in SETTINGS if not args.only or s in args.only]
    runners = {"tpp": run_tpp, "forecasting": run_forecasting, "classification": run_classification,
               "params": run_params}
    for setting in todo:
        _log(f"setting {setting} (scale {args.scale})")
        if setting == "streaming":
            run_streaming(args.scale, out_dir)
            continue
        extra = {"encoder": S.ENCODER[args.scale], "device": device} if setting != "params" else {}
        rec = Recorder(out_dir / f"aaren_{setting}.json", setting, args.scale, extra, args.seeds,
                       args.resume and setting != "params")
        runners[setting](args.scale, rec, args.data_dir, device)
        rec.flush(complete=True)
    from minrnn.reproduce.aaren_report import write_report
    write_report(out_dir, Path(args.report))
    _log(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
