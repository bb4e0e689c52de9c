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
