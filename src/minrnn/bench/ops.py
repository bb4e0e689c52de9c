"""Benchmark of the scan ops and layers against baselines timed in the same run (``minrnn bench ops``).

Sections:

1. ``scan``: ``min_gru`` forward+backward with the fastest backend (``auto``) against one elementwise multiply
   over a (B, T, D) tensor (``x_multiply``: the multiply allocates its output like any op does;
   ``x_multiply_prealloc``: it writes into a preallocated one, which leaves out the page faults of fresh memory
   and so is the pure memory-bandwidth yardstick), the paper's log-space scan (our ``log_space`` backend, the
   algorithm of lucidrains/minGRU-pytorch), that package's own code when installed (``pip install minGRU-pytorch``), and
   our pure-PyTorch ``chunked`` backend.
2. ``layer``: MinGRU / MinLSTM layers (expansion 1) forward+backward against their input projection alone
   and against ``torch.nn.GRU`` / ``torch.nn.LSTM`` of the same size.
3. ``step``: per-token ``step()`` latency after 1k and 64k tokens of context (it should be flat).

Every number is the median of ``--repeats`` timed runs after one warm-up (``--slow-repeats`` for the slow
baselines: nn.GRU, nn.LSTM and the log-space scans). Results are printed and written as
CSV and markdown into ``--out`` (default ``benchmarks/results``) with the command, machine and load.

    python -m minrnn.bench.ops --quick
    python -m minrnn.bench.ops --sections scan,layer --T 2048 --D 64,256 --threads 1
    python -m minrnn.bench.ops --device cuda --dtype bfloat16   # GPU: ``auto`` selects the Triton kernels

On a shared or oversubscribed CPU, ``--threads 1`` gives steadier numbers (torch's own OpenMP regions stall
when a core is taken by another process).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

import minrnn.functional as MF
from minrnn.argtypes import positive_int, positive_ints
from minrnn.cpu_memory import MODES
from minrnn.cpu_memory import configure as configure_malloc
from minrnn.layers import MinGRU, MinLSTM
from minrnn.ops import registry


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_it(fn: Callable[[], object], repeats: int, device: str) -> float:
    """Median seconds of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_interleaved(fns: dict[str, tuple[Callable[[], object], int]], device: str) -> dict[str, float]:
    """Median seconds of each ``fn`` given as ``name: (fn, repeats)``, timed round-robin (one warm-up each)
    so that load changes on a shared machine hit every case alike."""
    for fn, _ in fns.values():
        fn()
    _sync(device)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for i in range(max(r for _, r in fns.values())):
        for name, (fn, reps) in fns.items():
            if i < reps:
                t0 = time.perf_counter()
                fn()
                _sync(device)
                times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def machine_info(device: str) -> dict:
    """nproc, CPU model, load average, torch version, threads, GPU name."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "nproc": os.cpu_count(),
        "cpu": model,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _fwd_bwd(fn: Callable[[], torch.Tensor], leaves: list[torch.Tensor]) -> Callable[[], None]:
    def run():
        for x in leaves:
            x.grad = None
        out = fn()
        out.backward(torch.ones_like(out))

    return run


def _mingru_pytorch():
    """lucidrains' minGRU-pytorch parallel path as an op on (gate, candidate), or None when not installed."""
    try:
        from minGRU_pytorch.minGRU import heinsen_associative_scan_log, log_g
    except ImportError:
        return None
    import torch.nn.functional as F

    def op(gate, hidden):
        log_coeffs = -F.softplus(gate)
        log_values = -F.softplus(-gate) + log_g(hidden)
        return heinsen_associative_scan_log(log_coeffs, log_values)

    return op


def bench_scan(B: int, T: int, D: int, dtype, device: str, repeats: int, slow_repeats: int) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    gate = torch.randn(B, T, D, generator=g).to(device, dtype).requires_grad_()
    cand = torch.randn(B, T, D, generator=g).to(device, dtype).requires_grad_()
    other = torch.randn(B, T, D, generator=g).to(device, dtype)
    fast = registry.select("min_gru", "auto", (gate, cand, None), lambda: (gate, cand, None))[0].name
    out = torch.empty_like(other)
    fns = {
        "elementwise multiply x*y (fwd)": (lambda: gate.detach() * other, repeats),
        "elementwise multiply into a preallocated output (fwd)": (
            lambda: torch.mul(gate.detach(), other, out=out),
            repeats,
        ),
    }
    candidates = [
        (f"min_gru {fast} (auto)", fast, repeats),
        ("min_gru chunked", "chunked", slow_repeats),
        ("min_gru log_space (paper)", "log_space", slow_repeats),
    ]
    for name, backend, reps in candidates:
        fns[name + " fwd+bwd"] = (
            _fwd_bwd(lambda b=backend: MF.min_gru(gate, cand, backend=b)[0], [gate, cand]),
            reps,
        )
    if fast == "cpu_fused" and dtype in (torch.float32, torch.float64):
        from minrnn.ops.cpu_fused.ops import kernels_only

        fns["min_gru cpu_fused kernels only (preallocated buffers) fwd+bwd"] = (
            kernels_only("min_gru", [gate, cand], torch.zeros(B, D, dtype=dtype), torch.ones_like(other)),
            repeats,
        )
    lucid = _mingru_pytorch()
    if lucid is not None:
        fns["min_gru minGRU-pytorch (lucidrains) fwd+bwd"] = (
            _fwd_bwd(lambda: lucid(gate, cand), [gate, cand]),
            slow_repeats,
        )
    res = time_interleaved(fns, device)
    rows = [{"case": k, "seconds": v} for k, v in res.items()]
    base, bandwidth, fast_t = (r["seconds"] for r in rows[:3])
    for r in rows:
        r.update(section="scan", B=B, T=T, D=D, x_multiply=r["seconds"] / base,
                 x_multiply_prealloc=r["seconds"] / bandwidth, x_fast=r["seconds"] / fast_t)
    return rows


def bench_layer(B: int, T: int, D: int, dtype, device: str, repeats: int, slow_repeats: int) -> list[dict]:
    torch.manual_seed(0)
    x = torch.randn(B, T, D, device=device, dtype=dtype, requires_grad=True)
    rows = []
    for name, layer_cls, n_parts, rnn_cls in (
        ("MinGRU", MinGRU, 2, torch.nn.GRU),
        ("MinLSTM", MinLSTM, 3, torch.nn.LSTM),
    ):
        layer = layer_cls(D, D, expansion=1.0).to(device, dtype)
        proj = torch.nn.Linear(D, n_parts * D).to(device, dtype)
        rnn = rnn_cls(D, D, batch_first=True).to(device, dtype)
        params = [x, *layer.parameters(), *proj.parameters(), *rnn.parameters()]
        res = time_interleaved(
            {
                "layer": (_fwd_bwd(lambda m=layer: m(x)[0], params), repeats),
                "proj": (_fwd_bwd(lambda m=proj: m(x), params), repeats),
                "rnn": (_fwd_bwd(lambda m=rnn: m(x)[0], params), slow_repeats),
            },
            device,
        )
        t_layer, t_proj, t_rnn = res["layer"], res["proj"], res["rnn"]
        for case, t in (
            (f"{name} layer fwd+bwd", t_layer),
            (f"{name} input projection only fwd+bwd", t_proj),
            (f"torch.nn.{rnn_cls.__name__} fwd+bwd", t_rnn),
        ):
            rows.append(
                {
                    "section": "layer",
                    "case": case,
                    "B": B,
                    "T": T,
                    "D": D,
                    "seconds": t,
                    "x_projection": t / t_proj,
                    "x_layer": t / t_layer,
                }
            )
    return rows


def bench_step(D: int, contexts: list[int], steps: int, dtype, device: str, repeats: int = 3) -> list[dict]:
    from minrnn.layers import Aaren

    torch.manual_seed(0)
    rows = []
    layers = {"MinGRU": MinGRU(D, D), "MinLSTM": MinLSTM(D, D), "Aaren": Aaren(D, num_heads=4 if D % 4 == 0 else 1)}
    for name, layer in layers.items():
        layer = layer.to(device, dtype).eval()
        for ctx in contexts:
            with torch.no_grad():
                _, state = layer(torch.randn(1, ctx, D, device=device, dtype=dtype))
                xs = torch.randn(steps, 1, D, device=device, dtype=dtype)

                def run(state=state, layer=layer, xs=xs):
                    st = state
                    for i in range(steps):
                        _, st = layer.step(xs[i], st)

                t = time_it(run, repeats, device) / steps
            rows.append(
                {
                    "section": "step",
                    "case": f"{name}.step after {ctx} tokens",
                    "B": 1,
                    "T": ctx,
                    "D": D,
                    "seconds": t,
                    "us_per_token": t * 1e6,
                }
            )
    return rows


#: column order of the printed tables; other keys follow in the order they first appear
_KEYS = ["section", "case", "B", "T", "D", "seconds", "x_multiply", "x_multiply_prealloc", "x_fast",
         "x_projection", "x_layer", "us_per_token"]


def _fmt_table(rows: list[dict]) -> str:
    keys = [k for k in _KEYS if any(k in r for r in rows)]
    keys += [k for k in dict.fromkeys(k for r in rows for k in r) if k not in keys]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k, "")
            cells.append(
                f"{v * 1e3:.3g} ms" if k == "seconds" and isinstance(v, float)
                else f"{v:.3g}" if isinstance(v, float) else str(v)
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: sizes of a full run and of ``--quick``; a flag given on the command line wins over both
_SIZES = {
    "full": dict(B=16, T=[512, 1024, 2048, 4096], D=[64, 256], contexts=[1024, 65536], steps=200, repeats=7,
                 slow_repeats=3),
    "quick": dict(B=4, T=[256, 512], D=[64], contexts=[1024, 4096], steps=50, repeats=3, slow_repeats=1),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="minrnn bench ops",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sections", default="scan,layer,step", help="comma-separated: scan, layer, step")
    def sizes(key: str) -> str:
        full, quick = _SIZES["full"][key], _SIZES["quick"][key]
        show = (lambda v: ",".join(map(str, v))) if isinstance(full, list) else str
        return f"(default {show(full)}; --quick: {show(quick)})"

    p.add_argument("--B", type=positive_int, default=None, help=f"batch size {sizes('B')}")
    p.add_argument("--T", type=positive_ints, default=None, help=f"sequence lengths {sizes('T')}")
    p.add_argument("--D", type=positive_ints, default=None, help=f"widths {sizes('D')}")
    p.add_argument("--contexts", type=positive_ints, default=None, help=f"step(): context lengths {sizes('contexts')}")
    p.add_argument("--steps", type=positive_int, default=None,
                   help=f"step(): tokens timed per measurement {sizes('steps')}")
    p.add_argument("--repeats", type=positive_int, default=None,
                   help=f"timed runs per case (median) {sizes('repeats')}")
    p.add_argument("--slow-repeats", type=positive_int, default=None,
                   help=f"timed runs of the slow baselines {sizes('slow_repeats')}")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64", "bfloat16", "float16"])
    p.add_argument("--threads", type=positive_int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--malloc", choices=MODES, default=None,
                   help="keep: freed memory stays in the heap, so reuse costs no page faults (minrnn.cpu_memory); "
                        "default: glibc's own policy (default: $MINRNN_CPU_MALLOC, else default)")
    p.add_argument("--out", default="benchmarks/results", help="folder for the CSV and markdown results")
    p.add_argument("--quick", action="store_true",
                   help="small sizes for a smoke run (the sizes you do not give; see each size's --quick value)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = [s for s in sections if s not in ("scan", "layer", "step")]
    if bad:
        raise SystemExit(f"--sections: unknown {bad}; choose from scan, layer, step")
    for key, value in _SIZES["quick" if args.quick else "full"].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    malloc = configure_malloc(args.malloc)
    info = dict(machine_info(args.device), malloc=malloc)
    command = "python -m minrnn.bench.ops " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"# {command}\n# {info}", flush=True)
    rows: list[dict] = []
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = f"ops_{args.device.split(':')[0]}_{stamp}{'_quick' if args.quick else ''}"
    for T in args.T:
        for D in args.D:
            if "scan" in sections:
                new = bench_scan(args.B, T, D, dtype, args.device, args.repeats, args.slow_repeats)
                rows += new
                print(_fmt_table(new), flush=True)
            if "layer" in sections:
                rows += bench_layer(args.B, T, D, dtype, args.device, args.repeats, args.slow_repeats)
                print(_fmt_table(rows[-6:]), flush=True)
            write_results(rows, info, command, name, stamp, args, final=False)
    if "step" in sections:
        for D in args.D:
            rows += bench_step(D, args.contexts, args.steps, dtype, args.device, args.repeats)
        print(_fmt_table([r for r in rows if r["section"] == "step"]), flush=True)
    write_results(rows, info, command, name, stamp, args, final=True)
    return 0


def write_results(rows: list[dict], info: dict, command: str, name: str, stamp: str, args, final: bool) -> None:
    """Write (and, during the run, rewrite) ``<args.out>/<name>.csv`` and ``.md`` with the command, date,
    device, dtype and machine on top; the load at the end goes in too."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info = dict(info, loadavg_now=" ".join(f"{x:.2f}" for x in os.getloadavg()), complete=final)
    stem = out / name
    header = [f"command: {command}", f"date (UTC): {stamp}",
              f"device: {args.device}, dtype: {args.dtype}"]
    header += [f"{k}: {v}" for k, v in info.items()]
    first = ["section", "case", "B", "T", "D"]
    fields = sorted({k for r in rows for k in r}, key=lambda k: first.index(k) if k in first else 10)
    with open(stem.with_suffix(".csv"), "w", newline="") as f:
        for line in header:
            f.write(f"# {line}\n")
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    title = name.split("_", 1)[0]
    md = [f"# minrnn bench {title}", "", *[f"- {line}" for line in header], "", _fmt_table(rows), ""]
    stem.with_suffix(".md").write_text("\n".join(md))
    if final:
        print(f"wrote {stem}.csv and {stem}.md")


if __name__ == "__main__":
    raise SystemExit(main())
