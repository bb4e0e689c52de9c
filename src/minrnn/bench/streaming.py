"""Streaming benchmark: N tokens one at a time through an Aaren stack (O(1) state) vs a Transformer stack
with a KV cache (O(N) memory, O(N) work per token, so O(N^2) cumulative time).

Each model runs in its own subprocess (so the process peak RSS is its own). At checkpoints N = 2^k it records
cumulative wall and process CPU time (CPU time is robust to other jobs on a shared machine), state bytes
(Aaren: (m, u, w) of every layer; Transformer: the filled K/V cache) and the process peak RSS (VmHWM).
Writes ``streaming.json`` and two PNG plots under ``--out-dir``.

CLI: ``minrnn bench streaming --max-tokens 16384 --d-model 128 --nhead 4 --layers 2``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from minrnn.bench.kv_cache import transformer_step
from minrnn.layers import AarenEncoderLayer


def peak_rss_bytes() -> int:
    """This process's peak resident set size: VmHWM from /proc (reset by exec, unlike ru_maxrss, which a
    child inherits from its parent on Linux), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _state_bytes(state) -> int:
    return sum(t.numel() * t.element_size() for layer in state for t in layer)


def stream(kind: str, max_tokens: int, d_model: int, nhead: int, ff: int, layers: int, batch: int = 1,
           seed: int = 0) -> dict:
    """Stream ``max_tokens`` tokens through one model in this process and record checkpoints."""
    if kind not in ("aaren", "transformer"):
        raise ValueError(f"kind must be 'aaren' or 'transformer', got {kind!r}")
    torch.manual_seed(seed)
    cls = AarenEncoderLayer if kind == "aaren" else nn.TransformerEncoderLayer
    stack = nn.ModuleList(cls(d_model, nhead, dim_feedforward=ff, dropout=0.0, batch_first=True,
                              norm_first=True)
                          for _ in range(layers)).eval()
    gen = torch.Generator().manual_seed(seed)
    base_rss = peak_rss_bytes()
    points, checkpoints = [], {2 ** k for k in range(0, max_tokens.bit_length() + 1)} | {max_tokens}
    state, cache, elapsed, cpu = [None] * layers, None, 0.0, 0.0
    with torch.inference_mode():
        for n in range(1, max_tokens + 1):
            x = torch.randn(batch, d_model, generator=gen)
            t0, c0 = time.perf_counter(), time.process_time()
            if kind == "aaren":
                for i, layer in enumerate(stack):
                    x, state[i] = layer.step(x, state[i])
            else:
                x, cache = transformer_step(stack, x, cache)
            elapsed += time.perf_counter() - t0
            cpu += time.process_time() - c0
            if n in checkpoints:
                sb = _state_bytes(state) if kind == "aaren" else cache.cache_bytes()
                points.append({"tokens": n, "cumulative_seconds": elapsed, "cumulative_cpu_seconds": cpu,
                               "state_bytes": sb,
                               "peak_rss_bytes": peak_rss_bytes()})
    return {"kind": kind, "baseline_rss_bytes": base_rss, "points": points,
            "parameters": sum(p.numel() for p in stack.parameters())}


def plot(result: dict, out_dir: Path, prefix: str = "") -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for key, ylabel, name in (("state_bytes", "state / KV-cache bytes", "streaming_memory.png"),
                              ("cumulative_cpu_seconds", "cumulative CPU time (s)",
                               "streaming_time.png")):
        name = f"{prefix}{name}"
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for run in result["runs"]:
            pts = run["points"]
            ys = [p.get(key, p["cumulative_seconds"]) for p in pts]
            ax.plot([p["tokens"] for p in pts], ys, marker="o", ms=3, label=run["kind"])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("tokens streamed N")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{ylabel} vs N (CPU, batch 1)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        files.append(str(out_dir / name))
    return files


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="minrnn bench streaming", description=__doc__.split("\n")[0])
    p.add_argument("--max-tokens", type=int, default=16384)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--nhead", type=int, default=4)
    p.add_argument("--dim-feedforward", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out-dir", default="docs/results/data")
    p.add_argument("--json-name", default="streaming.json")
    p.add_argument("--worker", choices=("aaren", "transformer"), help=argparse.SUPPRESS)
    p.add_argument("--replot", action="store_true", help="only redraw the plots from an existing JSON")
    args = p.parse_args(argv)
    if args.replot:
        out_dir = Path(args.out_dir)
        result = json.loads((out_dir / args.json_name).read_text())
        print("\n".join(plot(result, out_dir, Path(args.json_name).stem.replace("streaming", ""))))
        return 0
    from minrnn.devices import check_threads

    if args.max_tokens < 1:
        raise ValueError(f"--max-tokens must be >= 1, got {args.max_tokens}")
    torch.set_num_threads(check_threads(args.threads))
    shape = (args.max_tokens, args.d_model, args.nhead, args.dim_feedforward, args.layers, args.batch)
    if args.worker:
        print(json.dumps(stream(args.worker, *shape)))
        return 0
    runs, started = [], time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for kind in ("aaren", "transformer"):
        cmd = [sys.executable, "-m", "minrnn.bench.streaming", "--worker", kind]
        for flag in ("threads", "max_tokens", "d_model", "nhead", "dim_feedforward", "layers", "batch"):
            cmd += ["--" + flag.replace("_", "-"), str(getattr(args, flag))]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:  # the worker's own message, not CalledProcessError's command line
            why = (out.stderr.strip().splitlines() or ["no output"])[-1]
            raise ValueError(f"the {kind} streaming worker failed: {why}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {"setting": "streaming", "config": vars(args) | {"worker": None}, "runs": runs,
              "started_utc": started,
              "machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "torch": torch.__version__, "threads": args.threads}}
    result["plots"] = plot(result, out_dir, Path(args.json_name).stem.replace("streaming", ""))
    (out_dir / args.json_name).write_text(json.dumps(result, indent=1))
    for run in runs:
        last = run["points"][-1]
        print(f"{run['kind']:12s} N={last['tokens']}: {last['cumulative_seconds']:.2f}s, "
              f"state {last['state_bytes']} B, peak RSS {last['peak_rss_bytes'] / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
