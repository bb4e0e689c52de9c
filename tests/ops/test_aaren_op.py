import pytest
import torch

from minrnn.functional import aaren
from minrnn.ops.aaren import combine
from tests.ops.explicit import causal_softmax_attention, cpu_backends

BACKENDS = cpu_backends("aaren")


def _inputs(B, T, H, Dv, scale=3.0, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    s = torch.randn(B, T, H, generator=gen, dtype=torch.float64) * scale
    v = torch.randn(B, T, H, Dv, generator=gen, dtype=torch.float64)
    return s.to(dtype), v.to(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("T", [1, 2, 7, 33, 128])
def test_matches_explicit_causal_softmax_attention(backend, T):
    s, v = _inputs(2, T, 3, 4)
    out, (m, u, w) = aaren(s, v, backend=backend)
    want = causal_softmax_attention(s, v)
    assert (out - want).abs().max() <= 1e-10
    assert torch.allclose(m, s.max(dim=1).values)
    assert torch.allclose(u, torch.exp(s - m.unsqueeze(1)).sum(1), atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_relative(backend):
    s, v = _inputs(2, 300, 2, 5)
    want = causal_softmax_attention(s, v)
    out, _ = aaren(s.float(), v.float(), backend=backend)
    assert out.dtype == torch.float32
    assert (out.double() - want).abs().max() / want.abs().max() <= 1e-5


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("split", [1, 6, 20])
def test_state_continues_the_sequence(backend, split):
    s, v = _inputs(2, 21, 2, 3)
    whole, st = aaren(s, v, backend=backend)
    first, mid = aaren(s[:, :split], v[:, :split], backend=backend)
    second, st2 = aaren(s[:, split:], v[:, split:], mid, backend=backend)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-12)
    for x, y in zip(st, st2):
        assert torch.allclose(x, y, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_extreme_scores_are_stable(backend):
    """Scores spanning +-1e3 (exp would overflow naively) on a long sequence."""
    s, v = _inputs(1, 4099 if backend != "reference" else 513, 2, 3, scale=1.0)
    s = s * 1e3
    out, (m, u, w) = aaren(s.float(), v.float(), backend=backend)
    want = causal_softmax_attention(s, v) if s.shape[1] <= 600 else None
    assert torch.isfinite(out).all() and torch.isfinite(u).all() and torch.isfinite(w).all()
    if want is not None:
        assert (out.double() - want).abs().max() <= 1e-5


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcheck_including_state(backend):
    s, v = _inputs(2, 5, 2, 3)
    _, (m0, u0, w0) = aaren(*_inputs(2, 4, 2, 3, seed=1))
    args = [t.clone().requires_grad_() for t in (s, v, m0, u0, w0)]

    def f(s, v, m0, u0, w0):
        out, (m, u, w) = aaren(s, v, (m0, u0, w0), backend=backend)
        return out, m, u, w

    assert torch.autograd.gradcheck(f, args)


def test_operator_is_associative():
    gen = torch.Generator().manual_seed(3)
    triples = []
    for _ in range(3):
        m = torch.randn(2, 3, generator=gen, dtype=torch.float64) * 5
        triples.append((m, torch.rand(2, 3, generator=gen, dtype=torch.float64) + 0.1,
                        torch.randn(2, 3, 4, generator=gen, dtype=torch.float64)))
    a, b, c = triples
    left = combine(combine(a, b), c)
    right = combine(a, combine(b, c))
    for x, y in zip(left, right):
        assert torch.allclose(x, y, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs(dtype):
    s, v = _inputs(2, 100, 2, 4)
    s, v = s.to(dtype), v.to(dtype)
    out, (m, u, w) = aaren(s, v)
    want = causal_softmax_attention(s.double(), v.double())
    assert out.dtype == dtype and u.dtype == torch.float32
    assert (out.double() - want).abs().max() <= 2e-2


def _masked(lead: int, dtype=torch.float64):
    """Scores with ``lead`` leading -inf tokens (masked left padding) and one -inf in the middle."""
    s, v = _inputs(2, 7, 2, 3, seed=4, dtype=dtype)
    s = s.clone()
    s[:, :lead] = -torch.inf
    s[:, lead + 2] = -torch.inf
    return s, v


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("lead", [1, 2])
@pytest.mark.parametrize("with_state", [False, True])
def test_scores_of_minus_inf_never_give_nan(backend, lead, with_state):
    """Equal maxima (also -inf == -inf) weigh exp(0) = 1 in every backend: a masked prefix is the whole
    prefix until a finite score arrives, then it is dropped; forward and every gradient stay finite."""
    from tests.ops.kernel_cases import aaren_inputs, assert_close_list, run_aaren

    s, v = _masked(lead)
    state = None
    if with_state:  # the identity state (m = -inf, u = w = 0), as after an empty prefix
        _, _, st = aaren_inputs(2, 1, 2, 3, torch.float64, seed=5)
        state = [torch.full_like(st[0], -torch.inf), torch.zeros_like(st[1]), torch.zeros_like(st[2])]
        s[:, 0] = 0.5  # the identity state needs one finite score to start from
    got, want = run_aaren(backend, s, v, state), run_aaren("reference", s, v, state)
    assert all(torch.isfinite(x).all() for x in want[:1] + want[4:6])
    assert_close_list(got, want, torch.float64)
    if not with_state:  # after the first finite score the output is plain softmax attention over finite ones
        t = lead
        assert torch.allclose(got[0][:, t], v[:, t])


@pytest.mark.parametrize("with_state", [False, True])
def test_score_gradient_at_tied_maxima_is_the_softmax_gradient(with_state):
    """Two equal scores tie for the running maximum; the output (a softmax) is smooth there, so every backend
    must give the softmax's gradient (masking every x == m cut it in reference and chunked)."""
    torch.manual_seed(0)
    s0 = torch.tensor([1.0, 1.0, 0.0, 1.0], dtype=torch.float64).view(1, 4, 1)
    v = torch.randn(1, 4, 1, 2, dtype=torch.float64)
    s = s0.clone().requires_grad_()
    causal_softmax_attention(s, v).sum().backward()
    want = s.grad
    for backend in cpu_backends("aaren"):
        s = s0.clone().requires_grad_()
        if with_state:  # the first two tokens as a state, the rest as the sequence
            _, st = aaren(s[:, :2], v[:, :2], backend=backend)
            out, _ = aaren(s[:, 2:], v[:, 2:], st, backend=backend)
            loss = causal_softmax_attention(s, v)[:, :2].sum().detach() + out.sum()
        else:
            loss = aaren(s, v, backend=backend)[0].sum()
        loss.backward()
        if with_state:
            ref = s0.clone().requires_grad_()
            causal_softmax_attention(ref, v)[:, 2:].sum().backward()
            torch.testing.assert_close(s.grad, ref.grad, msg=backend)
        else:
            torch.testing.assert_close(s.grad, want, msg=backend)
