"""Registers, spills and load widths of the Triton kernels compiled for an H100 (sm_90), without a GPU.

Triton's whole compiler runs on any machine (through ptxas); the cubin it makes is read with the cuobjdump that
ships with the triton wheel: registers per thread and stack bytes (spills) from ``--dump-resource-usage``,
global loads by width from the SASS. Integer and pointer arguments get the divisibility-by-16 hint that
Triton's launcher gives them at run time when D is a multiple of 16 (without it no load is vectorised).

    python benchmarks/gpu/kernel_resources.py                     # the default configurations
    python benchmarks/gpu/kernel_resources.py --configs 64,32,4 32,32,4 --out benchmarks/results

Registers bound how many programs an SM holds (65536 per SM: 128 threads at 128 registers -> 4 programs);
stack bytes mean local-memory traffic. What this cannot tell is the time: see ``minrnn bench gpu``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from minrnn.ops.triton import aaren_kernels, gated_kernels, lookback_kernels, segment_kernels  # noqa: E402
from minrnn.ops.triton.ops import _aaren_blocks  # noqa: E402

BIN = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"
KERNELS = {
    "gated_fwd_kernel": gated_kernels,
    "gated_bwd_kernel": gated_kernels,
    "gated_fwd_summary_kernel": segment_kernels,
    "gated_bwd_summary_kernel": segment_kernels,
    "gated_fwd_lookback_kernel": lookback_kernels,
    "gated_bwd_lookback_kernel": lookback_kernels,
}
ACC_ARGS = ("H0", "HL", "GL", "DH0", "A", "B", "AGG_A", "AGG_B", "INC", "M0", "U0", "W0", "MA", "UA", "MT", "UT",
            "WT", "GM", "GU", "GW", "DM0", "DU0", "DW0")
SCALARS = {"CU": "*i64", "D": "i32", "S0": "i32", "S1": "i32", "S2": "i32", "SO": "i32", "T": "i32",
           "FLAGS": "*i32", "COUNTER": "*i32"}
AAREN_SCALARS = {"CU": "*i64", "H": "i32", "Dv": "i32"}


def resources(kernel: str, mode: int, block_t: int, block_d: int, num_warps: int, io: str = "fp32",
              stages: int = 3) -> dict:
    """Compile one kernel variant for sm_90 and read its registers, stack bytes, shared memory and loads."""
    if kernel.startswith("aaren"):  # mode: HAS_STATE, block_d: BLOCK_V
        fn = getattr(aaren_kernels, kernel)
        consts = {"HAS_STATE": bool(mode), "BLOCK_T": block_t, "BLOCK_V": block_d, "STAGES": stages}
    else:
        fn = getattr(KERNELS[kernel], kernel)
        consts = {"MODE": mode, "BLOCK_T": block_t, "BLOCK_D": block_d, "STAGES": stages, "AGGREGATES_ONLY": False,
                  "MAX_SPINS": 1 << 22}
    consts = {k: v for k, v in consts.items() if k in fn.arg_names}
    scalars = AAREN_SCALARS if kernel.startswith("aaren") else SCALARS
    sig = {n: "constexpr" if n in consts else scalars.get(n, "*" + ("fp32" if n in ACC_ARGS else io))
           for n in fn.arg_names}
    attrs = {(i,): [["tt.divisibility", 16]] for i, n in enumerate(fn.arg_names) if n not in consts}
    k = triton.compile(ASTSource(fn, sig, consts, attrs), target=GPUTarget("cuda", 90, 32),
                       options={"num_warps": num_warps})
    with tempfile.TemporaryDirectory() as tmp:
        cubin = os.path.join(tmp, "k.cubin")
        Path(cubin).write_bytes(k.asm["cubin"])
        usage = subprocess.run([BIN / "cuobjdump", "--dump-resource-usage", cubin], capture_output=True,
                               text=True, check=True).stdout
        sass = subprocess.run([BIN / "cuobjdump", "--dump-sass", cubin], capture_output=True, text=True,
                              check=True).stdout
    loads = re.findall(r"LDG\.E(\.\d+)?", sass)
    return {
        "shared_bytes": k.metadata.shared,
        "registers": int(re.search(r"REG:(\d+)", usage).group(1)),
        "stack_bytes": int(re.search(r"STACK:(\d+)", usage).group(1)),
        "loads_128bit": sum(w == ".128" for w in loads),
        "loads_narrower": sum(w != ".128" for w in loads),
        "async_copies": len(re.findall(r"LDGSTS", sass)),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", nargs="+", default=["64,32,4", "32,32,4", "64,32,8", "16,32,4", "32,16,2"],
                   help="BLOCK_T,BLOCK_D,num_warps triples")
    p.add_argument("--stages", type=int, default=3, help="software-pipelining stages of the chunk loops")
    p.add_argument("--io", default="fp32", choices=["fp32", "bf16", "fp16"], help="input/output dtype")
    p.add_argument("--out", default=None, help="folder for a markdown copy (default: print only)")
    args = p.parse_args(argv)
    lines = ["| kernel | op | BLOCK_T, BLOCK_D, warps | registers | stack bytes (spills) | shared bytes | "
             "128-bit loads | narrower loads | async copies (LDGSTS) |", "|---|---|---|---|---|---|---|---|---|"]
    for kernel in KERNELS:
        for mode, op in ((1, "min_gru"), (2, "min_lstm")):
            for cfg in args.configs:
                bt, bd, w = (int(v) for v in cfg.split(","))
                r = resources(kernel, mode, bt, bd, w, args.io, args.stages)
                lines.append(f"| {kernel} | {op} | {bt}, {bd}, {w} | {r['registers']} | {r['stack_bytes']} | "
                             f"{r['shared_bytes']} | "
                             f"{r['loads_128bit']} | {r['loads_narrower']} | {r['async_copies']} |")
                print(lines[-1], flush=True)
    for kernel in ("aaren_fwd_kernel", "aaren_bwd_kernel"):
        for dv in (16, 32, 64, 128, 256):
            bt, bv, opts = _aaren_blocks(dv)
            r = resources(kernel, 1, bt, bv, opts["num_warps"], args.io, args.stages)
            lines.append(f"| {kernel} | aaren, Dv={dv} | {bt}, {bv}, {opts['num_warps']} | {r['registers']} | "
                         f"{r['stack_bytes']} | {r['shared_bytes']} | {r['loads_128bit']} | {r['loads_narrower']} | "
                         f"{r['async_copies']} |")
            print(lines[-1], flush=True)
    if args.out:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        Path(args.out).mkdir(parents=True, exist_ok=True)
        path = Path(args.out) / f"kernel_resources_sm90_{args.io}_stages{args.stages}_{stamp}.md"
        head = [f"# Triton kernel resources, sm_90 target, {args.io} inputs, {args.stages} pipeline stages", "",
                f"- command: python benchmarks/gpu/kernel_resources.py {' '.join(argv or sys.argv[1:])}",
                f"- triton {triton.__version__}; compiled on a machine without a GPU (see the script's docstring)",
                ""]
        path.write_text("\n".join(head + lines) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
