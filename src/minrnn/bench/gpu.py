"""GPU comparisons of the scan kernels (``minrnn bench gpu``): the GPU targets of the fast-kernels issue.

Sections (``--sections``, all by default):

1. ``copy``: a large device-to-device copy, counting bytes read plus bytes written: the bandwidth this GPU
   actually reaches, beside the datasheet peak of its model when :data:`PEAK_BANDWIDTH` knows the name.
2. ``scan``: forward and forward+backward of our ``linear_scan``, ``min_gru``, ``min_lstm`` and ``aaren``
   (backend ``auto``: the Triton kernels on CUDA), the first against the HGRN kernels of
   flash-linear-attention (PyPI ``fla-core``: ``chunk_hgrn``, ``fused_recurrent_hgrn``, which compute
   h_t = exp(g_t) h_{t-1} + x_t) and accelerated-scan (PyPI ``accelerated-scan``: ``scalar`` in Triton,
   ``warp`` in CUDA C++ built on first use), each on the same (B, T, D) in its own layout (the transposes are
   not timed). Every outside implementation is first checked against ours on the same inputs
   (``max_rel_err``). ``GBps`` is the effective bandwidth: the fewest bytes the problem needs (each input read
   once, each output written once, see :data:`UNITS` and :data:`AAREN_HEADS`) over the time; ``pct_copy`` and
   ``pct_peak`` put it against the two ceilings; ``x_vs_ours`` is a time over ours.
3. ``step``: the minRNN paper's training-step benchmark, B=64, T=4096 (one layer forward + backward as in
   ``minrnn bench runtime``), against the paper's T4 figures (``x_vs_paper_t4`` = paper time / ours). The
   layer width of the paper's timing is not in the text available here; ``--hidden`` (default 128, the
   runtime preset's) says which was used, and the row names it.
4. ``sweep``: our kernels under each Triton launch configuration of :data:`SWEEP` (block shape, warps,
   pipelining stages, pieces in parallel, the single-pass look-back), to choose the defaults from
   measurements.

Outside packages that are missing give a row with the reason instead of a time. On a CPU the section ``scan``
runs our ops only (the outside kernels need CUDA), which is what the unit test exercises.

    python -m minrnn.bench.gpu                      # all sections, float32
    python -m minrnn.bench.gpu --dtype bfloat16 --sections scan
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import re
import sys
from collections.abc import Callable, Iterator

import torch

import minrnn.functional as MF
from minrnn.argtypes import positive_ints
from minrnn.bench.ops import machine_info, time_it, write_results

#: datasheet memory bandwidth in bytes/s by a model name in ``torch.cuda.get_device_name()`` (first key found as
#: whole words: "L4" does not match "NVIDIA L40", nor "A100" "RTX A1000")
PEAK_BANDWIDTH = (
    ("H200", 4.8e12),
    ("H100 NVL", 3.9e12),
    ("H100 PCIe", 2.0e12),
    ("H100", 3.35e12),
    ("A100-SXM4-80GB", 2.039e12),
    ("A100 80GB PCIe", 1.935e12),
    ("A100", 1.555e12),
    ("L40S", 0.864e12),
    ("L40", 0.864e12),
    ("L4", 0.3e12),
    ("A10G", 0.6e12),
    ("A10", 0.6e12),
    ("T4", 0.32e12),
    ("RTX 4090", 1.008e12),
)

#: elements moved per (b, t, d) by the fewest-bytes version of each problem: (forward, forward + backward).
#: Forward reads the inputs and writes h; backward reads the inputs, h (for h_{t-1}) and dL/dh and writes one
#: gradient per input.
UNITS = {"linear_scan": (3, 8), "min_gru": (3, 9), "min_lstm": (4, 12)}

#: launch configurations timed by the ``sweep`` section: (block_t, block_d, num_warps, num_stages, segment
#: [, lookback]), the fields of :class:`minrnn.ops.triton.ops.LaunchConfig`
SWEEP = [(bt, bd, w, None, None) for bt in (32, 64, 128) for bd in (16, 32, 64) for w in (2, 4, 8)]
SWEEP += [(bt, 32, 4, s, None) for bt in (32, 64) for s in (1, 2, 4)]  # pipelining depth (None: 3)
SWEEP += [(64, bd, 4, None, seg) for bd in (16, 32) for seg in (1024, 4096)]  # pieces in parallel
SWEEP += [(bt, bd, 4, None, None, True) for bt in (32, 64) for bd in (16, 32)]  # single-pass look-back

SHAPES = [(16, 2048, 256), (64, 4096, 128), (8, 4096, 2048), (4, 65536, 512)]


def peak_bandwidth(name: str) -> float | None:
    """Datasheet bandwidth (bytes/s) of the GPU called ``name``, or None when unknown."""
    return next((bw for key, bw in PEAK_BANDWIDTH
                 if re.search(rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])", name)), None)


def _timer(device: str, repeats: int) -> Callable[[Callable[[], object]], float]:
    """Median seconds of a call: CUDA events through ``triton.testing.do_bench`` on a GPU, wall clock else."""
    if device.startswith("cuda"):
        from triton.testing import do_bench

        return lambda fn: do_bench(fn, warmup=25, rep=max(100, 20 * repeats), return_mode="median") / 1e3
    return lambda fn: time_it(fn, repeats, device)


def copy_bandwidth(device: str, nbytes: int, timer) -> float:
    """Bytes/s of ``dst.copy_(src)`` over ``nbytes`` (read + written counted)."""
    src = torch.randn(nbytes // 4, device=device)
    dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / timer(lambda: dst.copy_(src))


def _rel_err(got: torch.Tensor, want: torch.Tensor) -> float:
    got, want = got.double(), want.double()
    return float((got - want).norm() / want.norm().clamp_min(1e-30))


def _inputs(op: str, B: int, T: int, D: int, dtype, device: str, seed: int = 0) -> list[torch.Tensor]:
    """Inputs of ``op`` (B, T, D): for ``linear_scan`` a in (0, 1) and b; for the gated ops their logits."""
    g = torch.Generator().manual_seed(seed)
    n = {"linear_scan": 2, "min_gru": 2, "min_lstm": 3}[op]
    xs = [torch.randn(B, T, D, generator=g) for _ in range(n)]
    if op == "linear_scan":
        xs[0] = torch.sigmoid(xs[0] + 2.0)
    return [x.to(device, dtype) for x in xs]


_IMPORT_FAILED: dict[str, str] = {}


def _outside_scans(a: torch.Tensor, b: torch.Tensor, allow_cpu: bool = False) -> dict[str, tuple | str]:
    """Outside implementations of h_t = a_t h_{t-1} + b_t for (B, T, D) inputs ``a``, ``b``, each as
    ``name: (fn, leaves, time_major)`` where ``fn()`` returns h from ``leaves`` made in its own layout (leaves
    and h are (B, D, T) when ``time_major``), or ``name: reason`` when it cannot run here. ``allow_cpu``: try
    them on CPU tensors too (their Triton kernels under ``TRITON_INTERPRET=1``, for tests)."""
    if a.device.type != "cuda" and not allow_cpu:
        return {"fla / accelerated-scan": "needs CUDA"}
    out: dict[str, tuple | str] = {}
    try:
        from fla.ops.hgrn import chunk_hgrn, fused_recurrent_hgrn
    except Exception as e:  # not installed, or (importing all of fla.ops) incompatible with this triton
        out["fla hgrn"] = f"unavailable (pip install fla-core): {type(e).__name__}: {str(e)[:120]}"
    else:
        for name, hgrn in (("fla chunk_hgrn", chunk_hgrn), ("fla fused_recurrent_hgrn", fused_recurrent_hgrn)):
            x = b.detach().clone().requires_grad_()
            g = a.detach().float().log().to(a.dtype).requires_grad_()
            out[name] = ((lambda f=hgrn, x=x, g=g: f(x, g)[0]), [x, g], False)
    for mod in ("scalar", "warp"):
        if mod in _IMPORT_FAILED:  # a failed CUDA build of 'warp' takes a minute: try it once per process
            out[f"accelerated-scan {mod}"] = _IMPORT_FAILED[mod]
            continue
        try:
            scan = importlib.import_module(f"accelerated_scan.{mod}").scan
        except Exception as e:  # ImportError, or the CUDA build of 'warp' failing
            out[f"accelerated-scan {mod}"] = _IMPORT_FAILED[mod] = f"unavailable: {type(e).__name__}: {str(e)[:120]}"
            continue
        ga, tb = (x.detach().transpose(1, 2).contiguous().requires_grad_() for x in (a, b))
        out[f"accelerated-scan {mod}"] = ((lambda f=scan, ga=ga, tb=tb: f(ga, tb)), [ga, tb], True)
    return out


def _fwd_and_bwd(fn: Callable[[], torch.Tensor], leaves: list[torch.Tensor], grad: torch.Tensor):
    def fwd():
        with torch.no_grad():
            return fn()

    def fwd_bwd():
        for x in leaves:
            x.grad = None
        fn().backward(grad)

    return fwd, fwd_bwd


#: Aaren in the 'scan' section: heads of D / AAREN_HEADS channels. Per token it reads the scores (H) and values
#: (D) and writes the output (D) and the running maxima and sums (2 H, saved for backward); backward reads those
#: five and dL/do and writes the score and value gradients.
AAREN_HEADS = 4


def _aaren_case(B: int, T: int, D: int, dtype, device: str):
    g = torch.Generator().manual_seed(0)
    H = AAREN_HEADS
    s = (torch.randn(B, T, H, generator=g) * 2).to(device, dtype).requires_grad_()
    v = torch.randn(B, T, H, D // H, generator=g).to(device, dtype).requires_grad_()
    grad = torch.randn(B, T, H, D // H, device=device, dtype=dtype)
    fwd, fwd_bwd = _fwd_and_bwd(lambda: MF.aaren(s, v)[0], [s, v], grad)
    E, S = B * T * D, B * T * H
    return fwd, fwd_bwd, 2 * E + 3 * S, 6 * E + 7 * S


def bench_scan(B: int, T: int, D: int, dtype, device: str, timer, copy_bps: float | None,
               peak_bps: float | None) -> list[dict]:
    """Our ops (and, for linear_scan, the outside kernels) on (B, T, D); see the module docstring."""
    rows = []
    esize = torch.empty((), dtype=dtype).element_size()
    grad = torch.randn(B, T, D, device=device, dtype=dtype)
    base = dict(section="scan", B=B, T=T, D=D)
    # (name, op, fwd, fwd_bwd, max_rel_err or None for ours, elements moved forward, forward + backward)
    cases = []
    for op, (u_fwd, u_all) in UNITS.items():
        xs = [x.requires_grad_() for x in _inputs(op, B, T, D, dtype, device)]
        fwd, fwd_bwd = _fwd_and_bwd(lambda op=op, xs=xs: getattr(MF, op)(*xs)[0], xs, grad)
        n = B * T * D
        cases.append((f"{op} ours (auto)", op, fwd, fwd_bwd, None, u_fwd * n, u_all * n))
        if op != "linear_scan":
            continue
        want = fwd()
        for name, spec in _outside_scans(xs[0], xs[1]).items():
            if isinstance(spec, str):
                rows.append(dict(base, case=name, note=spec))
                continue
            fn, leaves, time_major = spec
            try:
                got = fn().detach()
                err = _rel_err(got.transpose(1, 2) if time_major else got, want)
            except Exception as e:  # an outside kernel that fails on this shape/dtype
                rows.append(dict(base, case=name, note=f"failed: {e!r}"[:200]))
                continue
            g = grad.transpose(1, 2).contiguous() if time_major else grad
            cases.append((name, op, *_fwd_and_bwd(fn, leaves, g), err, u_fwd * n, u_all * n))
    if D % AAREN_HEADS == 0:
        f, fb, n_fwd, n_all = _aaren_case(B, T, D, dtype, device)
        cases.append((f"aaren ours (auto), {AAREN_HEADS} heads", "aaren", f, fb, None, n_fwd, n_all))
    ours_t: dict[tuple[str, str], float] = {}
    for name, op, f, fb, err, n_fwd, n_all in cases:
        for pas, call, n_elems in (("fwd", f, n_fwd), ("fwd+bwd", fb, n_all)):
            try:
                t = timer(call)
            except Exception as e:  # e.g. an outside kernel whose backward fails here: note it, go on
                if err is None:
                    raise
                rows.append(dict(base, case=f"{name} {pas}", note=f"failed: {e!r}"[:200]))
                continue
            bps = n_elems * esize / t
            row = dict(base, case=f"{name} {pas}", seconds=t, GBps=bps / 1e9)
            if copy_bps:
                row["pct_copy"] = 100 * bps / copy_bps
            if peak_bps:
                row["pct_peak"] = 100 * bps / peak_bps
            if err is None:
                ours_t[op, pas] = t
            else:  # max_rel_err: the norm of the difference over the norm of ours (see _rel_err)
                row.update(max_rel_err=err, x_vs_ours=t / ours_t[op, pas])
            rows.append(row)
    return rows


def bench_paper_step(device: str, hidden: int, repeats: int, batch: int = 64, T: int = 4096) -> list[dict]:
    """One layer's training step at the paper's B=64, T=4096 for minGRU, minLSTM (and cuDNN GRU for scale)."""
    from minrnn.bench.runtime import build, measure
    from minrnn.reproduce.report import PAPER

    rows = []
    for name in ("mingru", "minlstm", "gru"):
        torch.manual_seed(0)
        m = measure(build(name, hidden).to(device), batch, T, hidden, repeats=repeats, warmup=3, device=device)
        row = dict(section="step", case=f"{name} training step", B=batch, T=T, D=hidden,
                   seconds=m["time_ms"] / 1e3, mem_MB=m["mem_bytes"] / 2**20)
        paper = PAPER["runtime"]["time_ms"].get((name, 4096)) if T == 4096 else None
        if paper:
            row.update(paper_t4_ms=paper, x_vs_paper_t4=paper / m["time_ms"])
        rows.append(row)
    return rows


def bench_sweep(B: int, T: int, D: int, dtype, device: str, timer, ops=("min_gru",)) -> Iterator[dict]:
    """Forward+backward of ``ops`` under each launch configuration in :data:`SWEEP`, a row per configuration as
    it is timed (so a run stopped at a time limit keeps what it measured)."""
    from minrnn.ops.triton.ops import LaunchConfig, launch_config

    grad = torch.randn(B, T, D, device=device, dtype=dtype)
    for op in ops:
        xs = [x.requires_grad_() for x in _inputs(op, B, T, D, dtype, device)]
        fwd, fwd_bwd = _fwd_and_bwd(lambda op=op, xs=xs: getattr(MF, op)(*xs, backend="triton")[0], xs, grad)
        for cfg in [None, *SWEEP]:  # None: the defaults (DEFAULT_FWD, DEFAULT_BWD)
            with launch_config(LaunchConfig(*cfg)) if cfg else contextlib.nullcontext():
                try:
                    t_fwd, t_all = timer(fwd), timer(fwd_bwd)
                except Exception as e:  # a configuration that does not fit (registers, shared memory)
                    yield dict(section="sweep", case=f"{op} {cfg}", B=B, T=T, D=D, note=repr(e)[:120])
                    continue
            u_fwd, u_all = UNITS[op]
            nbytes = B * T * D * grad.element_size()
            name = f"bt,bd,warps,stages,segment[,lookback]={cfg}" if cfg else "defaults"
            yield dict(section="sweep", case=f"{op} {name}", B=B, T=T, D=D, fwd_ms=t_fwd * 1e3,
                       bwd_ms=(t_all - t_fwd) * 1e3, seconds=t_all, GBps_fwd=u_fwd * nbytes / t_fwd / 1e9,
                       GBps=u_all * nbytes / t_all / 1e9)


def _shape(text: str) -> tuple[int, int, int]:
    vals = positive_ints(text.replace("x", ","))
    if len(vals) != 3:
        raise argparse.ArgumentTypeError(f"expected a shape BxTxD like 16x2048x256, got {text!r}")
    return tuple(vals)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="minrnn bench gpu", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sections", default="copy,scan,step,sweep", help="comma-separated: copy, scan, step, sweep")
    p.add_argument("--shapes", type=lambda s: [_shape(x) for x in s.split(",") if x],
                   default=SHAPES, help="comma-separated BxTxD for 'scan' (default: " +
                   ",".join("x".join(map(str, s)) for s in SHAPES) + ")")
    p.add_argument("--sweep-shapes", type=lambda s: [_shape(x) for x in s.split(",") if x],
                   default=[(1, 65536, 1024), (16, 4096, 1024)],
                   help="BxTxD list for 'sweep' (first the small grid, where segment and look-back matter)")
    p.add_argument("--sweep-ops", default="min_gru", help="comma-separated ops for 'sweep'")
    p.add_argument("--hidden", type=int, default=128, help="'step': layer width (the runtime preset's)")
    p.add_argument("--step-shape", type=positive_ints, default=[64, 4096], help="'step': B,T (the paper's)")
    p.add_argument("--copy-mb", type=int, default=1024, help="'copy': MiB copied")
    p.add_argument("--repeats", type=int, default=10, help="timed runs per case (median)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--out", default="benchmarks/results", help="folder for the CSV and markdown results")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = [s for s in sections if s not in ("copy", "scan", "step", "sweep")]
    if bad:
        raise SystemExit(f"--sections: unknown {bad}; choose from copy, scan, step, sweep")
    if "sweep" in sections and not args.device.startswith("cuda"):
        print("# sweep: skipped, the launch configurations need the Triton kernels on CUDA")
        sections.remove("sweep")
    dtype, device = getattr(torch, args.dtype), args.device
    info = machine_info(device)
    peak = peak_bandwidth(info.get("gpu", ""))
    timer = _timer(device, args.repeats)
    command = "python -m minrnn.bench.gpu " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"# {command}\n# {info}", flush=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    rows: list[dict] = []

    def emit(new: list[dict]) -> None:
        rows.extend(new)
        for r in new:
            print({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in r.items()}, flush=True)
        write_results(rows, info, command, f"gpu_{device.split(':')[0]}_{stamp}", stamp, args, final=False)

    copy_bps = None
    if "copy" in sections:
        copy_bps = copy_bandwidth(device, args.copy_mb * 2**20, timer)
        emit([dict(section="copy", case="device-to-device copy (read + write)",
                   GBps=copy_bps / 1e9, **({"pct_peak": 100 * copy_bps / peak} if peak else {}))])
    if "step" in sections:  # before 'scan': short, and the paper comparison must not be lost to a time limit
        emit(bench_paper_step(device, args.hidden, args.repeats, *args.step_shape))
    if "scan" in sections:
        for B, T, D in args.shapes:
            emit(bench_scan(B, T, D, dtype, device, timer, copy_bps, peak))
    if "sweep" in sections:
        for B, T, D in args.sweep_shapes:
            for row in bench_sweep(B, T, D, dtype, device, timer, args.sweep_ops.split(",")):
                emit([row])
    write_results(rows, info, command, f"gpu_{device.split(':')[0]}_{stamp}", stamp, args, final=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
