"""Configuration of a :class:`minrnn.models.Backbone` as a plain dataclass with a JSON round-trip."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

MIXERS = ("mingru", "minlstm", "aaren", "gru", "lstm", "transformer", "mamba")
NORMS = ("rmsnorm", "layernorm")


def dataclass_from_dict(cls, d: dict, what: str):
    """Build dataclass ``cls`` from ``d``; an unknown key raises ValueError naming it and the known ones."""
    if not isinstance(d, dict):
        raise TypeError(f"{what} must be a dict, got {type(d).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"unknown {what} key(s) {unknown}; known keys: {sorted(known)}")
    return cls(**d)


@dataclass
class BackboneConfig:
    """A stack of ``n_layers`` residual blocks of width ``d_model`` around one sequence mixer.

    Attributes:
        mixer: one of :data:`MIXERS`.
        d_model: block width.
        n_layers: number of blocks.
        expansion: state/inner expansion of the mixer (mingru, minlstm: inner = d_model * expansion;
            mamba: its ``expand``; gru/lstm: hidden = d_model * expansion, projected back).
        num_heads: heads of aaren and transformer.
        conv_kernel: 0 for none, else the kernel of a causal depthwise conv before each mixer (paper code: 4).
        mlp: an MLP (d -> 4d -> d, GELU) after each mixer.
        norm: "rmsnorm" or "layernorm" (pre-norm).
        dropout: dropout on each residual branch.
        backend: scan backend of mingru/minlstm/aaren ("auto", "chunked", "log_space", ...).
    """

    mixer: str = "mingru"
    d_model: int = 128
    n_layers: int = 2
    expansion: float = 1.0
    num_heads: int = 4
    conv_kernel: int = 0
    mlp: bool = True
    norm: str = "rmsnorm"
    dropout: float = 0.0
    backend: str = "auto"

    def __post_init__(self):
        if self.mixer not in MIXERS:
            raise ValueError(f"mixer must be one of {MIXERS}, got {self.mixer!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        for name in ("d_model", "n_layers", "num_heads"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not isinstance(self.conv_kernel, int) or self.conv_kernel < 0:
            raise ValueError(f"conv_kernel must be an int >= 0, got {self.conv_kernel!r}")
        if not (isinstance(self.expansion, (int, float)) and self.expansion > 0):
            raise ValueError(f"expansion must be > 0, got {self.expansion!r}")
        if not (0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.mixer in ("aaren", "transformer") and self.d_model % self.num_heads:
            raise ValueError(f"num_heads={self.num_heads} must divide d_model={self.d_model} "
                             f"for {self.mixer}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> BackboneConfig:
        return dataclass_from_dict(cls, d, "BackboneConfig")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> BackboneConfig:
        return cls.from_dict(json.loads(s))
