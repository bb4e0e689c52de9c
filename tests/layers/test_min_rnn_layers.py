import pytest
import torch

import minrnn
from tests.ops.explicit import min_gru_loop, min_lstm_loop

LAYERS = [minrnn.MinGRU, minrnn.MinLSTM]


def _count(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("d", [8, 64])
def test_parameter_counts_match_the_paper(d):
    assert _count(minrnn.MinGRU(d, d, bias=False)) == 2 * d * d
    assert _count(minrnn.MinLSTM(d, d, bias=False)) == 3 * d * d


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("kw", [{}, {"expansion": 2.0}, {"learnable_init": True}, {"bias": False, "expansion": 0.5}])
def test_step_loop_equals_forward(cls, kw):
    torch.manual_seed(0)
    m = cls(5, 6, **kw).double()
    if m.h0 is not None:
        torch.nn.init.normal_(m.h0)
    x = torch.randn(3, 13, 5, dtype=torch.float64)
    y, state = m(x)
    ys, st = [], None
    for t in range(x.shape[1]):
        y_t, st = m.step(x[:, t], st)
        ys.append(y_t)
    assert y.shape == (3, 13, 6) and state.shape == (3, m.inner_size)
    assert torch.allclose(torch.stack(ys, 1), y, atol=1e-12)
    assert torch.allclose(st, state, atol=1e-12)


@pytest.mark.parametrize("cls", LAYERS)
def test_forward_in_pieces_equals_whole(cls):
    torch.manual_seed(0)
    m = cls(4, 4, expansion=1.5).double()
    x = torch.randn(2, 17, 4, dtype=torch.float64)
    y, s = m(x)
    y1, s1 = m(x[:, :6])
    y2, s2 = m(x[:, 6:], s1)
    assert torch.allclose(torch.cat([y1, y2], 1), y, atol=1e-12) and torch.allclose(s2, s, atol=1e-12)


def test_min_gru_layer_computes_the_paper_equations():
    torch.manual_seed(0)
    m = minrnn.MinGRU(4, 3).double()
    x = torch.randn(2, 9, 4, dtype=torch.float64)
    h0 = torch.randn(2, 3, dtype=torch.float64)
    gate, cand = m.in_proj(x).chunk(2, -1)
    assert torch.allclose(m(x, h0)[0], min_gru_loop(gate, cand, h0)[0], atol=1e-12)


def test_min_lstm_layer_computes_the_paper_equations_and_forget_bias():
    torch.manual_seed(0)
    m = minrnn.MinLSTM(4, 3, forget_bias=2.0).double()
    assert torch.all(m.in_proj.bias[:3] >= 2.0 - 1.0)
    x = torch.randn(2, 9, 4, dtype=torch.float64)
    f, i, c = m.in_proj(x).chunk(3, -1)
    h0 = torch.zeros(2, 3, dtype=torch.float64)
    assert torch.allclose(m(x)[0], min_lstm_loop(f, i, c, h0)[0], atol=1e-12)


@pytest.mark.parametrize("cls", LAYERS)
def test_gradients_reach_every_parameter_and_the_initial_state(cls):
    m = cls(4, 6, expansion=2.0, learnable_init=True)
    x = torch.randn(2, 7, 4, requires_grad=True)
    y, s = m(x)
    (y.square().sum() + s.sum()).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert x.grad is not None


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_layers(cls, dtype):
    m = cls(8, 8).to(dtype)
    x = torch.randn(2, 10, 8, dtype=dtype)
    y, s = m(x)
    y_t, s_t = m.step(x[:, 0])
    assert y.dtype == dtype and y_t.dtype == dtype and torch.isfinite(y.float()).all()


@pytest.mark.parametrize("cls", LAYERS)
def test_bad_input(cls):
    m = cls(4, 3)
    with pytest.raises(ValueError, match="input_size=4"):
        m(torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, input_size\)"):
        m(torch.randn(5, 4))
    with pytest.raises(ValueError, match="state must have shape"):
        m(torch.randn(2, 5, 4), torch.randn(3, 3))
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        cls(4, 0)
    with pytest.raises(ValueError, match=r"x must have at least one time step"):
        m(torch.randn(2, 0, 4))


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("expansion", [1.0, 2.0])
def test_step_returns_forwards_dtype_under_autocast(cls, expansion):
    m, x = cls(4, 4, expansion=expansion), torch.randn(2, 5, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, _ = m(x)
        y_t, _ = m.step(x[:, 0])
    assert y.dtype == y_t.dtype == torch.bfloat16
    assert torch.allclose(y_t.float(), y[:, 0].float(), atol=2e-2)


def test_reset_parameters_after_meta_init():
    """Deferred init (meta device, to_empty, reset_parameters) gives h0 = 0 and MinLSTM's forget bias."""
    import minrnn

    m = minrnn.MinLSTM(4, 4, learnable_init=True, forget_bias=3.0, device="meta").to_empty(device="cpu")
    m.reset_parameters()
    assert torch.equal(m.h0.detach(), torch.zeros(4))
    assert (m.in_proj.bias[:4] > 2.0).all() and (m.in_proj.bias[4:].abs() <= 0.5).all()
    g = minrnn.MinGRU(3, 5, expansion=2.0, learnable_init=True, device="meta").to_empty(device="cpu")
    g.reset_parameters()
    assert torch.equal(g.h0.detach(), torch.zeros(10)) and torch.isfinite(g.out_proj.weight).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_size=True, hidden_size=4), "input_size must be a positive int"),
    (dict(input_size=3, hidden_size=4, expansion="2"), "expansion must be a positive number, got '2'"),
    (dict(input_size=3, hidden_size=4, expansion=float("nan")), "expansion must be a positive number"),
])
def test_constructor_errors_name_the_argument(kwargs, match):
    import minrnn

    with pytest.raises(ValueError, match=match):
        minrnn.MinGRU(**kwargs)


def test_numpy_scalars_are_accepted_for_sizes_expansion_and_forget_bias():
    import numpy as np

    import minrnn

    m = minrnn.MinLSTM(np.int64(4), np.int64(6), expansion=np.float32(2.0), forget_bias=np.float32(1.0))
    assert (m.input_size, m.inner_size, m.forget_bias) == (4, 12, 1.0)
    with pytest.raises(ValueError, match="expansion must be a positive number"):
        minrnn.MinGRU(4, 6, expansion=np.bool_(True))
