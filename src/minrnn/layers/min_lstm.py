"""The minLSTM layer (Feng et al. 2024, "Were RNNs All We Needed?")."""

from __future__ import annotations

import torch

from minrnn.functional import min_lstm
from minrnn.layers.min_rnn_base import MinRNNBase
from minrnn.ops.gated import min_lstm_coefficients
from minrnn.ops.validation import is_real


class MinLSTM(MinRNNBase):
    """minLSTM: f_t = sigmoid(W_f x_t), i_t = sigmoid(W_i x_t), h~_t = g(W_h x_t),
    f'_t = f_t / (f_t + i_t), i'_t = i_t / (f_t + i_t), h_t = f'_t h_{t-1} + i'_t h~_t.

    Args as :class:`minrnn.MinGRU`, plus ``forget_bias``: added to the forget-gate bias at initialisation
    (positive values favour remembering; needs ``bias=True``).

    With expansion 1 and bias=False the layer has exactly 3 * input_size * hidden_size parameters.
    """

    n_parts = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, expansion: float = 1.0,
                 learnable_init: bool = False, forget_bias: float = 0.0, backend: str = "auto",
                 device=None, dtype=None):
        if not is_real(forget_bias):
            raise ValueError(f"forget_bias must be a finite number, got {forget_bias!r}")
        forget_bias = float(forget_bias)
        if forget_bias and not bias:
            raise ValueError("forget_bias needs bias=True")
        self.forget_bias = forget_bias
        super().__init__(input_size, hidden_size, bias=bias, expansion=expansion, learnable_init=learnable_init,
                         backend=backend, device=device, dtype=dtype)
        self._add_forget_bias()

    def _add_forget_bias(self) -> None:
        if self.forget_bias:
            with torch.no_grad():
                self.in_proj.bias[: self.inner_size] += self.forget_bias

    def reset_parameters(self) -> None:
        """As :meth:`MinRNNBase.reset_parameters`, then ``forget_bias`` added to the forget-gate bias."""
        super().reset_parameters()
        self._add_forget_bias()

    def _scan(self, parts, h0):
        forget, input, candidate = parts
        return min_lstm(forget, input, candidate, h0, backend=self.backend)

    def _coefficients(self, forget, input, candidate):
        return min_lstm_coefficients(forget, input, candidate)
