"""torch.nn.GRU / LSTM wrapped to the mixer interface: forward(x, state) -> (y, state) and step()."""

from __future__ import annotations

import torch
from torch import nn

from minrnn.ops.validation import is_real


class _TorchRNN(nn.Module):
    """A single-layer batch-first RNN with hidden = round(d_model * expansion) and, when that differs
    from d_model, a linear projection back. State: GRU h (B, hidden); LSTM (h, c) each (B, hidden)."""

    rnn_cls: type[nn.RNNBase]

    def __init__(self, d_model: int, expansion: float = 1.0):
        super().__init__()
        self.d_model = d_model
        if not (is_real(expansion) and expansion > 0):
            raise ValueError(f"expansion must be a positive number, got {expansion!r}")
        self.hidden_size = max(1, round(d_model * expansion))
        self.rnn = self.rnn_cls(d_model, self.hidden_size, batch_first=True)
        self.out_proj = (nn.Linear(self.hidden_size, d_model, bias=False)
                         if self.hidden_size != d_model else None)

    def _to_torch(self, state):
        raise NotImplementedError

    def _from_torch(self, state):
        raise NotImplementedError

    def forward(self, x: torch.Tensor, state=None):
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"x must be (B, T, d_model={self.d_model}), got shape {tuple(x.shape)}")
        y, st = self.rnn(x, None if state is None else self._to_torch(state))
        if self.out_proj is not None:
            y = self.out_proj(y)
        return y, self._from_torch(st)

    def step(self, x_t: torch.Tensor, state=None):
        y, state = self.forward(x_t.unsqueeze(1), state)
        return y.squeeze(1), state


class GRUMixer(_TorchRNN):
    """``torch.nn.GRU`` as a mixer; state h (B, hidden)."""

    rnn_cls = nn.GRU

    def _to_torch(self, state):
        return state.unsqueeze(0).contiguous()

    def _from_torch(self, state):
        return state.squeeze(0)


class LSTMMixer(_TorchRNN):
    """``torch.nn.LSTM`` as a mixer; state (h, c), each (B, hidden)."""

    rnn_cls = nn.LSTM

    def _to_torch(self, state):
        return tuple(s.unsqueeze(0).contiguous() for s in state)

    def _from_torch(self, state):
        return tuple(s.squeeze(0) for s in state)
