"""The minGRU layer (Feng et al. 2024, "Were RNNs All We Needed?")."""

from __future__ import annotations

from minrnn.functional import min_gru
from minrnn.layers.min_rnn_base import MinRNNBase
from minrnn.ops.gated import min_gru_coefficients


class MinGRU(MinRNNBase):
    """minGRU: z_t = sigmoid(W_z x_t), h~_t = g(W_h x_t), h_t = (1 - z_t) h_{t-1} + z_t h~_t.

    The gates depend on x_t only, so ``forward`` runs a parallel scan over the whole sequence while ``step``
    advances one token in O(1) memory; both give the same states.

    Args:
        input_size: features of x.
        hidden_size: features of the output y.
        bias: biases in the input projection.
        expansion: the state has ``round(hidden_size * expansion)`` units; when that differs from
            ``hidden_size`` an output projection (no bias) maps back.
        learnable_init: learn h0 instead of starting from zeros.
        backend: scan backend passed to :func:`minrnn.functional.min_gru`.

    With expansion 1 and bias=False the layer has exactly 2 * input_size * hidden_size parameters.

    Shapes: forward(x (B, T, input_size), state (B, inner)) -> (y (B, T, hidden_size), state (B, inner));
    step(x_t (B, input_size), state) -> (y_t (B, hidden_size), state).
    """

    n_parts = 2

    def _scan(self, parts, h0):
        gate, candidate = parts
        return min_gru(gate, candidate, h0, backend=self.backend)

    def _coefficients(self, gate, candidate):
        return min_gru_coefficients(gate, candidate)
