"""Property tests over shapes, lengths and value ranges (hypothesis)."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minrnn.functional import aaren, linear_scan, min_gru, min_lstm
from tests.ops.explicit import causal_softmax_attention, min_gru_loop, min_lstm_loop, scan_loop

dims = st.tuples(st.integers(1, 3), st.integers(1, 40), st.integers(1, 5))
SETTINGS = settings(max_examples=25, deadline=None)


def _rand(shape, seed, scale):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


@SETTINGS
@given(dims, st.integers(0, 2**16), st.floats(0.1, 30.0), st.sampled_from(["chunked", "reference"]))
def test_min_gru_any_shape(shape, seed, scale, backend):
    B, T, D = shape
    gate, cand, h0 = _rand(shape, seed, scale), _rand(shape, seed + 1, scale), _rand((B, D), seed + 2, scale)
    h, last = min_gru(gate, cand, h0, backend=backend)
    want, want_last = min_gru_loop(gate, cand, h0)
    assert torch.allclose(h, want, atol=1e-10, rtol=1e-10) and torch.allclose(last, want_last, atol=1e-10)


@SETTINGS
@given(dims, st.integers(0, 2**16), st.floats(0.1, 30.0))
def test_min_lstm_any_shape(shape, seed, scale):
    B, T, D = shape
    f, i, c = (_rand(shape, seed + k, scale) for k in range(3))
    h0 = _rand((B, D), seed + 3, scale)
    h, _ = min_lstm(f, i, c, h0)
    assert torch.allclose(h, min_lstm_loop(f, i, c, h0)[0], atol=1e-10, rtol=1e-10)


@SETTINGS
@given(dims, st.integers(0, 2**16), st.integers(1, 39))
def test_linear_scan_split_anywhere(shape, seed, split):
    B, T, D = shape
    a = torch.tanh(_rand(shape, seed, 1.0))
    b, h0 = _rand(shape, seed + 1, 2.0), _rand((B, D), seed + 2, 2.0)
    whole, last = linear_scan(a, b, h0)
    assert torch.allclose(whole, scan_loop(a, b, h0)[0], atol=1e-10)
    if split < T:
        p1, mid = linear_scan(a[:, :split], b[:, :split], h0)
        p2, last2 = linear_scan(a[:, split:], b[:, split:], mid)
        assert torch.allclose(torch.cat([p1, p2], 1), whole, atol=1e-10)
        assert torch.allclose(last2, last, atol=1e-10)


@SETTINGS
@given(st.tuples(st.integers(1, 3), st.integers(1, 40), st.integers(1, 3), st.integers(1, 4)),
       st.integers(0, 2**16), st.floats(0.1, 50.0), st.sampled_from(["chunked", "prefix_scan", "reference"]))
def test_aaren_any_shape(shape, seed, scale, backend):
    B, T, H, Dv = shape
    s, v = _rand((B, T, H), seed, scale), _rand(shape, seed + 1, 1.0)
    out, _ = aaren(s, v, backend=backend)
    assert torch.allclose(out, causal_softmax_attention(s, v), atol=1e-10)
