"""One residual block: [x += conv(x)] -> x += mixer(norm(x)) -> [x += mlp(norm(x))] (pre-norm).

This follows the minGRU/minLSTM reference LM code (a causal depthwise conv, then the mixer, then a
feed-forward, each residual). The block state is ``(conv_cache or None, mixer_state)``.
"""

from __future__ import annotations

import torch
from torch import nn

from minrnn.models.config import BackboneConfig
from minrnn.models.conv import CausalDepthwiseConv
from minrnn.models.mixers import build_mixer


def make_norm(kind: str, d: int) -> nn.Module:
    if kind == "rmsnorm":
        return nn.RMSNorm(d, eps=1e-5)
    if kind == "layernorm":
        return nn.LayerNorm(d)
    raise ValueError(f"norm must be 'rmsnorm' or 'layernorm', got {kind!r}")


class MLP(nn.Module):
    """d -> 4d -> GELU -> d."""

    def __init__(self, d: int, mult: int = 4):
        super().__init__()
        self.fc = nn.Linear(d, mult * d)
        self.proj = nn.Linear(mult * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(nn.functional.gelu(self.fc(x)))


class Block(nn.Module):
    """forward(x (B,T,d), state) -> (y (B,T,d), state); step(x_t (B,d), state) -> (y_t (B,d), state)."""

    def __init__(self, cfg: BackboneConfig):
        super().__init__()
        d = cfg.d_model
        self.conv = CausalDepthwiseConv(d, cfg.conv_kernel) if cfg.conv_kernel > 0 else None
        self.norm1 = make_norm(cfg.norm, d)
        self.mixer = build_mixer(cfg.mixer, d, expansion=cfg.expansion, num_heads=cfg.num_heads,
                                 backend=cfg.backend, dropout=cfg.dropout)
        self.norm2 = make_norm(cfg.norm, d) if cfg.mlp else None
        self.mlp = MLP(d) if cfg.mlp else None
        self.drop = nn.Dropout(cfg.dropout)

    def _run(self, x: torch.Tensor, state, single: bool):
        conv_cache, mix_state = (None, None) if state is None else state
        if self.conv is not None:
            c, conv_cache = (self.conv.step if single else self.conv)(x, conv_cache)
            x = x + c
        m, mix_state = (self.mixer.step if single else self.mixer)(self.norm1(x), mix_state)
        x = x + self.drop(m)
        if self.mlp is not None:
            x = x + self.drop(self.mlp(self.norm2(x)))
        return x, (conv_cache, mix_state)

    def forward(self, x: torch.Tensor, state=None):
        return self._run(x, state, single=False)

    def step(self, x_t: torch.Tensor, state=None):
        return self._run(x_t, state, single=True)
