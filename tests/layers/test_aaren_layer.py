import math
import re

import pytest
import torch

import minrnn


def _explicit_aaren(layer: minrnn.Aaren, x: torch.Tensor) -> torch.Tensor:
    """Causal softmax attention of the layer's learned query over k, v projected from x."""
    d, H, hd = layer.d_model, layer.num_heads, layer.head_dim
    W, bias = layer.in_proj_weight, layer.in_proj_bias
    q = (W[:d] @ layer.query + bias[:d]).view(H, hd)
    k = (x @ W[d:2 * d].T + bias[d:2 * d]).view(*x.shape[:2], H, hd)
    v = (x @ W[2 * d:].T + bias[2 * d:]).view(*x.shape[:2], H, hd)
    T = x.shape[1]
    outs = []
    for t in range(T):
        s = torch.einsum("bihd,hd->bhi", k[:, : t + 1], q) / math.sqrt(hd)
        w = torch.softmax(s, dim=-1)
        outs.append(torch.einsum("bhi,bihd->bhd", w, v[:, : t + 1]).reshape(x.shape[0], d))
    return layer.out_proj(torch.stack(outs, 1))


@pytest.mark.parametrize("heads", [1, 4])
def test_matches_explicit_attention_with_learned_query(heads):
    torch.manual_seed(0)
    layer = minrnn.Aaren(8, heads).double()
    torch.nn.init.normal_(layer.in_proj_bias)
    x = torch.randn(2, 11, 8, dtype=torch.float64)
    y, _ = layer(x)
    assert torch.allclose(y, _explicit_aaren(layer, x), atol=1e-10)


def test_step_loop_equals_forward_and_is_causal():
    torch.manual_seed(0)
    layer = minrnn.Aaren(12, 3).double()
    x = torch.randn(2, 15, 12, dtype=torch.float64)
    y, state = layer(x)
    st, ys = None, []
    for t in range(15):
        y_t, st = layer.step(x[:, t], st)
        ys.append(y_t)
    assert torch.allclose(torch.stack(ys, 1), y, atol=1e-12)
    x2 = x.clone()
    x2[:, 8:] += 5.0
    assert torch.allclose(layer(x2)[0][:, :8], y[:, :8], atol=1e-12)


def test_query_is_a_parameter_not_a_function_of_the_input():
    layer = minrnn.Aaren(8, 2)
    names = dict(layer.named_parameters())
    assert "query" in names and names["query"].shape == (8,)


def test_pieces_equal_whole():
    torch.manual_seed(1)
    layer = minrnn.Aaren(8, 2).double()
    x = torch.randn(3, 20, 8, dtype=torch.float64)
    y, _ = layer(x)
    y1, s = layer(x[:, :7])
    y2, _ = layer(x[:, 7:], s)
    assert torch.allclose(torch.cat([y1, y2], 1), y, atol=1e-12)


def test_encoder_layer_parameter_count_matches_the_paper():
    aaren = minrnn.AarenEncoderLayer(512, 8, 2048)
    ref = torch.nn.TransformerEncoderLayer(512, 8, 2048)
    assert sum(p.numel() for p in aaren.parameters()) == 3_152_896
    assert sum(p.numel() for p in ref.parameters()) == 3_152_384


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_is_a_drop_in_and_steps(norm_first):
    torch.manual_seed(0)
    layer = minrnn.AarenEncoderLayer(16, 4, 32, dropout=0.0, norm_first=norm_first).double().eval()
    src = torch.randn(9, 2, 16, dtype=torch.float64)  # (T, B, d): batch_first=False like torch
    out = layer(src)
    assert out.shape == src.shape
    st, ys = None, []
    for t in range(9):
        y_t, st = layer.step(src[t], st)
        ys.append(y_t)
    assert torch.allclose(torch.stack(ys, 0), out, atol=1e-12)
    with pytest.raises(ValueError, match="src_mask must be None or the causal mask"):
        layer(src, src_mask=torch.zeros(9, 9))


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_heads must be a positive int dividing d_model"):
        minrnn.Aaren(10, 3)
    with pytest.raises(ValueError, match="d_model=8"):
        minrnn.Aaren(8)(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"x must have at least one time step"):
        minrnn.Aaren(8)(torch.randn(2, 0, 8))
    layer = minrnn.Aaren(4, 2)
    _, state = layer.step(torch.randn(1, 4))
    with pytest.raises(ValueError, match=r"state\[0\] \(m\) must have shape \(B, H\) = \(3, 2\)"):
        layer.step(torch.randn(3, 4), state)  # a batch-1 state must not broadcast silently


@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_stacks_in_nn_transformer_encoder(batch_first):
    torch.manual_seed(0)
    enc = torch.nn.TransformerEncoder(minrnn.AarenEncoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first),
                                      2, enable_nested_tensor=False).eval()
    src = torch.randn(3, 5, 8) if batch_first else torch.randn(5, 3, 8)
    plain = enc(src)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5)
    assert torch.allclose(enc(src, mask=causal, is_causal=True), plain)  # the causal mask is what Aaren does
    assert torch.allclose(enc(src, mask=torch.ones(5, 5, dtype=torch.bool).triu(1)), plain)
    with pytest.raises(ValueError, match="src_mask must be None or the causal mask"):
        enc(src, mask=torch.zeros(5, 5).masked_fill(torch.eye(5, dtype=torch.bool), -torch.inf))


@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_checks_src_in_the_callers_layout_and_takes_unbatched_input(batch_first):
    layer = minrnn.AarenEncoderLayer(8, 2, 16, batch_first=batch_first, dropout=0.0)
    layout = "(B, T, d_model)" if batch_first else "(T, B, d_model)"
    with pytest.raises(ValueError, match=r"src must have last dimension d_model=8, got shape \(5, 3, 6\)"):
        layer(torch.randn(5, 3, 6))
    with pytest.raises(ValueError, match=f"src must have shape {re.escape(layout)} or unbatched"):
        layer(torch.randn(5, 3, 2, 8))
    x = torch.randn(5, 8)
    batched = x.unsqueeze(0) if batch_first else x.unsqueeze(1)
    want = layer(batched)
    torch.testing.assert_close(layer(x), want[0] if batch_first else want[:, 0])
    pad = torch.tensor([False, False, True, True, True])
    assert torch.equal(layer(x, src_key_padding_mask=pad)[2:], torch.zeros(3, 8))


def test_encoder_layer_refuses_a_padding_mask_of_another_shape():
    layer = minrnn.AarenEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    mask = torch.tensor([[False, False, True], [False, True, True]])
    with pytest.raises(ValueError, match=r"src_key_padding_mask must have shape \(B, T\) = \(2, 3\), got \(3, 2\)"):
        layer(torch.randn(2, 3, 8), src_key_padding_mask=mask.T.contiguous())
    assert layer(torch.randn(3, 8), src_key_padding_mask=mask[0]).shape == (3, 8)
