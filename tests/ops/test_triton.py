"""The Triton kernels against the sequential reference: forward, backward, states, varlen, dtypes.

Without a GPU the kernels run in Triton's CPU interpreter (Triton's full compiler is run for an H100 target in
test_triton_compile.py, to catch what the interpreter does not check). ``TRITON_INTERPRET`` must be set
before triton compiles anything and it makes the backend accept CPU tensors, so on a machine without CUDA
this module reruns itself in a subprocess with ``TRITON_INTERPRET=1`` (one test here) and keeps the sizes
small.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

pytest.importorskip("triton", reason="triton is not installed (pip install 'minrnn[triton]')")

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"
ON_GPU = torch.cuda.is_available()
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src"))

if not INTERPRET and not ON_GPU:

    def test_kernels_in_triton_interpreter():
        env = dict(
            os.environ,
            TRITON_INTERPRET="1",
            PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]),
        )
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
        assert " passed" in proc.stdout


else:
    try:  # tests/ops as rootdir-relative folder, or as a package
        from kernel_cases import GATED, aaren_inputs, assert_close_list, gated_inputs, run_aaren, run_gated
    except ImportError:  # pragma: no cover
        from .kernel_cases import GATED, aaren_inputs, assert_close_list, gated_inputs, run_aaren, run_gated

    import minrnn.functional as F
    from minrnn.ops import registry

    DEV = "cuda" if ON_GPU else "cpu"

    def test_registered_and_auto_selected():
        assert "triton" in registry.backends("min_gru")
        x = torch.randn(1, 3, 4, device=DEV)
        assert registry.resolve("min_gru", "auto", x, x, x[:, 0]).name == "triton"

    @pytest.mark.parametrize("op", GATED)
    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    @pytest.mark.parametrize("T", [1, 37])
    def test_gated_matches_reference(op, dtype, T):
        args = gated_inputs(op, 2, T, 19, dtype, seed=T, device=DEV)
        assert_close_list(run_gated(op, "triton", args), run_gated(op, "reference", args), dtype)

    def test_long_sequence():
        T = 4099 if ON_GPU else 301  # many chunks and a ragged end; the interpreter is slow
        args = gated_inputs("min_gru", 1, T, 16, torch.float32, seed=1, device=DEV)
        assert_close_list(
            run_gated("min_gru", "triton", args), run_gated("min_gru", "chunked", args), torch.float32
        )

    @pytest.mark.parametrize("op", ("min_gru", "min_lstm"))
    def test_extreme_logits(op):
        args = gated_inputs(op, 1, 40, 16, torch.float32, seed=3, extreme=True, device=DEV)
        got = run_gated(op, "triton", args)
        assert all(torch.isfinite(x).all() for x in got)
        assert_close_list(got, run_gated(op, "reference", args), torch.float32)

    @pytest.mark.parametrize("op", GATED)
    @pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
    def test_half_inputs_read_natively(op, dtype):
        args = gated_inputs(op, 2, 20, 16, torch.float32, seed=1, device=DEV)
        args = [a.to(dtype) for a in args[:-1]] + [args[-1]]
        got, want = run_gated(op, "triton", args), run_gated(op, "reference", args)
        assert got[0].dtype == dtype and got[1].dtype == torch.float32
        assert_close_list(got, want, dtype)

    @pytest.mark.parametrize("op", GATED)
    def test_bf16_inputs_with_a_float64_state(op):
        """The interpreter converts bfloat16 only to and from float32: with a float64 state the backend gets
        float64 copies there (it reinterpreted the bits before); compiled kernels read bf16 natively."""
        args = gated_inputs(op, 2, 9, 5, torch.float64, seed=4, device=DEV)
        args = [a.to(torch.bfloat16) for a in args[:-1]] + [args[-1]]
        assert_close_list(run_gated(op, "triton", args), run_gated(op, "reference", args), torch.bfloat16)

    @pytest.mark.parametrize("B, D", [(0, 4), (2, 0)])
    def test_segments_with_an_empty_batch(B, D):
        from minrnn.ops.triton.ops import LaunchConfig, launch_config

        x = torch.randn(B, 40, D, device=DEV, requires_grad=True)
        h0 = torch.zeros(B, D, device=DEV, requires_grad=True)
        with launch_config(LaunchConfig(block_t=16, block_d=16, segment=16)):
            h, _ = F.min_gru(x, x, h0, backend="triton")
            h.sum().backward()
        assert x.grad.shape == x.shape and h0.grad.shape == h0.shape

    @pytest.mark.parametrize("op", GATED)
    @pytest.mark.parametrize("cfg", [(16, 16, 2, None), (16, 64, 8, 1), (128, 16, 4, 2)])
    def test_launch_configs_give_the_same_result(op, cfg):
        """Every block shape the benchmark sweep may pick is correct (ragged ends in time and channels)."""
        from minrnn.ops.triton.ops import LaunchConfig, launch_config

        cu = torch.tensor([0, 5, 41], device=DEV)
        args = gated_inputs(op, 1, 41, 19, torch.float32, seed=4, device=DEV)
        args[-1] = torch.randn(2, 19, device=DEV)
        with launch_config(LaunchConfig(*cfg)):
            got = run_gated(op, "triton", args, cu)
        assert_close_list(got, run_gated(op, "reference", args, cu), torch.float32)

    @pytest.mark.parametrize("op", GATED)
    @pytest.mark.parametrize("T,segment", [(41, 16), (41, 32), (64, 16), (16, 16)])
    def test_segments_match_reference(op, T, segment):
        """Sequences cut into pieces scanned in parallel (summaries, carries, pieces): forward, backward, h0,
        final state; ragged last piece, a single piece (T == segment: no cut)."""
        from minrnn.ops.triton.ops import LaunchConfig, launch_config

        args = gated_inputs(op, 2, T, 19, torch.float64, seed=T + segment, device=DEV)
        with launch_config(LaunchConfig(block_t=16, block_d=16, segment=segment)):
            got = run_gated(op, "triton", args)
        assert_close_list(got, run_gated(op, "reference", args), torch.float64)

    @pytest.mark.parametrize("op", GATED)
    @pytest.mark.parametrize("T", [1, 16, 41])
    @pytest.mark.parametrize("aggregates_only", [False, True])
    def test_lookback_matches_reference(op, T, aggregates_only, monkeypatch):
        """Single-pass forward and backward, every chunk its own program: outputs, final state, every gradient
        and dL/dh0; ``aggregates_only`` makes every walk go back to the first chunk through the aggregates (the
        interpreter runs programs in order, so otherwise each walk stops at the chunk before)."""
        from minrnn.ops.triton import ops as triton_ops
        from minrnn.ops.triton.ops import LaunchConfig, launch_config

        monkeypatch.setattr(triton_ops, "_LOOKBACK_AGGREGATES_ONLY", aggregates_only)
        args = gated_inputs(op, 2, T, 19, torch.float64, seed=T, device=DEV)
        with launch_config(LaunchConfig(block_t=16, block_d=16, lookback=True)):
            got = run_gated(op, "triton", args)
        assert_close_list(got, run_gated(op, "reference", args), torch.float64)

    import triton
    import triton.language as tl

    from minrnn.ops.triton.lookback_kernels import _look_back

    @triton.jit
    def _walk_kernel(FLAGS, AGG_A, AGG_B, INC, OUT, tile, BLOCK_D: tl.constexpr, MAX_SPINS: tl.constexpr):
        """The look-back walk of chunk ``tile`` (own aggregate (1, 1)) on prepared flags; the state into OUT."""
        cols = tl.arange(0, BLOCK_D)
        one = tl.full([BLOCK_D], 1.0, tl.float64)
        carry = _look_back(FLAGS, AGG_A, AGG_B, INC, tile, cols, cols < BLOCK_D, one, one, tl.float64, BLOCK_D,
                           MAX_SPINS)
        tl.store(OUT + cols, carry)

    def test_look_back_walk_composes_aggregates_and_gives_up_on_a_silent_chunk():
        """The walk on prepared flags: chunk 3 sees aggregates at 2 and 1 and an inclusive state at 0, so its
        state is A2 (A1 inc0 + B1) + B2; a chunk whose predecessor never publishes gets NaN after MAX_SPINS."""
        g = torch.Generator().manual_seed(0)
        A, B, inc = (torch.rand(4, 16, generator=g, dtype=torch.float64).to(DEV) for _ in range(3))
        flags = torch.tensor([2, 1, 1, 0], dtype=torch.int32, device=DEV)
        out = torch.empty(16, dtype=torch.float64, device=DEV)
        _walk_kernel[(1,)](flags, A, B, inc, out, 3, BLOCK_D=16, MAX_SPINS=10)
        assert torch.allclose(out, A[2] * (A[1] * inc[0] + B[1]) + B[2])
        assert flags[3] == 1  # the walker published its own aggregate first
        flags = torch.tensor([0, 0], dtype=torch.int32, device=DEV)
        _walk_kernel[(1,)](flags, A, B, inc, out, 1, BLOCK_D=16, MAX_SPINS=10)
        assert torch.isnan(out).all()

    def test_lookback_bf16_projection_chunks():
        import minrnn.functional as MF
        from minrnn.ops.triton.ops import LaunchConfig, launch_config

        base = torch.randn(1, 50, 48, device=DEV).to(torch.bfloat16)
        h0 = torch.randn(1, 16, device=DEV)
        grads = {}
        for backend in ("triton", "reference"):
            x = base.clone().requires_grad_()
            with launch_config(LaunchConfig(block_t=16, block_d=16, lookback=True)):
                got, last = MF.min_lstm(*x.chunk(3, -1), h0, backend=backend)
                (got.float().sum() + last.sum()).backward()
            grads[backend] = [got.detach(), last.detach(), x.grad]
        assert_close_list(grads["triton"], grads["reference"], torch.bfloat16)

    @pytest.mark.parametrize("op", ("min_gru", "min_lstm"))
    def test_segments_extreme_logits_bf16(op):
        from minrnn.ops.triton.ops import LaunchConfig, launch_config

        args = gated_inputs(op, 1, 50, 16, torch.float32, seed=5, extreme=True, device=DEV)
        args = [a.to(torch.bfloat16) for a in args[:-1]] + [args[-1]]
        with launch_config(LaunchConfig(block_t=16, block_d=16, segment=16)):
            got = run_gated(op, "triton", args)
        assert all(torch.isfinite(x).all() for x in got)
        assert_close_list(got, run_gated(op, "reference", args), torch.bfloat16)

    def test_bench_sweep_times_every_config(monkeypatch):
        from minrnn.bench import gpu

        monkeypatch.setattr(gpu, "SWEEP", [(16, 16, 2, None, None), (16, 16, 4, 1, 16), (16, 16, 4, None, None, True)])
        rows = list(gpu.bench_sweep(1, 40, 16, torch.float32, DEV, gpu._timer(DEV, 1), ("min_gru", "min_lstm")))
        assert len(rows) == 8 and all(r["seconds"] > 0 and r["GBps"] > 0 for r in rows)
        assert rows[0]["case"] == "min_gru defaults"

    def test_accelerated_scan_adapter_agrees_with_ours():
        """The benchmark's adapter of accelerated-scan (gates, tokens in (B, D, T)) computes our linear_scan;
        runs where the package is installed (the GPU session carries it: benchmarks/gpu/run.sh)."""
        pytest.importorskip("accelerated_scan")
        from minrnn.bench import gpu

        a, b = gpu._inputs("linear_scan", 2, 64, 16, torch.float32, DEV)
        fn, leaves, time_major = gpu._outside_scans(a, b, allow_cpu=True)["accelerated-scan scalar"]
        want, _ = F.linear_scan(a, b, backend="reference")
        assert time_major and torch.allclose(fn().transpose(1, 2), want, atol=1e-5)

    @pytest.mark.parametrize("op", GATED)
    def test_varlen(op):
        cu = torch.tensor([0, 5, 5, 6, 30], device=DEV)
        args = gated_inputs(op, 1, 30, 16, torch.float64, seed=2, device=DEV)
        args[-1] = torch.randn(4, 16, dtype=torch.float64, device=DEV)
        assert_close_list(
            run_gated(op, "triton", args, cu), run_gated(op, "reference", args, cu), torch.float64
        )

    @pytest.mark.parametrize("op", GATED)
    def test_projection_chunks_read_in_place(op):
        import minrnn.functional as F

        n = {"linear_scan": 2, "min_gru": 2, "min_lstm": 3}[op]
        base = torch.randn(2, 21, n * 16, dtype=torch.float64, device=DEV)
        if op == "linear_scan":
            base[..., :16] = base[..., :16].tanh()
        h0 = torch.randn(2, 16, dtype=torch.float64, device=DEV)
        from minrnn.ops.layout import chunk_last_dim

        res = {}
        for backend in ("triton", "reference"):
            for name, chunker in (("chunk", torch.chunk), ("chunk_last_dim", chunk_last_dim)):
                proj = base.clone().requires_grad_()
                parts = chunker(proj, n) if name == "chunk_last_dim" else chunker(proj, n, dim=-1)
                h, last = getattr(F, op)(*parts, h0, backend=backend)
                (h.sin().sum() + last.sum()).backward()
                res[backend, name] = [h.detach(), last.detach(), proj.grad]
        for name in ("chunk", "chunk_last_dim"):
            assert_close_list(res["triton", name], res["reference", "chunk"], torch.float64)

    def _layer_run(layer, x, state):
        layer.zero_grad(set_to_none=True)
        x = x.detach().clone().requires_grad_()
        out, new_state = layer(x, state)
        ((out.float() * torch.linspace(-1, 1, out.shape[-1], device=out.device)).sum()).backward()
        grads = [x.grad] + [p.grad for p in layer.parameters()]
        return [out.detach(), *(s.detach() for s in torch.utils._pytree.tree_leaves(new_state))], grads

    @pytest.mark.parametrize("kind", ["MinGRU", "MinLSTM", "Aaren"])
    def test_layers_on_triton_match_reference(kind):
        """Whole layers (projection chunks read in place, packed gradients): forward, state, every gradient;
        then step() from the parallel state continues it."""
        import minrnn.layers as L

        torch.manual_seed(0)
        make = (lambda b: L.Aaren(16, num_heads=2, backend=b)) if kind == "Aaren" else (
            lambda b: getattr(L, kind)(16, 16, backend=b))
        tri, ref = make("triton").to(DEV, torch.float64), make("reference").to(DEV, torch.float64)
        ref.load_state_dict(tri.state_dict())
        x = torch.randn(2, 37, 16, dtype=torch.float64, device=DEV)
        (out_t, grads_t), (out_r, grads_r) = _layer_run(tri, x, None), _layer_run(ref, x, None)
        assert_close_list(out_t, out_r, torch.float64)
        assert_close_list(grads_t, grads_r, torch.float64)
        with torch.no_grad():
            _, st = tri(x[:, :30])
            for t in range(30, 37):
                y, st = tri.step(x[:, t], st)
            assert torch.allclose(y, out_r[0][:, 36], atol=1e-9)

    @pytest.mark.parametrize("kind", ["MinGRU", "MinLSTM"])
    def test_layers_under_bf16_autocast(kind):
        """Mixed precision as training runs it: the projection in bf16 under autocast feeds the kernels bf16
        logits; the result stays close to float32 and gradients reach the weights in float32."""
        import minrnn.layers as L

        torch.manual_seed(0)
        layer = getattr(L, kind)(32, 32, backend="triton").to(DEV)
        x = torch.randn(2, 40, 32, device=DEV)
        want, _ = layer(x)
        with torch.autocast(DEV, dtype=torch.bfloat16):
            got, last = layer(x)
        assert got.dtype == torch.bfloat16 and last.dtype == torch.float32
        assert (got.float() - want).abs().max() < 0.1
        got.float().sum().backward()
        assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in layer.parameters())

    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    @pytest.mark.parametrize("with_state", [False, True])
    @pytest.mark.parametrize("masked", [0, 2])  # leading scores of -inf (masked padding): never NaN
    def test_aaren_matches_reference(dtype, with_state, masked):
        s, v, st = aaren_inputs(2, 9, 2, 5, dtype, seed=1, with_state=with_state, device=DEV)
        s[:, :masked] = -torch.inf
        assert_close_list(run_aaren("triton", s, v, st), run_aaren("reference", s, v, st), dtype)

    def test_aaren_multi_chunk():
        s, v, st = aaren_inputs(1, 70, 1, 3, torch.float64, seed=2, device=DEV)
        assert_close_list(run_aaren("triton", s, v, st), run_aaren("reference", s, v, st), torch.float64)

    @pytest.mark.parametrize("with_state", [False, True])
    def test_aaren_varlen(with_state):
        cu = torch.tensor([0, 5, 5, 6, 30], device=DEV)
        s, v, _ = aaren_inputs(1, 30, 2, 3, torch.float64, seed=9, with_state=False, device=DEV)
        _, _, st = aaren_inputs(4, 1, 2, 3, torch.float64, seed=10, with_state=with_state, device=DEV)
        assert_close_list(
            run_aaren("triton", s, v, st, cu), run_aaren("reference", s, v, st, cu), torch.float64
        )

    def _second_derivatives(fn, ins):
        """d/d(ins) of |d(sum of squared outputs)/d(ins)|^2 (create_graph=True through the backend)."""
        out = fn(*ins)
        outs = [out[0], *out[1]] if isinstance(out[1], tuple) else list(out)
        gs = torch.autograd.grad(sum((o.double() ** 2).sum() for o in outs), ins, create_graph=True)
        return list(torch.autograd.grad(sum((g.double() ** 2).sum() for g in gs), ins))

    @pytest.mark.parametrize("op", GATED)
    @pytest.mark.parametrize("packed", [False, True])
    def test_second_derivatives_match_reference(op, packed):
        cu = torch.tensor([0, 3, 3, 9], device=DEV) if packed else None
        args = gated_inputs(op, 1 if packed else 2, 9, 5, torch.float64, seed=3, device=DEV)
        if packed:
            args[-1] = torch.randn(3, 5, dtype=torch.float64, device=DEV)
        ins = [a.requires_grad_() for a in args]
        got, want = (_second_derivatives(lambda *x, be=be: getattr(F, op)(*x, backend=be, cu_seqlens=cu), ins)
                     for be in ("triton", "reference"))
        assert_close_list(got, want, torch.float64)

    @pytest.mark.parametrize("with_state", [False, True])
    def test_aaren_second_derivatives_match_reference(with_state):
        s, v, st = aaren_inputs(2, 7, 2, 3, torch.float64, seed=5, with_state=with_state, device=DEV)
        ins = [x.requires_grad_() for x in (s, v, *(st or ()))]
        got, want = (_second_derivatives(lambda s_, v_, *st_, be=be: F.aaren(s_, v_, tuple(st_) or None, backend=be),
                                         ins) for be in ("triton", "reference"))
        assert_close_list(got, want, torch.float64)

    def test_aaren_bf16_values_with_float64_scores():
        s, v, st = aaren_inputs(1, 6, 1, 2, torch.float64, seed=6, device=DEV)
        v = v.to(torch.bfloat16)
        assert_close_list(run_aaren("triton", s, v, st), run_aaren("reference", s, v, st), torch.bfloat16)

    def test_aaren_bf16():
        s, v, st = aaren_inputs(2, 20, 2, 8, torch.bfloat16, seed=4, device=DEV)
        got, want = run_aaren("triton", s, v, st), run_aaren("reference", s, v, st)
        assert got[0].dtype == torch.bfloat16
        assert_close_list(got, want, torch.bfloat16)


def test_launch_config_rejects_bad_values():
    from minrnn.ops.triton.ops import LaunchConfig, launch_config

    with pytest.raises(ValueError, match="block_t"):
        LaunchConfig(block_t=48)
    with pytest.raises(ValueError, match="block_d"):
        LaunchConfig(block_d=8)
    with pytest.raises(ValueError, match="num_warps"):
        LaunchConfig(num_warps=3)
    with pytest.raises(ValueError, match="segment"):
        LaunchConfig(block_t=64, segment=96)
    with pytest.raises(ValueError, match="choose one"):
        LaunchConfig(segment=1024, lookback=True)
    with pytest.raises(TypeError, match="LaunchConfig"):
        with launch_config((64, 32)):
            pass
