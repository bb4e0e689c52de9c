"""Configuration of a :class:`minrnn.models.Backbone` as a plain dataclass with a JSON round-trip."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from minrnn.ops.validation import is_int, is_number  # noqa: F401 - re-exported for the config modules

MIXERS = ("mingru", "minlstm", "aaren", "gru", "lstm", "transformer", "mamba")
NORMS = ("rmsnorm", "layernorm")


def require(ok: bool, name: str, expected: str, value) -> None:
    """Raise ``ValueError("{name} must be {expected}, got {value!r}")`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{name} must be {expected}, got {value!r}")


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
        m = "model."
        require(isinstance(self.mixer, str) and self.mixer in MIXERS, m + "mixer", f"one of {MIXERS}", self.mixer)
        require(isinstance(self.norm, str) and self.norm in NORMS, m + "norm", f"one of {NORMS}", self.norm)
        for name in ("d_model", "n_layers", "num_heads"):
            v = getattr(self, name)
            require(is_int(v) and v > 0, m + name, "a positive int", v)
        require(is_int(self.conv_kernel) and self.conv_kernel >= 0, m + "conv_kernel", "an int >= 0",
                self.conv_kernel)
        require(is_number(self.expansion) and self.expansion > 0, m + "expansion", "a positive number",
                self.expansion)
        require(isinstance(self.mlp, bool), m + "mlp", "a bool (true or false)", self.mlp)
        require(is_number(self.dropout) and 0 <= self.dropout < 1, m + "dropout", "a number in [0, 1)",
                self.dropout)
        require(isinstance(self.backend, str) and self.backend != "", m + "backend",
                "a backend name ('auto', 'chunked', 'log_space', ...)", self.backend)
        if self.mixer in ("aaren", "transformer") and self.d_model % self.num_heads:
            raise ValueError(f"num_heads={self.num_heads} must divide d_model={self.d_model} "
                             f"for {self.mixer}")
        if self.mixer == "mamba" and int(self.expansion * self.d_model) < 1:
            raise ValueError(f"model.expansion={self.expansion!r} with d_model={self.d_model} gives mamba an inner "
                             f"width of int(expansion * d_model) = {int(self.expansion * self.d_model)}; "
                             f"it must be >= 1 (expansion >= {1 / self.d_model:.3g})")

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
