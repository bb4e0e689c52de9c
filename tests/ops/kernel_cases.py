"""Shared cases for the kernel tests (cpu_fused, triton, varlen): inputs, a forward+backward runner and a
comparison with dtype-dependent tolerances. Not a test module itself."""

from __future__ import annotations

import torch

import minrnn.functional as F

GATED = ("linear_scan", "min_gru", "min_lstm")
N_INPUTS = {"linear_scan": 2, "min_gru": 2, "min_lstm": 3}
# relative tolerance (to the largest magnitude of the expected tensor) per compute dtype
TOL = {torch.float64: 1e-10, torch.float32: 1e-5, torch.bfloat16: 1e-2, torch.float16: 2e-3}


def gated_inputs(
    op: str, B: int, T: int, D: int, dtype=torch.float32, seed: int = 0, extreme: bool = False, device="cpu"
) -> list[torch.Tensor]:
    """Inputs of ``op`` (B, T, D) plus h0 (B, D) of either sign.

    ``extreme``: gate logits up to +-60 and candidates up to +-1e3."""
    g = torch.Generator().manual_seed(seed)
    gs, cs = (60.0, 1e3) if extreme else (4.0, 3.0)
    if op == "linear_scan":
        xs = [torch.rand(B, T, D, generator=g) * 2.2 - 1.1, torch.randn(B, T, D, generator=g) * cs]
    elif op == "min_gru":
        xs = [(torch.rand(B, T, D, generator=g) * 2 - 1) * gs, torch.randn(B, T, D, generator=g) * cs]
    else:
        xs = [
            (torch.rand(B, T, D, generator=g) * 2 - 1) * gs,
            (torch.rand(B, T, D, generator=g) * 2 - 1) * gs,
            torch.randn(B, T, D, generator=g) * cs,
        ]
    h0 = torch.randn(B, D, generator=g) * 2
    if extreme:
        xs = [x.clamp(-1e3, 1e3) for x in xs]
    return [x.to(dtype=dtype, device=device) for x in xs] + [h0.to(dtype=dtype, device=device)]


def run_gated(op: str, backend: str, args: list[torch.Tensor], cu_seqlens=None) -> list[torch.Tensor]:
    """[h, h_last, grad of every input..., grad h0] for a fixed random loss on h and h_last."""
    fn = getattr(F, op)
    leaves = [a.detach().clone().requires_grad_() for a in args]
    h, h_last = fn(*leaves[:-1], leaves[-1], backend=backend, cu_seqlens=cu_seqlens)
    g = torch.Generator().manual_seed(123)
    w = torch.randn(h.shape, generator=g).to(device=h.device, dtype=h.dtype)
    wl = torch.randn(h_last.shape, generator=g).to(device=h.device, dtype=h_last.dtype)
    ((h * w).float().sum() + (h_last * wl).float().sum()).backward()
    return [h.detach(), h_last.detach()] + [x.grad for x in leaves]


def aaren_inputs(
    B: int, T: int, H: int, Dv: int, dtype=torch.float32, seed: int = 0, with_state: bool = True, device="cpu"
):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(B, T, H, generator=g) * 3
    v = torch.randn(B, T, H, Dv, generator=g)
    state = None
    if with_state:
        state = [
            torch.randn(B, H, generator=g) * 3,
            torch.rand(B, H, generator=g) + 0.5,
            torch.randn(B, H, Dv, generator=g),
        ]
        state = [
            x.to(device=device, dtype=torch.float64 if dtype == torch.float64 else torch.float32)
            for x in state
        ]
    return s.to(device=device, dtype=dtype), v.to(device=device, dtype=dtype), state


def run_aaren(backend: str, s, v, state, cu_seqlens=None) -> list[torch.Tensor]:
    """[out, m, u, w, grad s, grad v, grads of the state...] for a fixed random loss."""
    ss, vv = s.detach().clone().requires_grad_(), v.detach().clone().requires_grad_()
    st = None if state is None else [x.detach().clone().requires_grad_() for x in state]
    out, (m, u, w) = F.aaren(ss, vv, st, backend=backend, cu_seqlens=cu_seqlens)
    g = torch.Generator().manual_seed(7)
    wo = torch.randn(out.shape, generator=g).to(device=out.device, dtype=out.dtype)
    loss = (out * wo).float().sum() + u.sin().sum() + (w * torch.randn(w.shape, generator=g).to(w)).sum()
    finite_m = torch.isfinite(m)
    loss = loss + torch.where(finite_m, m, torch.zeros_like(m)).cos().sum()
    loss.backward()
    res = [out.detach(), m.detach(), u.detach(), w.detach(), ss.grad, vv.grad]
    return res + ([x.grad for x in st] if st is not None else [])


def assert_close_list(
    got: list, want: list, dtype: torch.dtype, names=None, rtol: float | None = None
) -> None:
    """Every pair agrees to ``rtol`` times the largest magnitude of the expected tensor."""
    rtol = TOL[dtype] if rtol is None else rtol
    for i, (a, b) in enumerate(zip(got, want)):
        name = names[i] if names else str(i)
        if a is None or b is None:
            assert a is None and b is None, f"{name}: one gradient is None"
            continue
        assert a.shape == b.shape, f"{name}: shape {tuple(a.shape)} != {tuple(b.shape)}"
        assert a.dtype == b.dtype, f"{name}: dtype {a.dtype} != {b.dtype}"
        a64, b64 = a.double().cpu(), b.double().cpu()
        fin = torch.isfinite(b64)
        assert torch.equal(fin, torch.isfinite(a64)), f"{name}: non-finite entries differ"
        if not fin.any():
            continue
        scale = b64[fin].abs().max().clamp_min(1e-30)
        err = (a64[fin] - b64[fin]).abs().max()
        assert err <= rtol * scale, f"{name}: max abs error {err:.3g} > {rtol:g} x {scale:.3g}"
