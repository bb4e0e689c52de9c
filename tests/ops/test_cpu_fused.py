"""The fused CPU kernels against the sequential reference: forward, backward, states, dtypes, lengths,
extremes, the build cache and the fallback when no compiler is available."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

try:  # tests/ops as rootdir-relative folder, or as a package
    from kernel_cases import GATED, TOL, aaren_inputs, assert_close_list, gated_inputs, run_aaren, run_gated
except ImportError:  # pragma: no cover
    from .kernel_cases import GATED, TOL, aaren_inputs, assert_close_list, gated_inputs, run_aaren, run_gated

import minrnn.functional as F
from minrnn.ops import registry

cpu_fused = pytest.importorskip("minrnn.ops.cpu_fused")
if cpu_fused.library() is None:
    pytest.skip(
        f"fused CPU kernels could not be built: {cpu_fused.build_info()['error']}", allow_module_level=True
    )

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")


@pytest.mark.parametrize("op", GATED)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("T", [1, 7, 130])
def test_gated_matches_reference(op, dtype, T):
    args = gated_inputs(op, 3, T, 37, dtype, seed=T)
    assert_close_list(run_gated(op, "cpu_fused", args), run_gated(op, "reference", args), dtype)


@pytest.mark.parametrize("op", GATED)
def test_gated_long_sequence(op):
    # against ``chunked`` (exact products and sums, itself checked against the reference on short inputs):
    # the reference loop's backward costs O(T^2) here (each a[:, t] index materialises a full-size gradient)
    args = gated_inputs(op, 2, 4099, 5, torch.float64, seed=1)
    assert_close_list(run_gated(op, "cpu_fused", args), run_gated(op, "chunked", args), torch.float64)


@pytest.mark.parametrize("op", ("min_gru", "min_lstm"))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gated_extreme_logits(op, dtype):
    args = gated_inputs(op, 2, 50, 16, dtype, seed=3, extreme=True)
    got = run_gated(op, "cpu_fused", args)
    assert all(torch.isfinite(x).all() for x in got)
    assert_close_list(got, run_gated(op, "reference", args), dtype)


@pytest.mark.parametrize("op", GATED)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_gated_half_inputs(op, dtype):
    args = gated_inputs(op, 2, 33, 24, torch.float32, seed=5)
    args = [a.to(dtype) for a in args[:-1]] + [args[-1]]
    got, want = run_gated(op, "cpu_fused", args), run_gated(op, "reference", args)
    assert got[0].dtype == dtype and got[1].dtype == torch.float32
    assert_close_list(got, want, dtype)


@pytest.mark.parametrize("op", GATED)
def test_state_continues_sequence(op):
    *xs, h0 = gated_inputs(op, 2, 40, 9, torch.float64, seed=2)
    fn = getattr(F, op)
    h, last = fn(*xs, h0, backend="cpu_fused")
    h1, mid = fn(*(x[:, :17] for x in xs), h0, backend="cpu_fused")
    h2, last2 = fn(*(x[:, 17:] for x in xs), mid, backend="cpu_fused")
    torch.testing.assert_close(torch.cat([h1, h2], 1), h, rtol=0, atol=1e-12)
    torch.testing.assert_close(last2, last, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("T", [1, 9, 300])
@pytest.mark.parametrize("with_state", [False, True])
def test_aaren_matches_reference(dtype, T, with_state):
    s, v, st = aaren_inputs(2, T, 3, 5, dtype, seed=T, with_state=with_state)
    assert_close_list(run_aaren("cpu_fused", s, v, st), run_aaren("reference", s, v, st), dtype)


def test_aaren_half_inputs():
    s, v, st = aaren_inputs(2, 20, 2, 8, torch.bfloat16, seed=4)
    got, want = run_aaren("cpu_fused", s, v, st), run_aaren("reference", s, v, st)
    assert got[0].dtype == torch.bfloat16
    assert_close_list(got, want, torch.bfloat16)


def test_auto_picks_cpu_fused():
    x = torch.randn(1, 3, 4)
    for op, n in (("linear_scan", 2), ("min_gru", 2), ("min_lstm", 3)):
        assert registry.resolve(op, "auto", *([x] * n), x[:, 0]).name == "cpu_fused"
        assert registry.resolve(op, "auto", *([x.half()] * n), x[:, 0]).name != "cpu_fused"
    assert registry.resolve("aaren", "auto", x, x.unsqueeze(-1), None, None, None).name == "cpu_fused"


def test_build_is_cached_across_processes(tmp_path):
    info = cpu_fused.build_info()
    assert info["available"] and info["path"].exists()
    code = textwrap.dedent("""
        import json, minrnn.ops.cpu_fused as c
        i = c.build_info(); print(json.dumps({"s": i["build_seconds"], "p": str(i["path"])}))
    """)
    env = dict(os.environ, PYTHONPATH=SRC)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert '"s": null' in out.stdout and str(info["path"]) in out.stdout


def test_fallback_without_compiler_warns_once(tmp_path):
    code = textwrap.dedent("""
        import warnings, torch
        import minrnn.functional as F
        from minrnn.ops import registry
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            x = torch.randn(1, 5, 3)
            F.min_gru(x, x); F.min_gru(x, x); F.linear_scan(x.sigmoid(), x)
            name = registry.resolve("min_gru", "auto", x, x, x[:, 0]).name
        n = sum("fused CPU kernels unavailable" in str(m.message) for m in w)
        print(name, n)
    """)
    env = dict(os.environ, PYTHONPATH=SRC, CXX="/nonexistent/c++", MINRNN_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["chunked", "1"], out.stdout + out.stderr


def test_float64_tolerance_table_is_strict():
    assert TOL[torch.float64] <= 1e-10 and TOL[torch.float32] <= 1e-5


@pytest.mark.parametrize("op", GATED)
@pytest.mark.parametrize("B,T", [(3, 11), (3, 1), (1, 9)])
def test_strided_inputs_are_read_in_place(op, B, T):
    """Chunks of one projection (evenly spaced rows) are read without a copy; other layouts are copied."""
    n = {"linear_scan": 2, "min_gru": 2, "min_lstm": 3}[op]
    fn = getattr(F, op)
    base = torch.randn(B, T, n * 8, dtype=torch.float64)
    h0 = torch.randn(B, 8, dtype=torch.float64)
    w = torch.randn(B, T, 8, dtype=torch.float64)
    results = {}
    layouts = (("chunks", lambda p: p), ("odd", lambda p: p.transpose(0, 1).contiguous().transpose(0, 1)))
    for name, layout in layouts:
        for backend in ("cpu_fused", "reference"):
            proj = layout(base.clone()).requires_grad_()
            parts = list(proj.chunk(n, dim=-1))
            if op == "linear_scan":
                parts[0] = parts[0] * 0 + parts[0].detach().tanh() + parts[0] - parts[0].detach()
            h, last = fn(*parts, h0, backend=backend)
            ((h * w).sum() + last.sum()).backward()
            results[name, backend] = [h.detach(), last.detach(), proj.grad]
        assert_close_list(results[name, "cpu_fused"], results[name, "reference"], torch.float64)


def test_chunk_views_need_no_copy():
    from minrnn.ops.layout import row_stride, rows_view

    proj = torch.randn(2, 5, 24)
    assert all(rows_view(p) is p and row_stride(p) == 24 for p in proj.chunk(3, dim=-1))
    odd = proj.transpose(0, 1).contiguous().transpose(0, 1)[..., :8]
    assert rows_view(odd) is not odd and rows_view(odd).is_contiguous()


@pytest.mark.parametrize("op", [*GATED, "aaren"])
def test_multithreaded_path_with_split_channels(op):
    """Large enough for the OpenMP path (>= 2^18 elements) with fewer sequences than work items, so channel
    blocks are split across threads; checked against ``chunked``."""
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        if op == "aaren":
            s, v, st = aaren_inputs(2, 600, 4, 64, torch.float64, seed=12)
            assert_close_list(run_aaren("cpu_fused", s, v, st), run_aaren("chunked", s, v, st), torch.float64)
        else:
            args = gated_inputs(op, 3, 700, 130, torch.float64, seed=11)
            assert_close_list(run_gated(op, "cpu_fused", args), run_gated(op, "chunked", args), torch.float64)
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("op", GATED)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_wide_items_use_the_chunked_backward(op, dtype):
    """Items of >= 128 channels take the chunked backward (forward-order passes over chunks of
    16384 / width rows): several chunks, a ragged first chunk, a length-1 and an empty sequence, h0 of
    either sign; against the reference."""
    args = gated_inputs(op, 1, 200, 300, dtype, seed=5)
    cu = torch.tensor([0, 1, 1, 58, 200])
    h0 = torch.randn(4, 300, dtype=dtype, generator=torch.Generator().manual_seed(6)) * 3
    args = [*args[:-1], h0]
    assert_close_list(run_gated(op, "cpu_fused", args, cu), run_gated(op, "reference", args, cu), dtype)
    batch = gated_inputs(op, 4, 130, 160, dtype, seed=7)
    assert_close_list(run_gated(op, "cpu_fused", batch), run_gated(op, "reference", batch), dtype)


@pytest.mark.parametrize("op", GATED)
def test_kernels_only_matches_the_op(op):
    """The benchmark helper runs the same kernels as the autograd op."""
    from minrnn.ops.cpu_fused.ops import kernels_only

    *xs, h0 = gated_inputs(op, 3, 20, 16, torch.float64, seed=9)
    leaves = [x.clone().requires_grad_() for x in xs]
    h, _ = getattr(F, op)(*leaves, h0, backend="cpu_fused")
    h.backward(torch.ones_like(h))
    run = kernels_only(op, xs, h0, torch.ones_like(h))
    run()
    torch.testing.assert_close(run.buffers["h"], h.detach(), rtol=0, atol=0)
    for got, leaf in zip(run.buffers["grads"], leaves):
        torch.testing.assert_close(got, leaf.grad, rtol=0, atol=0)


@pytest.mark.parametrize("op", GATED)
def test_h_last_with_a_transposed_h0(op):
    """h_last is written contiguously even when h0 is a transposed view (it came back scrambled)."""
    args = gated_inputs(op, 3, 5, 4, torch.float64, seed=8)
    args[-1] = args[-1].t().contiguous().t()  # same values, strides (1, B)
    h, h_last = getattr(F, op)(*args[:-1], args[-1], backend="cpu_fused")
    assert torch.equal(h_last, h[:, -1])


@pytest.mark.parametrize("op", GATED)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bit_identical_for_one_and_two_threads(op, dtype):
    """The work split moves with the thread count; with -ffp-contract=off every channel gets the same bits
    (min_lstm's gradients differed in the channels of the last block)."""
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            args = gated_inputs(op, 1, 300, 1000, dtype, seed=1)
            results.append(run_gated(op, "cpu_fused", args))
    finally:
        torch.set_num_threads(before)
    for a, b in zip(*results):
        assert torch.equal(a, b)
