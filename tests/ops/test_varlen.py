"""Variable-length packed batches (``cu_seqlens``): every backend against the per-sequence reference, and
argument validation."""

from __future__ import annotations

import pytest
import torch

try:  # tests/ops as rootdir-relative folder, or as a package
    from kernel_cases import GATED, aaren_inputs, assert_close_list, gated_inputs, run_aaren, run_gated
except ImportError:  # pragma: no cover
    from .kernel_cases import GATED, aaren_inputs, assert_close_list, gated_inputs, run_aaren, run_gated

import minrnn.functional as F
from minrnn.ops import registry

LENGTHS = [5, 0, 1, 13, 7]  # includes an empty sequence and a single step
CU = torch.tensor([0] + torch.tensor(LENGTHS).cumsum(0).tolist())
TOTAL = int(CU[-1])


def _gated_backends(op):
    names = [n for n in registry.backends(op) if n != "triton"]
    return [n for n in names if not (op == "linear_scan" and n == "log_space")]


def _packed(op, dtype, seed=0):
    *xs, _ = gated_inputs(op, 1, TOTAL, 6, dtype, seed=seed)
    h0 = torch.randn(len(LENGTHS), 6, dtype=dtype, generator=torch.Generator().manual_seed(seed + 1))
    return xs + [h0]


@pytest.mark.parametrize("op", GATED)
def test_reference_varlen_is_a_loop_over_sequences(op):
    *xs, h0 = _packed(op, torch.float64)
    fn = getattr(F, op)
    h, last = fn(*xs, h0, backend="reference", cu_seqlens=CU)
    assert h.shape == (1, TOTAL, 6) and last.shape == (len(LENGTHS), 6)
    for n in range(len(LENGTHS)):
        s, e = int(CU[n]), int(CU[n + 1])
        if s == e:
            torch.testing.assert_close(last[n], h0[n])
            continue
        hn, ln = fn(*(x[:, s:e] for x in xs), h0[n : n + 1], backend="reference")
        torch.testing.assert_close(h[:, s:e], hn, rtol=0, atol=0)
        torch.testing.assert_close(last[n], ln[0], rtol=0, atol=0)


@pytest.mark.parametrize("op", GATED)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_every_backend_varlen_matches_reference(op, dtype):
    args = _packed(op, dtype, seed=3)
    want = run_gated(op, "reference", args, cu_seqlens=CU)
    for name in _gated_backends(op):
        tol = 1e-4 if name == "log_space" and dtype == torch.float32 else None
        assert_close_list(run_gated(op, name, args, cu_seqlens=CU), want, dtype, rtol=tol)


@pytest.mark.parametrize("with_state", [False, True])
def test_aaren_varlen_matches_reference(with_state):
    s, v, _ = aaren_inputs(1, TOTAL, 2, 3, torch.float64, seed=9, with_state=False)
    _, _, st = aaren_inputs(len(LENGTHS), 1, 2, 3, torch.float64, seed=10, with_state=with_state)
    want = run_aaren("reference", s, v, st, cu_seqlens=CU)
    for name in [n for n in registry.backends("aaren") if n != "triton"]:
        assert_close_list(run_aaren(name, s, v, st, cu_seqlens=CU), want, torch.float64)


def test_aaren_empty_sequence_without_state_is_identity():
    s, v, _ = aaren_inputs(1, TOTAL, 2, 3, torch.float64, with_state=False)
    for name in ("reference", "cpu_fused"):
        if name not in registry.backends("aaren"):
            continue
        _, (m, u, w) = F.aaren(s, v, backend=name, cu_seqlens=CU)
        assert torch.isinf(m[1]).all() and (u[1] == 0).all() and (w[1] == 0).all()


def test_validation_errors():
    x = torch.randn(1, 6, 2)
    with pytest.raises(TypeError, match="cu_seqlens must have dtype torch.int64"):
        F.min_gru(x, x, cu_seqlens=torch.tensor([0, 6], dtype=torch.int32))
    with pytest.raises(TypeError, match="cu_seqlens must be a torch.LongTensor"):
        F.min_gru(x, x, cu_seqlens=[0, 6])
    with pytest.raises(ValueError, match="1-D"):
        F.min_gru(x, x, cu_seqlens=torch.tensor([[0, 6]]))
    with pytest.raises(ValueError, match="start at 0"):
        F.min_gru(x, x, cu_seqlens=torch.tensor([1, 6]))
    with pytest.raises(ValueError, match="non-decreasing"):
        F.min_gru(x, x, cu_seqlens=torch.tensor([0, 4, 3, 6]))
    with pytest.raises(ValueError, match="end at total_T = 6"):
        F.linear_scan(x, x, cu_seqlens=torch.tensor([0, 5]))
    with pytest.raises(ValueError, match=r"packed as \(1, total_T"):
        F.min_lstm(x.expand(2, 6, 2), x.expand(2, 6, 2), x.expand(2, 6, 2), cu_seqlens=torch.tensor([0, 6]))
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, D\)"):
        F.min_gru(x, x, torch.zeros(1, 2), cu_seqlens=torch.tensor([0, 2, 6]))
    with pytest.raises(ValueError, match=r"state\[0\] \(m\) must have shape \(N, H\)"):
        F.aaren(
            x,
            x.unsqueeze(-1),
            (torch.zeros(1, 2), torch.ones(1, 2), torch.zeros(1, 2, 1)),
            cu_seqlens=torch.tensor([0, 2, 6]),
        )
