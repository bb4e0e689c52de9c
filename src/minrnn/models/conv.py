"""Causal depthwise 1-D convolution with a rolling cache, so step-by-step equals the full sequence."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def causal_depthwise_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                          cache: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """y_t = sum_{j<K} w[:, j] * x_{t-K+1+j} + b; the K-1 inputs before x come from ``cache`` (zeros if None).

    Args:
        x: (B, T, C); weight: (C, 1, K) as in ``nn.Conv1d(C, C, K, groups=C)``; bias: (C,) or None.
        cache: (B, K-1, C) the previous K-1 inputs, oldest first.

    Returns:
        y: (B, T, C) and the new cache (B, K-1, C) (the last K-1 inputs seen).
    """
    B, T, C = x.shape
    K = weight.shape[-1]
    if cache is None:
        cache = x.new_zeros(B, K - 1, C)
    elif cache.shape != (B, K - 1, C):
        raise ValueError(f"conv cache must have shape (B, K-1, C) = {(B, K - 1, C)}, "
                         f"got {tuple(cache.shape)}")
    if T == 0:  # nothing to convolve; the state does not move
        return x.new_empty(B, 0, C), cache
    xx = torch.cat([cache.to(x.dtype), x], dim=1)  # (B, T+K-1, C)
    if T == 1:  # the step path: one dot product per channel
        y = torch.einsum("bkc,ck->bc", xx, weight[:, 0, :]).unsqueeze(1)
        if bias is not None:
            y = y + bias
    else:
        y = F.conv1d(xx.transpose(1, 2), weight, bias, groups=C).transpose(1, 2)
    cache = xx[:, xx.shape[1] - (K - 1):]
    # after a prefill, a view would keep the whole (B, T+K-1, C) input alive inside the O(1) state
    return y, (cache.clone() if T > 1 else cache)


class CausalDepthwiseConv(nn.Module):
    """Depthwise causal conv over time. forward(x (B,T,C), cache) -> (y (B,T,C), cache (B,K-1,C));
    step(x_t (B,C), cache) -> (y_t (B,C), cache)."""

    def __init__(self, channels: int, kernel_size: int, bias: bool = True):
        super().__init__()
        if kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {kernel_size}")
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(channels, channels, kernel_size, groups=channels, bias=bias)

    def forward(self, x: torch.Tensor, cache: torch.Tensor | None = None):
        return causal_depthwise_conv(x, self.conv.weight, self.conv.bias, cache)

    def step(self, x_t: torch.Tensor, cache: torch.Tensor | None = None):
        y, cache = causal_depthwise_conv(x_t.unsqueeze(1), self.conv.weight, self.conv.bias, cache)
        return y.squeeze(1), cache
