"""The shared causal encoder stack used by the Aaren-paper tasks: Transformer vs Aaren, same arguments.

The paper's protocol is "replace the Transformer": a stack of ``nn.TransformerEncoderLayer`` run with a causal
mask, or the same stack of :class:`minrnn.AarenEncoderLayer` (Aaren is causal by construction), with identical
d_model / nhead / dim_feedforward / dropout / norm placement. Both get the same sinusoidal position encoding
added to the input, so the only difference is the token mixer:

    transformer: y_t = softmax_{i<=t}(q_t . k_i / sqrt(hd)) v_i      (query depends on x_t)
    aaren:       y_t = softmax_{i<=t}(q . k_i / sqrt(hd)) v_i         (one learned query, O(1) state per step)

Shapes: ``CausalEncoder.forward(x (B, T, d_model)) -> (B, T, d_model)``; output t depends on x_0..x_t only.
Sequences must be right-padded: causal outputs of real tokens never see later padding.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from minrnn.layers import AarenEncoderLayer

KINDS = ("aaren", "transformer")
ARCHS = ("layers", "backbone")


@dataclass
class EncoderConfig:
    """Hyper-parameters shared by both encoder kinds."""

    kind: str = "aaren"
    d_model: int = 64
    nhead: int = 4
    dim_feedforward: int = 128
    layers: int = 2
    dropout: float = 0.0
    norm_first: bool = True
    pos_encoding: bool = True
    arch: str = "layers"   # "layers": torch/minrnn encoder layers; "backbone": models.Backbone(mixer=kind)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        for name in ("d_model", "nhead", "dim_feedforward", "layers"):
            v = getattr(self, name)
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if self.d_model % self.nhead:
            raise ValueError(f"nhead={self.nhead} must divide d_model={self.d_model}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> EncoderConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown EncoderConfig keys {sorted(unknown)}; expected a subset of "
                             f"{sorted(known)}")
        return cls(**d)


def sinusoidal_positions(length: int, d_model: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """(length, d_model) table: PE[t, 2i] = sin(t / 10000^(2i/d)), PE[t, 2i+1] = cos(same)."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d_model, 2, device=device,
                                 dtype=torch.float32) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(length, d_model, device=device)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : d_model // 2]
    return pe.to(dtype)


class CausalEncoder(nn.Module):
    """A stack of ``layers`` causal encoder layers of one ``kind`` (batch-first) plus a final LayerNorm.

    With ``arch="backbone"`` the stack is instead ``minrnn.models.Backbone(mixer=kind)`` (pre-norm residual
    blocks with a 4x GELU MLP; ``dim_feedforward`` is then unused), the library's generic model body.
    """

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        if not isinstance(cfg, EncoderConfig):
            raise TypeError(f"cfg must be an EncoderConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        if cfg.arch == "backbone":
            from minrnn.models import Backbone, BackboneConfig

            bcfg = BackboneConfig(mixer=cfg.kind, d_model=cfg.d_model, n_layers=cfg.layers,
                                  num_heads=cfg.nhead, dropout=cfg.dropout, norm="layernorm")
            self.backbone = Backbone(bcfg)
            return
        layer_cls = AarenEncoderLayer if cfg.kind == "aaren" else nn.TransformerEncoderLayer
        self.layers = nn.ModuleList(
            layer_cls(cfg.d_model, cfg.nhead, dim_feedforward=cfg.dim_feedforward, dropout=cfg.dropout,
                      batch_first=True, norm_first=cfg.norm_first)
            for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.d_model) if cfg.norm_first else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, d_model) -> (B, T, d_model), causal."""
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[-1] != self.cfg.d_model:
            raise ValueError(f"x must be a (B, T, {self.cfg.d_model}) tensor, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        T = x.shape[1]
        if self.cfg.pos_encoding:
            x = x + sinusoidal_positions(T, self.cfg.d_model, x.device, x.dtype)
        if self.cfg.arch == "backbone":
            return self.backbone(x)[0]
        mask = None
        if self.cfg.kind == "transformer":
            mask = nn.Transformer.generate_square_subsequent_mask(T, device=x.device, dtype=x.dtype)
        for layer in self.layers:
            x = layer(x, src_mask=mask, is_causal=mask is not None) if mask is not None else layer(x)
        return self.norm(x)


def build_encoder(kind: str = "aaren", **kw) -> CausalEncoder:
    """``build_encoder("transformer", d_model=32, nhead=2, dim_feedforward=64, layers=1)``."""
    return CausalEncoder(EncoderConfig(kind=kind, **kw))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
