"""Decision model (Decision Transformer, Chen et al. 2021) with a swappable sequence mixer.

Tokens per timestep t: (R_t, s_t, a_t) embedded by Linear(1,d), Linear(obs,d), Linear(act,d), plus a learned
timestep embedding, interleaved into a length-3K sequence, LayerNorm, then ``Backbone(mixer)``; the action
a_t is predicted from the hidden state at the s_t token: ``tanh(Linear(d, act))``. With mixer "transformer"
this is DT; "mingru"/"minlstm" are the paper's Decision minGRU/minLSTM; "mamba" Decision Mamba; "aaren"
uses Aaren.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["DecisionConfig", "DecisionModel"]


@dataclass
class DecisionConfig:
    obs_dim: int
    act_dim: int
    mixer: str = "mingru"
    d_model: int = 128
    n_layers: int = 3
    expansion: float = 1.0
    num_heads: int = 1
    conv_kernel: int = 0
    mlp: bool = True
    dropout: float = 0.1
    max_ep_len: int = 1000


class DecisionModel(nn.Module):
    """forward(rtg (B,K,1), states (B,K,obs), actions (B,K,act), timesteps (B,K)) -> actions (B,K,act)."""

    def __init__(self, cfg: DecisionConfig):
        super().__init__()
        from minrnn.models import Backbone, BackboneConfig
        if cfg.obs_dim < 1 or cfg.act_dim < 1:
            raise ValueError(f"obs_dim and act_dim must be >= 1, got {cfg.obs_dim}, {cfg.act_dim}")
        d = cfg.d_model
        self.cfg = cfg
        self.embed_t = nn.Embedding(cfg.max_ep_len, d)
        self.embed_r = nn.Linear(1, d)
        self.embed_s = nn.Linear(cfg.obs_dim, d)
        self.embed_a = nn.Linear(cfg.act_dim, d)
        self.ln = nn.LayerNorm(d)
        self.backbone = Backbone(BackboneConfig(
            mixer=cfg.mixer, d_model=d, n_layers=cfg.n_layers, expansion=cfg.expansion,
            num_heads=cfg.num_heads,
            conv_kernel=cfg.conv_kernel, mlp=cfg.mlp, dropout=cfg.dropout))
        self.head = nn.Sequential(nn.Linear(d, cfg.act_dim), nn.Tanh())

    def forward(self, rtg, states, actions, timesteps) -> torch.Tensor:
        B, K = states.shape[:2]
        te = self.embed_t(timesteps)
        tok = torch.stack([self.embed_r(rtg) + te, self.embed_s(states) + te, self.embed_a(actions) + te], 2)
        h, _ = self.backbone(self.ln(tok.reshape(B, 3 * K, -1)))
        return self.head(h.reshape(B, K, 3, -1)[:, :, 1])
