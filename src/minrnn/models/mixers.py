"""The registry of sequence mixers: ``build_mixer(name, d_model, **kw)``.

Every mixer maps (B, T, d_model) -> (B, T, d_model) causally with ``forward(x, state) -> (y, state)`` and
``step(x_t (B, d_model), state) -> (y_t, state)``; feeding the returned state back continues the sequence.
"""

from __future__ import annotations

from torch import nn

from minrnn.layers import Aaren, MinGRU, MinLSTM
from minrnn.models.config import MIXERS
from minrnn.models.mamba import Mamba
from minrnn.models.rnn_baselines import GRUMixer, LSTMMixer
from minrnn.models.transformer import CausalSelfAttention

_COMMON = {"expansion", "num_heads", "backend", "dropout"}


def build_mixer(name: str, d_model: int, *, expansion: float = 1.0, num_heads: int = 4, backend: str = "auto",
                dropout: float = 0.0, **extra) -> nn.Module:
    """Build mixer ``name`` (one of :data:`MIXERS`) of width ``d_model``.

    ``expansion``: inner width factor (mingru/minlstm/gru/lstm), or Mamba's ``expand``: 1 here for every
    mixer, Mamba included (pass ``expansion=2`` for Mamba's own default).
    ``num_heads``: aaren/transformer heads. ``backend``: scan backend of mingru/minlstm/aaren.
    ``dropout``: attention dropout (transformer).
    ``extra`` goes to the mixer's constructor (e.g. Mamba's d_state).
    """
    if name not in MIXERS:
        raise ValueError(f"unknown mixer {name!r}; expected one of {MIXERS}")
    if not isinstance(d_model, int) or d_model <= 0:
        raise ValueError(f"d_model must be a positive int, got {d_model!r}")
    if name == "mingru":
        return MinGRU(d_model, d_model, expansion=expansion, backend=backend, **extra)
    if name == "minlstm":
        return MinLSTM(d_model, d_model, expansion=expansion, backend=backend, **extra)
    if name == "aaren":
        return Aaren(d_model, num_heads=num_heads, backend=backend, **extra)
    if name == "transformer":
        return CausalSelfAttention(d_model, num_heads=num_heads, dropout=dropout, **extra)
    if name == "mamba":
        return Mamba(d_model, expand=expansion, **extra)
    if name == "gru":
        return GRUMixer(d_model, expansion=expansion, **extra)
    return LSTMMixer(d_model, expansion=expansion, **extra)
