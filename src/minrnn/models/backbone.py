"""Backbone: ``n_layers`` residual blocks and a final norm, with a state that continues a sequence."""

from __future__ import annotations

import torch
from torch import nn

from minrnn.models.block import Block, make_norm
from minrnn.models.config import BackboneConfig


class Backbone(nn.Module):
    """A causal sequence model of width ``cfg.d_model``.

    forward(x (B,T,d_model), state=None) -> (y (B,T,d_model), state);
    step(x_t (B,d_model), state=None) -> (y_t (B,d_model), state).
    ``state`` is a list with one ``(conv_cache, mixer_state)`` per block. Running ``forward`` on a prefix and
    then ``step`` per token gives the outputs of one ``forward`` over the whole sequence.

    Order information: the recurrent mixers (mingru, minlstm, gru, lstm, mamba) are order-aware by
    construction and the transformer uses rotary position embeddings. An Aaren layer alone averages its
    prefix with content-based weights (its output does not depend on the order within the prefix); set
    ``conv_kernel > 0`` to give Aaren stacks local order information.
    """

    def __init__(self, cfg: BackboneConfig):
        super().__init__()
        if not isinstance(cfg, BackboneConfig):
            raise TypeError(f"cfg must be a BackboneConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = make_norm(cfg.norm, cfg.d_model)

    def _check_state(self, state):
        if state is not None and (not isinstance(state, (list, tuple)) or len(state) != len(self.blocks)):
            raise ValueError(f"state must be a list of {len(self.blocks)} block states (or None)")
        return [None] * len(self.blocks) if state is None else state

    def forward(self, x: torch.Tensor, state=None):
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[-1] != self.cfg.d_model:
            raise ValueError(f"x must be a (B, T, d_model={self.cfg.d_model}) tensor, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        new = []
        for blk, s in zip(self.blocks, self._check_state(state)):
            x, s = blk(x, s)
            new.append(s)
        return self.norm(x), new

    def step(self, x_t: torch.Tensor, state=None):
        if not isinstance(x_t, torch.Tensor) or x_t.dim() != 2 or x_t.shape[-1] != self.cfg.d_model:
            raise ValueError(f"x_t must be a (B, d_model={self.cfg.d_model}) tensor, got "
                             f"{tuple(x_t.shape) if isinstance(x_t, torch.Tensor) else type(x_t).__name__}")
        new = []
        for blk, s in zip(self.blocks, self._check_state(state)):
            x_t, s = blk.step(x_t, s)
            new.append(s)
        return self.norm(x_t), new
