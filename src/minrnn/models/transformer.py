"""Causal multi-head self-attention with rotary position embeddings (RoPE) and a KV cache (nanoGPT-like)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from minrnn.ops.validation import is_integral


def rope(x: torch.Tensor, pos: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotate pairs (x[..., :d/2], x[..., d/2:]) of x (B, H, T, hd) by angle pos_t * base^(-2i/hd).

    ``pos`` is (T,) absolute positions, so a cached prefix and a fresh token get the same rotation as in a
    full forward pass.
    """
    hd = x.shape[-1]
    half = hd // 2
    inv = base ** (-torch.arange(half, device=x.device, dtype=torch.float64) / half)
    ang = pos.to(torch.float64)[:, None] * inv[None, :]  # (T, half)
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:2 * half]
    out = torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    if 2 * half < hd:  # odd head dim: the last feature is not rotated
        out = torch.cat([out, x[..., 2 * half:]], dim=-1)
    return out


class CausalSelfAttention(nn.Module):
    """y = W_o softmax(mask(rope(q) rope(k)^T / sqrt(hd))) v with q, k, v = split(W_qkv x).

    State is the KV cache ``(k (B,H,P,hd), v (B,H,P,hd))`` of the P tokens seen so far (positions 0..P-1);
    ``forward(x, state)`` continues after them. Memory grows with P (unlike the recurrent mixers).

    Shapes: forward(x (B,T,d), state) -> (y (B,T,d), state); step(x_t (B,d), state) -> (y_t (B,d), state).
    """

    def __init__(self, d_model: int, num_heads: int = 4, bias: bool = False, dropout: float = 0.0):
        super().__init__()
        if not is_integral(num_heads) or num_heads <= 0 or d_model % num_heads:
            raise ValueError(f"num_heads must be a positive int dividing d_model={d_model}, got {num_heads!r}")
        num_heads = int(num_heads)
        self.d_model, self.num_heads, self.head_dim = d_model, num_heads, d_model // num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, state=None):
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"x must be (B, T, d_model={self.d_model}), got shape {tuple(x.shape)}")
        B, T, _ = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        P = 0 if state is None else state[0].shape[2]
        pos = torch.arange(P, P + T, device=x.device)
        q, k = rope(q, pos), rope(k, pos)
        if state is not None:
            k = torch.cat([state[0].to(k.dtype), k], dim=2)
            v = torch.cat([state[1].to(v.dtype), v], dim=2)
        drop = self.dropout if self.training else 0.0
        if P == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
        elif T == 1:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        else:  # query i (absolute position P+i) sees keys 0..P+i
            mask = torch.ones(T, P + T, dtype=torch.bool, device=x.device).tril(diagonal=P)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        y = y.transpose(1, 2).reshape(B, T, self.d_model)
        return self.out_proj(y), (k, v)

    def step(self, x_t: torch.Tensor, state=None):
        y, state = self.forward(x_t.unsqueeze(1), state)
        return y.squeeze(1), state
