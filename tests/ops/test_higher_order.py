"""Second derivatives (create_graph=True) and torch.func transforms through every backend.

The fused kernels compute first derivatives; a recorded backward goes through the ``chunked`` backend
(:mod:`minrnn.ops.higher_order`), whose own autograd is differentiable to any order. Under torch.func
transforms, ``auto`` skips the compiled kernels.
"""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradgradcheck
from torch.func import functional_call, grad, vmap

import minrnn
import minrnn.functional as F
from minrnn.ops.gated import g
from minrnn.ops.registry import backends

F64 = dict(dtype=torch.float64)


def _cpu_backends(op: str) -> list[str]:
    return [b for b in backends(op) if b != "triton"]


def _flat(out):
    """(h, h_last) or (o, (m, u, w)) -> a flat tuple, for gradgradcheck."""
    return (out[0], *out[1]) if isinstance(out[1], tuple) else out


@pytest.mark.parametrize("op", ["linear_scan", "min_gru", "min_lstm"])
def test_gated_gradgradcheck_every_backend(op):
    torch.manual_seed(0)
    n_in = 3 if op == "min_lstm" else 2
    xs = [torch.randn(2, 5, 3, **F64) for _ in range(n_in)]
    if op == "linear_scan":
        xs[0] = torch.rand(2, 5, 3, **F64) + 0.1  # log_space needs a > 0
    ins = [x.requires_grad_() for x in (*xs, torch.randn(2, 3, **F64))]
    for be in _cpu_backends(op):
        assert gradgradcheck(lambda *a, be=be: getattr(F, op)(*a, backend=be), ins, fast_mode=True), be


@pytest.mark.parametrize("with_state", [False, True])
def test_aaren_gradgradcheck_every_backend(with_state):
    torch.manual_seed(1)
    ins = [torch.randn(2, 4, 2, **F64), torch.randn(2, 4, 2, 3, **F64)]
    if with_state:
        ins += [torch.randn(2, 2, **F64), torch.rand(2, 2, **F64) + 0.5, torch.randn(2, 2, 3, **F64)]
    ins = [x.requires_grad_() for x in ins]
    for be in _cpu_backends("aaren"):
        def fn(s, v, *st, be=be):
            return _flat(F.aaren(s, v, tuple(st) or None, backend=be))
        assert gradgradcheck(fn, ins, fast_mode=True), be


def test_varlen_gradgradcheck_fused():
    cu = torch.tensor([0, 2, 2, 7])
    ins = [torch.rand(1, 7, 3, **F64), torch.randn(1, 7, 3, **F64), torch.randn(3, 3, **F64)]
    ins = [x.requires_grad_() for x in ins]
    for be in _cpu_backends("linear_scan"):
        assert gradgradcheck(lambda *a, be=be: F.linear_scan(*a, backend=be, cu_seqlens=cu), ins, fast_mode=True), be
    s, v = torch.randn(1, 7, 2, **F64, requires_grad=True), torch.randn(1, 7, 2, 3, **F64, requires_grad=True)
    for be in _cpu_backends("aaren"):
        def fn(s, v, be=be):
            return _flat(F.aaren(s, v, backend=be, cu_seqlens=cu))
        assert gradgradcheck(fn, (s, v), fast_mode=True), be


@pytest.mark.parametrize("backend", ["reference", "chunked", "auto"])
def test_gradient_penalty_through_a_layer_matches_plain_torch(backend):
    """The reviewer's case: d/dW of |dL/dx|^2 was silently wrong (once_differentiable nodes pruned)."""
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3, **F64, requires_grad=True)
    m = minrnn.MinGRU(3, 4, backend=backend).double()

    def plain(x):
        gate, cand = m.in_proj(x).chunk(2, -1)
        z, h, hs = torch.sigmoid(gate), torch.zeros(2, 4, **F64), []
        for t in range(x.shape[1]):
            h = (1 - z[:, t]) * h + z[:, t] * g(cand[:, t])
            hs.append(h)
        return torch.stack(hs, 1)

    got = []
    for f in (plain, lambda x: m(x)[0]):
        (gx,) = torch.autograd.grad(f(x).pow(2).sum(), x, create_graph=True)
        got.append(torch.autograd.grad(gx.pow(2).sum(), m.in_proj.weight)[0])
    torch.testing.assert_close(got[1], got[0])


@pytest.mark.parametrize("kind", ["mingru", "minlstm", "aaren"])
def test_torch_func_grad_vmap_and_per_sample_gradients(kind):
    torch.manual_seed(0)
    m = {"mingru": lambda: minrnn.MinGRU(3, 4), "minlstm": lambda: minrnn.MinLSTM(3, 4),
         "aaren": lambda: minrnn.Aaren(4, 2)}[kind]()
    d = 4 if kind == "aaren" else 3
    x = torch.randn(2, 5, d)
    params = dict(m.named_parameters())
    got = grad(lambda p: functional_call(m, p, (x,))[0].sum())(params)
    m(x)[0].sum().backward()
    for name, p in m.named_parameters():
        torch.testing.assert_close(got[name], p.grad)
    xs = torch.randn(3, 2, 5, d)
    torch.testing.assert_close(vmap(lambda xi: m(xi)[0])(xs), torch.stack([m(xi)[0] for xi in xs]))
    per_sample = vmap(grad(lambda p, xi: functional_call(m, p, (xi[None],))[0].sum()), in_dims=(None, 0))(params, x)
    for name, p in m.named_parameters():
        m.zero_grad()
        m(x[1:2])[0].sum().backward()
        torch.testing.assert_close(per_sample[name][1], p.grad)


def test_compiled_kernel_named_under_vmap_says_why():
    if "cpu_fused" not in backends("linear_scan"):
        pytest.skip("cpu_fused not registered")
    with pytest.raises(ValueError, match="cannot run under torch.func transforms"):
        vmap(lambda a, b: F.linear_scan(a, b, backend="cpu_fused")[0])(torch.rand(2, 1, 3, 2), torch.rand(2, 1, 3, 2))


def test_torch_compile_with_a_second_sequence_length():
    """Dynamic shapes after a recompile: chunk_last_dim's backward must not inspect ``_base`` while traced."""
    torch._dynamo.reset()
    m = minrnn.MinGRU(5, 6)
    cm = torch.compile(m)
    for T in (7, 9):
        x = torch.randn(2, T, 5)
        y, _ = cm(x)
        y.sum().backward()
        gw = m.in_proj.weight.grad.clone()
        m.zero_grad()
        m(x)[0].sum().backward()
        torch.testing.assert_close(gw, m.in_proj.weight.grad)
        m.zero_grad()


def test_torch_compile_fullgraph_with_the_chunked_backend():
    """The layers load the backend registry when built, so a first forward under torch.compile traces no
    imports; the chunked backend is plain torch ops end to end (the fused CPU kernels are a graph break)."""
    torch._dynamo.reset()
    x = torch.randn(2, 16, 8, requires_grad=True)
    for m in (minrnn.MinGRU(8, 8, backend="chunked"), minrnn.Aaren(8, 2, backend="chunked")):
        y, _ = torch.compile(m, fullgraph=True)(x)
        y.sum().backward()
        torch.testing.assert_close(y, m(x)[0])


def test_the_same_tensor_in_two_slots_gets_each_slots_gradient_once():
    """``linear_scan(a, a)`` with create_graph=True: the recomputed path must not count a's gradient twice."""
    torch.manual_seed(0)
    a = torch.rand(2, 5, 3, **F64, requires_grad=True)
    want = None
    for be in _cpu_backends("linear_scan"):
        for create_graph in (False, True):
            h, _ = F.linear_scan(a, a, backend=be)
            (g,) = torch.autograd.grad(h.sum(), a, create_graph=create_graph)
            want = g if want is None else want
            torch.testing.assert_close(g, want, msg=f"{be} create_graph={create_graph}")


def test_aaren_second_derivative_of_an_empty_batch():
    for be in _cpu_backends("aaren"):
        s = torch.randn(0, 4, 2, requires_grad=True)
        v = torch.randn(0, 4, 2, 3, requires_grad=True)
        o, _ = F.aaren(s, v, backend=be)
        (gs,) = torch.autograd.grad(o.sum(), s, create_graph=True)
        assert gs.shape == s.shape, be


@pytest.mark.parametrize("backend", ["reference", "chunked", "auto"])
def test_forward_mode_jvp_and_hessian(backend):
    """Forward mode (jvp, jacfwd, hessian = jacfwd(jacrev)): the chunked scan's tangent is itself a scan."""
    torch.manual_seed(0)
    x = torch.randn(1, 4, 3, **F64)

    def f(x, be):
        return F.min_gru(x, 2 * x, backend=be)[0]

    _, tangent = torch.func.jvp(lambda x: f(x, backend), (x,), (torch.ones_like(x),))
    _, want = torch.func.jvp(lambda x: f(x, "reference"), (x,), (torch.ones_like(x),))
    torch.testing.assert_close(tangent, want)
    hess = torch.func.hessian(lambda x: f(x, backend).sum())(x)
    torch.testing.assert_close(hess, torch.func.hessian(lambda x: f(x, "reference").sum())(x))


def test_compiled_per_sample_gradients_through_a_layer():
    torch._dynamo.reset()
    m = minrnn.MinGRU(4, 4)
    params, x = dict(m.named_parameters()), torch.randn(3, 5, 4)
    fn = vmap(grad(lambda p, xi: functional_call(m, p, (xi[None],))[0].sum()), in_dims=(None, 0))
    want, got = fn(params, x), torch.compile(fn)(params, x)
    for name in want:
        torch.testing.assert_close(got[name], want[name])


def test_forward_mode_dual_tensors_skip_the_compiled_kernels():
    """torch.autograd.forward_ad: the fused kernels have no jvp, so auto takes the chunked scan."""
    import torch.autograd.forward_ad as fwAD

    x = torch.randn(2, 5, 3, **F64)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, torch.ones_like(x))
        got = fwAD.unpack_dual(F.min_gru(d, 2 * d)[0]).tangent
        want = fwAD.unpack_dual(F.min_gru(d, 2 * d, backend="reference")[0]).tangent
        torch.testing.assert_close(got, want)
        assert fwAD.unpack_dual(minrnn.MinGRU(3, 4).double()(d)[0]).tangent.shape == (2, 5, 4)
