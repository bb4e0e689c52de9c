"""Layout helpers of the kernels: in-place reading of projection chunks and the concatenation-free backward of
``chunk_last_dim``."""

from __future__ import annotations

import pytest
import torch

import minrnn.functional as F
from minrnn.ops.layout import are_adjacent_chunks, chunk_last_dim


def test_adjacent_chunks_detected():
    proj = torch.randn(2, 5, 24)
    assert are_adjacent_chunks(list(proj.chunk(3, dim=-1)))
    assert are_adjacent_chunks(list(proj[:1].chunk(2, dim=-1)))
    assert not are_adjacent_chunks(list(proj.chunk(3, dim=-1))[::-1])
    assert not are_adjacent_chunks([torch.randn(2, 5, 8), torch.randn(2, 5, 8)])
    assert not are_adjacent_chunks(list(proj[..., :16].chunk(2, dim=-1)))


def test_chunk_last_dim_forward_is_chunk():
    x = torch.randn(3, 4, 12, requires_grad=True)
    for a, b in zip(chunk_last_dim(x, 3), x.chunk(3, dim=-1)):
        assert torch.equal(a, b) and a.data_ptr() == b.data_ptr()
    with pytest.raises(ValueError, match="divisible by n=5"):
        chunk_last_dim(x, 5)


@pytest.mark.parametrize("backend", ["cpu_fused", "reference"])
@pytest.mark.parametrize("op", ["min_gru", "min_lstm", "linear_scan"])
def test_chunk_last_dim_gradient_matches_chunk(op, backend):
    """Same gradient as ``Tensor.chunk`` whether the kernel writes the gradients as chunks of one buffer
    (cpu_fused: handed on without a copy) or as separate tensors (reference: concatenated)."""
    if backend == "cpu_fused":
        cpu_fused = pytest.importorskip("minrnn.ops.cpu_fused")
        if cpu_fused.library() is None:
            pytest.skip("fused CPU kernels could not be built")
    n = 3 if op == "min_lstm" else 2
    fn = getattr(F, op)
    torch.manual_seed(0)
    x = torch.randn(2, 9, n * 5, dtype=torch.float64)
    w = torch.randn(2, 9, 5, dtype=torch.float64)
    grads = []
    for chunker in (chunk_last_dim, lambda t, k: t.chunk(k, dim=-1)):
        leaf = x.clone().requires_grad_()
        parts = chunker(leaf * 1.0, n)
        h, last = fn(*parts, backend=backend)
        ((h * w).sum() + last.sum()).backward()
        grads.append(leaf.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=1e-12)


def test_chunk_last_dim_skips_the_copy_for_packed_gradients():
    x = torch.randn(2, 3, 8, requires_grad=True)
    y = x * 1.0
    a, b = chunk_last_dim(y, 2)
    buf = torch.randn(2, 3, 8)
    ga, gb = buf.chunk(2, dim=-1)
    seen = []
    y.register_hook(lambda g: seen.append(g.data_ptr()))
    torch.autograd.backward([a, b], [ga, gb])
    assert seen == [buf.data_ptr()]
    torch.testing.assert_close(x.grad, buf)


def test_chunk_last_dim_with_an_unused_chunk():
    x = torch.randn(2, 3, 8, requires_grad=True)
    a, _ = chunk_last_dim(x, 2)
    a.sum().backward()
    torch.testing.assert_close(x.grad, torch.cat([torch.ones(2, 3, 4), torch.zeros(2, 3, 4)], dim=-1))


def test_chunk_last_dim_any_rank():
    x = torch.randn(5, 6, requires_grad=True)
    a, b, c = chunk_last_dim(x, 3)
    (a.sum() + 2 * b.sum() + 3 * c.sum()).backward()
    torch.testing.assert_close(x.grad, torch.tensor([1.0, 1, 2, 2, 3, 3]).expand(5, 6))
