"""Plain sequential reference for the first-order linear recurrence.

    h_t = a_t * h_{t-1} + b_t,    h_{-1} = h0

Readable, differentiable through autograd, O(T) Python steps: the ground truth every other backend
is tested against.
"""

from __future__ import annotations

import torch


def linear_scan_reference(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequential scan.

    Args:
        a, b: (B, T, D) coefficients and inputs.
        h0: (B, D) initial state.

    Returns:
        h: (B, T, D) all states; h_last: (B, D) the state after the last step.

    >>> a = torch.full((1, 3, 1), 0.5); b = torch.ones(1, 3, 1)
    >>> linear_scan_reference(a, b, torch.zeros(1, 1))[0].flatten().tolist()
    [1.0, 1.5, 1.75]
    """
    h = h0
    outs = []
    for a_t, b_t in zip(a.unbind(1), b.unbind(1)):  # unbind: one backward node, not T full-size index grads
        h = a_t * h + b_t
        outs.append(h)
    return torch.stack(outs, dim=1), h
