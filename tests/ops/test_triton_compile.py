"""Triton's whole compiler (through ptxas) run for an H100 target (sm_90) on a machine without a GPU: catches
what the interpreter does not check (types, layouts, register and shared-memory limits). On a CUDA machine
test_triton.py runs the compiled kernels directly instead."""

from __future__ import annotations

import os

import pytest
import torch

pytest.importorskip("triton", reason="triton is not installed (pip install 'minrnn[triton]')")
if os.environ.get("TRITON_INTERPRET") == "1" or torch.cuda.is_available():
    pytest.skip("compiled for sm_90 only on a CPU machine outside the interpreter", allow_module_level=True)


def _compile_for_sm90(kernel: str, io_dtype: str, mode: int) -> None:
    """Run Triton's whole compiler (through ptxas) for an H100 target; no GPU needed."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from minrnn.ops.triton import aaren_kernels, gated_kernels

    acc = "fp64" if io_dtype == "fp64" else "fp32"
    if kernel.endswith("summary_kernel") or kernel == "carry_kernel":
        from minrnn.ops.triton import segment_kernels

        fn = getattr(segment_kernels, kernel)
        consts = {"MODE": mode, "BLOCK_T": 64, "BLOCK_D": 32, "REVERSE": bool(mode), "STAGES": 3}
        acc_args = ("A", "B", "C", "C0")
        scalars = {"CU": "*i64", "D": "i32", "S0": "i32", "S1": "i32", "S2": "i32", "S": "i32"}
    elif kernel.endswith("lookback_kernel"):
        from minrnn.ops.triton import lookback_kernels

        fn = getattr(lookback_kernels, kernel)
        consts = {"MODE": mode, "BLOCK_T": 64, "BLOCK_D": 32, "AGGREGATES_ONLY": False, "MAX_SPINS": 1 << 22}
        acc_args = ("H0", "HL", "GL", "DH0", "AGG_A", "AGG_B", "INC")
        scalars = {"FLAGS": "*i32", "COUNTER": "*i32", "T": "i32", "D": "i32", "S0": "i32", "S1": "i32",
                   "S2": "i32", "SO": "i32"}
    elif kernel.startswith("gated"):
        fn = getattr(gated_kernels, kernel)
        consts = {"MODE": mode, "BLOCK_T": 64, "BLOCK_D": 32, "STAGES": 3}
        acc_args = ("H0", "HL", "GL", "DH0")
        scalars = {"CU": "*i64", "D": "i32", "S0": "i32", "S1": "i32", "S2": "i32", "SO": "i32"}
    else:
        fn = getattr(aaren_kernels, kernel)
        consts = {"HAS_STATE": bool(mode), "BLOCK_T": 64, "BLOCK_V": 16, "STAGES": 3}
        acc_args = ("M0", "U0", "W0", "MA", "UA", "MT", "UT", "WT", "GM", "GU", "GW", "DM0", "DU0", "DW0")
        scalars = {"CU": "*i64", "H": "i32", "Dv": "i32"}
    sig, consts_used = {}, {}
    for name in fn.arg_names:
        if name in consts:
            sig[name] = "constexpr"
            consts_used[name] = consts[name]
        elif name in scalars:
            sig[name] = scalars[name]
        else:
            sig[name] = "*" + (acc if name in acc_args else io_dtype)
    triton.compile(ASTSource(fn, sig, consts_used), target=GPUTarget("cuda", 90, 32))

@pytest.mark.parametrize(
    "kernel,io_dtype,mode",
    [
        ("gated_fwd_kernel", "bf16", 1),
        ("gated_bwd_kernel", "bf16", 2),
        ("aaren_fwd_kernel", "fp32", 1),
        ("aaren_bwd_kernel", "fp32", 1),
        ("gated_fwd_summary_kernel", "bf16", 2),
        ("gated_bwd_summary_kernel", "fp32", 1),
        ("carry_kernel", "fp32", 1),
        ("gated_fwd_lookback_kernel", "bf16", 2),
        ("gated_fwd_lookback_kernel", "fp32", 1),
        ("gated_bwd_lookback_kernel", "bf16", 2),
        ("gated_bwd_lookback_kernel", "fp32", 1),
    ],
)
def test_kernels_compile_for_gpu(kernel, io_dtype, mode):
    _compile_for_sm90(kernel, io_dtype, mode)

@pytest.mark.slow
@pytest.mark.parametrize("io_dtype", ["fp32", "bf16", "fp16", "fp64"])
@pytest.mark.parametrize(
    "kernel", ["gated_fwd_kernel", "gated_bwd_kernel", "aaren_fwd_kernel", "aaren_bwd_kernel"]
)
def test_every_kernel_variant_compiles_for_gpu(kernel, io_dtype):
    for mode in (0, 1, 2) if kernel.startswith("gated") else (0, 1):
        _compile_for_sm90(kernel, io_dtype, mode)
