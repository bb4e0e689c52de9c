"""The Aaren layer (Feng et al. 2024, "Attention as an RNN"): causal softmax attention of a learned query."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from minrnn.functional import aaren
from minrnn.ops.aaren import aaren_step
from minrnn.ops.registry import load_backends
from minrnn.ops.validation import check_aaren_state, check_tensor


class Aaren(nn.Module):
    """Many-to-many attention with one learned query per head.

    The query is a parameter (a learned token projected by the query weights, as in the paper's code), never
    a function of the input, so the output at position t is attention over tokens 0..t:

        q = W_q q_token + b_q,  k_t = W_k x_t + b_k,  v_t = W_v x_t + b_v       (split into heads)
        s_t = <q, k_t> / sqrt(head_dim),   o_t = softmax_{i<=t}(s_i) . v_i,   y_t = W_o o_t + b_o

    ``forward`` computes every o_t with a parallel scan; ``step`` updates the (m, u, w) state per token in
    O(1) memory. The projection weights mirror ``nn.MultiheadAttention`` (``in_proj_weight`` (3d, d),
    ``in_proj_bias``, ``out_proj``), so the layer has that module's parameters plus the d-sized query token.

    Shapes: forward(x (B, T, d_model), state) -> (y (B, T, d_model), state);
    step(x_t (B, d_model), state) -> (y_t (B, d_model), state); state = (m (B, H), u (B, H), w (B, H, hd)).
    """

    def __init__(self, d_model: int, num_heads: int = 1, bias: bool = True, backend: str = "auto",
                 device=None, dtype=None):
        super().__init__()
        if not isinstance(d_model, int) or d_model <= 0:
            raise ValueError(f"d_model must be a positive int, got {d_model!r}")
        if not isinstance(num_heads, int) or num_heads <= 0 or d_model % num_heads:
            raise ValueError(f"num_heads must be a positive int dividing d_model={d_model}, got {num_heads!r}")
        fk = {"device": device, "dtype": dtype}
        self.d_model, self.num_heads, self.head_dim = d_model, num_heads, d_model // num_heads
        self.backend = backend
        self.query = nn.Parameter(torch.empty(d_model, **fk))
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model, **fk))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model, **fk)) if bias else None
        self.out_proj = nn.Linear(d_model, d_model, bias=bias, **fk)
        self.reset_parameters()
        load_backends()  # here, not in the first forward, which torch.compile may be tracing

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.normal_(self.query, std=1.0)
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
        if self.out_proj.bias is not None:
            nn.init.zeros_(self.out_proj.bias)

    def _scores_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (..., d) -> scores (..., H), values (..., H, hd)."""
        d, H, hd = self.d_model, self.num_heads, self.head_dim
        w_q, w_kv = self.in_proj_weight[:d], self.in_proj_weight[d:]
        b_q, b_kv = (None, None) if self.in_proj_bias is None else (self.in_proj_bias[:d], self.in_proj_bias[d:])
        q = F.linear(self.query, w_q, b_q).view(H, hd)
        k, v = F.linear(x, w_kv, b_kv).chunk(2, dim=-1)
        k = k.unflatten(-1, (H, hd))
        scores = (k * q).sum(-1) / math.sqrt(hd)
        return scores, v.unflatten(-1, (H, hd))

    def _check(self, x: torch.Tensor, ndim: int, desc: str) -> None:
        check_tensor("x", x, ndim, desc)
        if x.shape[-1] != self.d_model:
            raise ValueError(f"x must have last dimension d_model={self.d_model}, got shape {tuple(x.shape)}")
        if ndim == 3 and x.shape[1] == 0:
            raise ValueError(f"x must have at least one time step (T >= 1), got shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor, state=None):
        """x: (B, T, d_model) -> (y (B, T, d_model), state)."""
        self._check(x, 3, "(B, T, d_model)")
        scores, values = self._scores_values(x)
        out, state = aaren(scores, values, state, backend=self.backend)
        return self.out_proj(out.flatten(-2)), state

    def step(self, x_t: torch.Tensor, state=None):
        """x_t: (B, d_model) -> (y_t (B, d_model), state). O(1) in the number of earlier tokens."""
        self._check(x_t, 2, "(B, d_model)")
        if state is not None:
            check_aaren_state(state, x_t.shape[0], self.num_heads, self.head_dim)
        scores, values = self._scores_values(x_t)
        acc = torch.float64 if x_t.dtype == torch.float64 else torch.float32
        if state is not None:
            state = tuple(s.to(acc) for s in state)
        out, state = aaren_step(scores.to(acc), values.to(acc), state)
        return self.out_proj(out.to(x_t.dtype).flatten(-2)), state

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, num_heads={self.num_heads}, backend={self.backend!r}"
