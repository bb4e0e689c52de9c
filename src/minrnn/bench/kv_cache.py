"""Token-by-token inference for a stack of ``nn.TransformerEncoderLayer`` with a key/value cache.

For each layer, step t computes q_t, k_t, v_t = in_proj(x_t), appends (k_t, v_t) to the cache and attends
over all cached keys:  o_t = softmax(q_t K_{<=t}^T / sqrt(hd)) V_{<=t}.  This is exactly the causal-mask
forward of the layer, one token at a time, with O(t) memory and O(t) work at step t (the Transformer's
streaming cost that Aaren's O(1) state avoids). The cache doubles its capacity when full (amortised O(1)
appends); ``cache_bytes`` counts the filled part, ``allocated_bytes`` the buffers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class KVCache:
    """Per-layer key/value buffers (B, H, capacity, hd)."""

    def __init__(self, n_layers: int):
        self.k = [None] * n_layers
        self.v = [None] * n_layers
        self.length = 0

    def append(self, i: int, k: torch.Tensor, v: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Write k, v (B, H, hd) at position n of layer i; returns views (B, H, n+1, hd)."""
        if self.k[i] is None or self.k[i].shape[2] <= n:
            cap = max(16, 2 * (n + 1))
            nk = k.new_empty(k.shape[0], k.shape[1], cap, k.shape[2])
            nv = torch.empty_like(nk)
            if self.k[i] is not None:
                nk[:, :, :n], nv[:, :, :n] = self.k[i][:, :, :n], self.v[i][:, :, :n]
            self.k[i], self.v[i] = nk, nv
        self.k[i][:, :, n], self.v[i][:, :, n] = k, v
        return self.k[i][:, :, : n + 1], self.v[i][:, :, : n + 1]

    def cache_bytes(self) -> int:
        return sum(2 * k[:, :, : self.length].numel() * k.element_size() for k in self.k if k is not None)

    def allocated_bytes(self) -> int:
        return sum(k.numel() * k.element_size() + v.numel() * v.element_size()
                   for k, v in zip(self.k, self.v) if k is not None)


def _attend(mha: nn.MultiheadAttention, x_t: torch.Tensor, cache: KVCache, i: int, n: int) -> torch.Tensor:
    B, d = x_t.shape
    H = mha.num_heads
    hd = d // H
    q, k, v = F.linear(x_t, mha.in_proj_weight, mha.in_proj_bias).view(B, 3, H, hd).unbind(1)
    K, V = cache.append(i, k, v, n)
    att = torch.softmax(torch.einsum("bhd,bhtd->bht", q, K) / math.sqrt(hd), dim=-1)
    return mha.out_proj(torch.einsum("bht,bhtd->bhd", att, V).reshape(B, d))


def transformer_step(layers, x_t: torch.Tensor, cache: KVCache | None = None) -> tuple[torch.Tensor, KVCache]:
    """One token x_t (B, d) through ``layers`` (nn.TransformerEncoderLayer, eval) -> (y_t (B, d), cache)."""
    if cache is None:
        cache = KVCache(len(layers))
    n = cache.length
    for i, layer in enumerate(layers):
        if layer.norm_first:
            x_t = x_t + _attend(layer.self_attn, layer.norm1(x_t), cache, i, n)
            x_t = x_t + layer.linear2(layer.activation(layer.linear1(layer.norm2(x_t))))
        else:
            x_t = layer.norm1(x_t + _attend(layer.self_attn, x_t, cache, i, n))
            x_t = layer.norm2(x_t + layer.linear2(layer.activation(layer.linear1(x_t))))
    cache.length = n + 1
    return x_t, cache
