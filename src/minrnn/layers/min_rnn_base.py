"""Shared machinery of the minGRU and minLSTM layers: projections, expansion, initial state, step()."""

from __future__ import annotations

import torch
from torch import nn

from minrnn.ops.layout import chunk_last_dim
from minrnn.ops.registry import load_backends
from minrnn.ops.validation import check_tensor, is_integral, is_real


class MinRNNBase(nn.Module):
    """Input projection to ``n_parts`` gate/candidate blocks of width ``inner = round(hidden_size * expansion)``,
    a recurrence over them, and an output projection back to ``hidden_size`` when ``inner != hidden_size``.

    Subclasses define ``n_parts``, ``_scan(parts, h0) -> (h, h_last)`` and ``_coefficients(*parts) -> (a, b)``.
    """

    n_parts: int

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, expansion: float = 1.0,
                 learnable_init: bool = False, backend: str = "auto", device=None, dtype=None):
        super().__init__()
        for name, val in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not is_integral(val) or val <= 0:
                raise ValueError(f"{name} must be a positive int, got {val!r}")
        if not is_real(expansion) or not expansion > 0:
            raise ValueError(f"expansion must be a positive number, got {expansion!r}")
        input_size, hidden_size, expansion = int(input_size), int(hidden_size), float(expansion)
        fk = {"device": device, "dtype": dtype}
        self.input_size, self.hidden_size, self.expansion = input_size, hidden_size, expansion
        self.inner_size = max(1, round(hidden_size * expansion))
        self.backend = backend
        self.in_proj = nn.Linear(input_size, self.n_parts * self.inner_size, bias=bias, **fk)
        self.out_proj = (nn.Linear(self.inner_size, hidden_size, bias=False, **fk)
                         if self.inner_size != hidden_size else None)
        self.h0 = nn.Parameter(torch.zeros(self.inner_size, **fk)) if learnable_init else None
        load_backends()  # here, not in the first forward, which torch.compile may be tracing

    def reset_parameters(self) -> None:
        """Initialise the whole layer as a new one: the projections as ``nn.Linear`` does, h0 to zeros (e.g.
        after building on the meta device and ``to_empty``; call it on this layer, after its children).
        Construction does not call it (the projections initialise themselves), so a seed gives the same
        weights as it always did."""
        self.in_proj.reset_parameters()
        if self.out_proj is not None:
            self.out_proj.reset_parameters()
        if self.h0 is not None:
            nn.init.zeros_(self.h0)

    @property
    def state_size(self) -> int:
        """Width of the recurrent state (``inner_size``)."""
        return self.inner_size

    def initial_state(self, batch_size: int, device=None, dtype=torch.float32) -> torch.Tensor:
        """(B, inner_size) initial state: the learned one, or zeros."""
        if self.h0 is not None:
            return self.h0.to(dtype).expand(batch_size, -1)
        return torch.zeros(batch_size, self.inner_size, device=device, dtype=dtype)

    def _check_input(self, x: torch.Tensor, ndim: int, desc: str) -> None:
        check_tensor("x", x, ndim, desc)
        if x.shape[-1] != self.input_size:
            raise ValueError(f"x must have last dimension input_size={self.input_size}, got shape {tuple(x.shape)}")
        if ndim == 3 and x.shape[1] == 0:
            raise ValueError(f"x must have at least one time step (T >= 1), got shape {tuple(x.shape)}")

    def _state(self, state, x: torch.Tensor) -> torch.Tensor | None:
        if state is not None:
            check_tensor("state", state, 2, "(B, inner_size)")
            if state.shape != (x.shape[0], self.inner_size):
                raise ValueError(f"state must have shape (B, inner_size) = {(x.shape[0], self.inner_size)}, "
                                 f"got {tuple(state.shape)}")
            return state
        if self.h0 is not None:
            return self.initial_state(x.shape[0], dtype=self.h0.dtype)
        return None

    def _project_out(self, h: torch.Tensor) -> torch.Tensor:
        return h if self.out_proj is None else self.out_proj(h)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, input_size); state: (B, inner_size) or None.

        Returns y: (B, T, hidden_size) and the state after the last step (B, inner_size).
        """
        self._check_input(x, 3, "(B, T, input_size)")
        parts = chunk_last_dim(self.in_proj(x), self.n_parts)
        h, h_last = self._scan(parts, self._state(state, x))
        return self._project_out(h), h_last

    def step(self, x_t: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One token in O(1): x_t (B, input_size) -> y_t (B, hidden_size), new state (B, inner_size)."""
        self._check_input(x_t, 2, "(B, input_size)")
        parts = self.in_proj(x_t).chunk(self.n_parts, dim=-1)
        acc = torch.float64 if x_t.dtype == torch.float64 else torch.float32
        prev = self._state(state, x_t)
        if prev is None:
            prev = torch.zeros(x_t.shape[0], self.inner_size, device=x_t.device, dtype=acc)
        a, b = self._coefficients(*(p.to(acc) for p in parts))
        h = a * prev.to(acc) + b
        # the projection's dtype, as forward's scan returns it (they differ from x_t's under autocast)
        return self._project_out(h.to(parts[0].dtype)), h

    def extra_repr(self) -> str:
        return (f"input_size={self.input_size}, hidden_size={self.hidden_size}, expansion={self.expansion}, "
                f"backend={self.backend!r}")
