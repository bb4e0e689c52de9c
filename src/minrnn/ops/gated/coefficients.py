"""Gate activations of minGRU and minLSTM, turned into the coefficients of h_t = a_t h_{t-1} + b_t.

minGRU:   z = sigmoid(gate), h~ = g(candidate)
          a = 1 - z = sigmoid(-gate),  b = z * h~
minLSTM:  f = sigmoid(forget), i = sigmoid(input), f' = f / (f + i), i' = i / (f + i)
          a = f',  b = i' * g(candidate)

with the paper's g(x) = x + 0.5 for x >= 0 and sigmoid(x) for x < 0 (continuous at 0, always > 0).
Every quantity is formed in log space first where that is the stable way (logsigmoid, logaddexp;
not F.softplus, whose linear cut-off at 20 costs ~2e-9 in float64), so gate
logits of +-60 and beyond give exact zeros and ones rather than NaN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def g(x: torch.Tensor) -> torch.Tensor:
    """The paper's positive activation: x + 0.5 for x >= 0, sigmoid(x) for x < 0."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: torch.Tensor) -> torch.Tensor:
    """log g(x), stable: log(x + 0.5) for x >= 0, logsigmoid(x) for x < 0."""
    return torch.where(x >= 0, torch.log(x.clamp_min(0) + 0.5), F.logsigmoid(x))  # clamp: slope 1 at 0


def min_gru_log_coefficients(gate: torch.Tensor, candidate: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log a, log b) of minGRU, shapes (B, T, D)."""
    log_a = F.logsigmoid(-gate)          # log(1 - sigmoid(gate))
    log_z = F.logsigmoid(gate)           # log(sigmoid(gate))
    return log_a, log_z + log_g(candidate)


def min_gru_coefficients(gate: torch.Tensor, candidate: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, b) of minGRU, shapes (B, T, D). The gates are exp(logsigmoid(.)), not sigmoid: same values, but
    autograd then differentiates them as sigmoid(x) sigmoid(-x) instead of y (1 - y), which loses the factor
    1 - y once sigmoid(x) rounds to 1 (a gate logit of 30 gave a gradient 43% off in float32)."""
    return torch.exp(F.logsigmoid(-gate)), torch.exp(F.logsigmoid(gate)) * g(candidate)


def min_lstm_log_coefficients(forget: torch.Tensor, input: torch.Tensor, candidate: torch.Tensor
                              ) -> tuple[torch.Tensor, torch.Tensor]:
    """(log a, log b) of minLSTM with the normalised gates f' and i', shapes (B, T, D)."""
    log_f = F.logsigmoid(forget)
    log_i = F.logsigmoid(input)
    log_norm = torch.logaddexp(log_f, log_i)
    return log_f - log_norm, log_i - log_norm + log_g(candidate)


def min_lstm_coefficients(forget: torch.Tensor, input: torch.Tensor, candidate: torch.Tensor
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, b) of minLSTM, shapes (B, T, D)."""
    log_a, log_b = min_lstm_log_coefficients(forget, input, candidate)
    return torch.exp(log_a), torch.exp(log_b)
