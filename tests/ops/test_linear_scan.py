import pytest
import torch

from minrnn.functional import linear_scan
from tests.ops.explicit import cpu_backends, scan_loop

EXACT = ["reference", "chunked"]
LENGTHS = [1, 2, 7, 64, 257]


def _inputs(B, T, D, dtype, positive_a=False, seed=0):
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(B, T, D, generator=gen, dtype=torch.float64)
    if not positive_a:
        a = a * 2 - 1
    b = torch.randn(B, T, D, generator=gen, dtype=torch.float64) * 3
    h0 = torch.randn(B, D, generator=gen, dtype=torch.float64) * 5
    return a.to(dtype), b.to(dtype), h0.to(dtype)


@pytest.mark.parametrize("backend", EXACT)
@pytest.mark.parametrize("T", LENGTHS)
def test_float64_matches_loop(backend, T):
    a, b, h0 = _inputs(3, T, 5, torch.float64)
    want, want_last = scan_loop(a, b, h0)
    h, h_last = linear_scan(a, b, h0, backend=backend)
    assert (h - want).abs().max() <= 1e-10
    assert (h_last - want_last).abs().max() <= 1e-10


@pytest.mark.parametrize("T", LENGTHS)
def test_log_space_positive_coefficients_any_sign_inputs(T):
    a, b, h0 = _inputs(2, T, 4, torch.float64, positive_a=True)
    a = a.clamp_min(0.05)
    want, _ = scan_loop(a, b, h0)
    h, _ = linear_scan(a, b, h0, backend="log_space")
    assert torch.allclose(h, want, atol=1e-9, rtol=1e-9)


def test_log_space_rejects_nonpositive_coefficients():
    a, b, h0 = _inputs(1, 5, 2, torch.float64)
    with pytest.raises(ValueError, match="a > 0"):
        linear_scan(a, b, h0, backend="log_space")


@pytest.mark.parametrize("backend", EXACT)
def test_float32_relative(backend):
    a, b, h0 = _inputs(2, 300, 8, torch.float64)
    want, _ = scan_loop(a, b, h0)
    h, _ = linear_scan(a.float(), b.float(), h0.float(), backend=backend)
    assert h.dtype == torch.float32
    # norm-wise relative error: element-wise relative error is meaningless where h crosses zero
    assert (h.double() - want).abs().max() / want.abs().max() <= 1e-5


@pytest.mark.parametrize("backend", cpu_backends("linear_scan"))
def test_default_h0_is_zero(backend):
    a, b, _ = _inputs(2, 9, 3, torch.float64, positive_a=True)
    h1, _ = linear_scan(a, b, backend=backend)
    h2, _ = linear_scan(a, b, torch.zeros(2, 3, dtype=torch.float64), backend=backend)
    assert torch.allclose(h1, h2)


@pytest.mark.parametrize("backend", EXACT)
@pytest.mark.parametrize("split", [1, 5, 12])
def test_chunked_continuation_equals_whole(backend, split):
    a, b, h0 = _inputs(2, 13, 4, torch.float64)
    whole, last = linear_scan(a, b, h0, backend=backend)
    first, mid = linear_scan(a[:, :split], b[:, :split], h0, backend=backend)
    second, last2 = linear_scan(a[:, split:], b[:, split:], mid, backend=backend)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-12)
    assert torch.allclose(last2, last, atol=1e-12)


@pytest.mark.parametrize("backend", cpu_backends("linear_scan"))
def test_gradcheck(backend):
    a, b, h0 = _inputs(2, 6, 3, torch.float64, positive_a=True)
    a = a.clamp_min(0.1)
    args = [t.clone().requires_grad_() for t in (a, b, h0)]
    assert torch.autograd.gradcheck(lambda *x: linear_scan(*x, backend=backend), args)


def test_gradcheck_chunked_negative_coefficients_long_enough_for_several_chunks():
    a, b, h0 = _inputs(1, 23, 2, torch.float64)
    args = [t.clone().requires_grad_() for t in (a, b, h0)]
    assert torch.autograd.gradcheck(lambda *x: linear_scan(*x, backend="chunked"), args)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_accumulate_in_float32(dtype):
    a, b, h0 = _inputs(2, 500, 4, torch.float64, positive_a=True)
    a = a * 0.5 + 0.49
    a, b, h0 = a.to(dtype), b.to(dtype), h0.to(dtype)
    h, h_last = linear_scan(a, b, h0)
    want, _ = scan_loop(a.double(), b.double(), h0.double())
    assert h.dtype == dtype and h_last.dtype == torch.float32
    tol = 1e-2 if dtype == torch.float16 else 2e-2
    assert ((h.double() - want).abs() / (want.abs() + 1)).max() <= tol


def test_log_space_gradient_reaches_zero_and_subnormal_inputs():
    """Through log|b| the gradient of b_t = 0 would be 0 * inf; the log-space backend's backward is the exact
    reverse scan, so it matches the reference there too."""
    import minrnn.functional as MF

    g = torch.Generator().manual_seed(0)
    a = (torch.rand(2, 6, 2, generator=g, dtype=torch.float64) * 0.5 + 0.4).requires_grad_()
    b = torch.randn(2, 6, 2, generator=g, dtype=torch.float64)
    b[0, 2], b[0, 4, 0] = 0.0, 1e-320
    b.requires_grad_()
    h0 = -torch.rand(2, 2, generator=g, dtype=torch.float64)
    grads = {}
    for backend in ("reference", "log_space"):
        h, h_last = MF.linear_scan(a, b, h0, backend=backend)
        grads[backend] = torch.autograd.grad(h.sum() + h_last.sum(), (a, b))
    for got, want in zip(grads["log_space"], grads["reference"]):
        assert torch.allclose(got, want, atol=1e-12)
    assert grads["log_space"][1][0, 2].abs().min() > 0.5


def test_chunked_returns_contiguous_outputs_when_it_pads():
    import minrnn.functional as MF

    h, _ = MF.linear_scan(torch.rand(2, 1000, 8), torch.randn(2, 1000, 8), backend="chunked")
    assert h.is_contiguous() and h.view(-1, 8).shape == (2000, 8)
