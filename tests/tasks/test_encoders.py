import pytest
import torch

from minrnn.tasks.encoders import EncoderConfig, build_encoder


@pytest.mark.parametrize("kind", ["aaren", "transformer"])
def test_shapes_and_causality(kind):
    torch.manual_seed(0)
    enc = build_encoder(kind, d_model=16, nhead=2, dim_feedforward=32, layers=2).eval()
    x = torch.randn(3, 12, 16)
    y = enc(x)
    assert y.shape == (3, 12, 16)
    x2 = x.clone()
    x2[:, 7:] = torch.randn(3, 5, 16) * 5
    y2 = enc(x2)
    torch.testing.assert_close(y[:, :7], y2[:, :7], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(y[:, 7:], y2[:, 7:])


@pytest.mark.parametrize("kind", ["aaren", "transformer"])
def test_gradient_causality(kind):
    torch.manual_seed(0)
    enc = build_encoder(kind, d_model=8, nhead=2, dim_feedforward=16, layers=1)
    x = torch.randn(2, 9, 8, requires_grad=True)
    (enc(x)[:, 4] * torch.randn(2, 8)).sum().backward()
    assert x.grad[:, 5:].abs().max() == 0
    assert x.grad[:, :5].abs().max() > 0


def test_bad_config():
    with pytest.raises(ValueError, match="kind"):
        EncoderConfig(kind="lstm")
    with pytest.raises(ValueError, match="nhead"):
        EncoderConfig(d_model=10, nhead=4)
    with pytest.raises(ValueError, match="unknown"):
        EncoderConfig.from_dict({"kind": "aaren", "width": 3})


@pytest.mark.parametrize("kind", ["aaren", "transformer"])
def test_backbone_arch_is_causal(kind):
    torch.manual_seed(0)
    enc = build_encoder(kind, d_model=16, nhead=2, layers=2, arch="backbone").eval()
    x = torch.randn(2, 10, 16)
    x2 = x.clone()
    x2[:, 6:] += 3.0
    torch.testing.assert_close(enc(x)[:, :6], enc(x2)[:, :6], rtol=1e-5, atol=1e-5)
    assert enc(x).shape == (2, 10, 16)
