"""Mamba (Gu & Dao 2023) selective-state-space mixer in pure PyTorch.

Parameter names and shapes follow ``mamba_ssm.modules.mamba_simple.Mamba`` (in_proj, conv1d, x_proj, dt_proj,
A_log, D, out_proj) so state dicts move between the two. The selective scan uses ``mamba_ssm``'s CUDA kernel
when that package is importable and the input is on CUDA; otherwise :func:`minrnn.functional.linear_scan`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from minrnn.functional import linear_scan
from minrnn.models.conv import causal_depthwise_conv
from minrnn.ops.validation import is_integral, is_real

try:  # optional CUDA kernel
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn as _selective_scan_fn
except Exception:  # noqa: BLE001 - any import failure means "not available"
    _selective_scan_fn = None


class Mamba(nn.Module):
    """x -> (x', z) = in_proj(x); x' = silu(causal_conv(x')); (dt, B, C) = x_proj(x');
    dt = softplus(dt_proj(dt)); A = -exp(A_log);
    h_t = exp(dt_t A) * h_{t-1} + dt_t B_t x'_t   (per channel d and state n);
    y_t = (C_t . h_t + D x'_t) * silu(z_t); out = out_proj(y).

    State: (conv_cache (B, d_conv-1, d_inner), ssm (B, d_inner, d_state)).
    Shapes: forward(x (B,T,d_model), state) -> (y (B,T,d_model), state); step(x_t (B,d_model), state).
    """

    def __init__(self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: float = 2,
                 dt_rank: int | str = "auto", dt_min: float = 0.001, dt_max: float = 0.1,
                 dt_init_floor: float = 1e-4, conv_bias: bool = True, bias: bool = False,
                 use_kernel: bool = True):
        super().__init__()
        for name, v in (("d_model", d_model), ("d_state", d_state), ("d_conv", d_conv)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not (isinstance(expand, (int, float)) and not isinstance(expand, bool) and math.isfinite(expand)
                and expand > 0):
            raise ValueError(f"expand (the mixer's expansion) must be a positive number, got {expand!r}")
        self.d_model, self.d_state, self.d_conv = d_model, d_state, d_conv
        self.d_inner = int(expand * d_model)
        if self.d_inner < 1:
            raise ValueError(f"expand (the mixer's expansion) = {expand!r} with d_model={d_model} gives an inner "
                             f"width of int(expand * d_model) = {self.d_inner}; it must be >= 1 "
                             f"(expand >= {1 / d_model:.3g})")
        if not (dt_rank == "auto" or (is_integral(dt_rank) and dt_rank > 0)):
            raise ValueError(f"dt_rank must be 'auto' or a positive int, got {dt_rank!r}")
        if not (is_real(dt_min) and is_real(dt_max) and 0 < dt_min <= dt_max):
            raise ValueError(f"dt_min and dt_max must be finite numbers with 0 < dt_min <= dt_max, got "
                             f"{dt_min!r}, {dt_max!r}")
        dt_min, dt_max = float(dt_min), float(dt_max)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.use_kernel = use_kernel
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=bias)
        self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, d_conv, groups=self.d_inner, padding=d_conv - 1,
                                bias=conv_bias)
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
        std = self.dt_rank ** -0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        dt = torch.exp(torch.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = dt.clamp(min=dt_init_floor)
        with torch.no_grad():  # inverse of softplus, so softplus(bias) = dt
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.A_log._no_weight_decay = True
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.D._no_weight_decay = True
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias)

    def _ssm_inputs(self, xc: torch.Tensor):
        """xc (B,T,d_inner) -> dt (B,T,d_inner) (after softplus), Bm, Cm (B,T,N), A (d_inner,N).

        A is in the accumulation dtype (float32, or float64 for float64 inputs): the decays exp(dt A) sit close
        to 1, and in bfloat16 they round to 1 or 0.996, a bias that builds up over a long sequence (as the
        reference selective scan, the SSM is discretised in float32)."""
        dt, Bm, Cm = self.x_proj(xc).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(F.linear(dt, self.dt_proj.weight) + self.dt_proj.bias)
        acc = torch.float64 if xc.dtype == torch.float64 else torch.float32
        return dt, Bm, Cm, -torch.exp(self.A_log.to(acc))

    def forward(self, x: torch.Tensor, state=None):
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"x must be (B, T, d_model={self.d_model}), got shape {tuple(x.shape)}")
        if x.shape[1] == 0:
            raise ValueError(f"x must have at least one time step (T >= 1), got shape {tuple(x.shape)}")
        Bsz, T, _ = x.shape
        conv_cache, h0 = (None, None) if state is None else state
        xi, z = self.in_proj(x).chunk(2, dim=-1)
        xc, conv_cache = causal_depthwise_conv(xi, self.conv1d.weight, self.conv1d.bias, conv_cache)
        xc = F.silu(xc)
        dt, Bm, Cm, A = self._ssm_inputs(xc)
        N = self.d_state
        if (self.use_kernel and _selective_scan_fn is not None and x.is_cuda and h0 is None):
            y, h_last = _selective_scan_fn(
                xc.transpose(1, 2).contiguous(), dt.transpose(1, 2).contiguous(), A.float().contiguous(),
                Bm.transpose(1, 2).contiguous(), Cm.transpose(1, 2).contiguous(), self.D.float(),
                z=None, delta_bias=None, delta_softplus=False, return_last_state=True)
            y = y.transpose(1, 2)
        else:
            acc = A.dtype
            a = torch.exp(dt.to(acc).unsqueeze(-1) * A)  # (B,T,d_inner,N)
            b = (dt * xc).to(acc).unsqueeze(-1) * Bm.to(acc).unsqueeze(2)  # (B,T,d_inner,N)
            h, h_last = linear_scan(a.flatten(2), b.flatten(2),
                                    None if h0 is None else h0.flatten(1))
            h = h.view(Bsz, T, self.d_inner, N)
            y = torch.einsum("btdn,btn->btd", h, Cm.to(acc)).to(xc.dtype) + self.D * xc
            h_last = h_last.view(Bsz, self.d_inner, N)
        y = y * F.silu(z)
        return self.out_proj(y), (conv_cache, h_last)

    def step(self, x_t: torch.Tensor, state=None):
        """One token: O(1) in the length of the prefix."""
        if x_t.dim() != 2 or x_t.shape[-1] != self.d_model:
            raise ValueError(f"x_t must be (B, d_model={self.d_model}), got shape {tuple(x_t.shape)}")
        conv_cache, h = (None, None) if state is None else state
        xi, z = self.in_proj(x_t).chunk(2, dim=-1)
        xc, conv_cache = causal_depthwise_conv(xi.unsqueeze(1), self.conv1d.weight, self.conv1d.bias,
                                               conv_cache)
        xc = F.silu(xc.squeeze(1))
        dt, Bm, Cm, A = self._ssm_inputs(xc)
        acc = torch.float64 if x_t.dtype == torch.float64 else torch.float32
        if h is None:
            h = torch.zeros(x_t.shape[0], self.d_inner, self.d_state, device=x_t.device, dtype=acc)
        decay = torch.exp(dt.to(acc).unsqueeze(-1) * A.to(acc))
        h = decay * h.to(acc) + ((dt * xc).unsqueeze(-1) * Bm.unsqueeze(1)).to(acc)
        y = torch.einsum("bdn,bn->bd", h.to(x_t.dtype), Cm) + self.D * xc
        y = y * F.silu(z)
        return self.out_proj(y), (conv_cache, h)
