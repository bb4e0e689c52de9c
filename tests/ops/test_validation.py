import pytest
import torch

from minrnn import functional as F

x = torch.randn(2, 5, 3)


@pytest.mark.parametrize("call, err, match", [
    (lambda: F.linear_scan(torch.randn(2, 5), x), ValueError, r"a must have shape \(B, T, D\)"),
    (lambda: F.linear_scan(x, torch.randn(2, 4, 3)), ValueError, "b must have the same shape as a"),
    (lambda: F.linear_scan(x, x, torch.randn(2, 4)), ValueError, r"h0 must have shape \(B, D\)"),
    (lambda: F.linear_scan(x, x, torch.randn(5)), ValueError, "h0 must have shape"),
    (lambda: F.linear_scan(x.long(), x), TypeError, "a must have a floating-point dtype"),
    (lambda: F.linear_scan([1.0], x), TypeError, "a must be a torch.Tensor"),
    (lambda: F.linear_scan(x, x, backend="nope"), ValueError, "backend must be 'auto' or one of"),
    (lambda: F.linear_scan(x[:, :0], x[:, :0]), ValueError, "at least one time step"),
    (lambda: F.min_gru(x, x, [[0.0] * 3] * 2), TypeError, "h0 must be a torch.Tensor"),
    (lambda: F.min_gru(x, x.int()), TypeError, "candidate must have a floating-point dtype"),
    (lambda: F.min_lstm(x, x, torch.randn(2, 5, 4)), ValueError, "candidate must have the same shape"),
    (lambda: F.aaren(torch.randn(2, 5, 3), torch.randn(2, 5, 3)), ValueError, r"values must have shape"),
    (lambda: F.aaren(torch.randn(2, 5, 3), torch.randn(2, 4, 3, 2)), ValueError, r"values must have shape"),
    (lambda: F.aaren(torch.randn(2, 5, 3), torch.randn(2, 5, 3, 2), (1, 2)), TypeError, "state must be"),
    (lambda: F.aaren(torch.randn(2, 5, 3), torch.randn(2, 5, 3, 2),
                     (torch.randn(2, 3), torch.randn(2, 3), torch.randn(2, 3, 4))), ValueError, r"state\[2\] \(w\)"),
])
def test_bad_input_raises_naming_the_argument(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_mixed_devices_rejected():
    meta = torch.randn(2, 5, 3, device="meta")
    with pytest.raises(ValueError, match="must share one device"):
        F.linear_scan(x, meta)
    with pytest.raises(ValueError, match="must share one device"):
        F.min_gru(x, x, torch.randn(2, 3, device="meta"))


def test_mixed_float32_float64_inputs_accumulate_in_float64():
    a = torch.rand(2, 9, 3)
    b = torch.randn(2, 9, 3, dtype=torch.float64)
    for backend in ("auto", "chunked", "reference"):
        h, h_last = F.linear_scan(a, b, backend=backend)
        want, _ = F.linear_scan(a.double(), b, backend="reference")
        assert h_last.dtype == torch.float64
        assert torch.allclose(h.double(), want, atol=1e-6)


@pytest.mark.parametrize("op, n_in", [("linear_scan", 2), ("min_gru", 2), ("min_lstm", 3), ("aaren", 2)])
def test_an_empty_batch_gives_empty_outputs_on_every_backend(op, n_in):
    """B = 0 (e.g. the last, empty shard of a split batch): empty outputs and gradients, never a crash."""
    from tests.ops.explicit import cpu_backends

    for backend in cpu_backends(op):
        if op == "aaren":
            args = [torch.rand(0, 5, 2, requires_grad=True), torch.rand(0, 5, 2, 3, requires_grad=True)]
        else:
            args = [torch.rand(0, 5, 3, requires_grad=True) for _ in range(n_in)]
        out, state = getattr(F, op)(*args, backend=backend)
        out.sum().backward()
        assert out.shape[:2] == (0, 5) and all(a.grad.shape == a.shape for a in args), backend
