"""Independent, textbook formulations used as ground truth (no code shared with minrnn.ops)."""

import torch


def scan_loop(a, b, h0):
    h, out = h0, []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, 1), h


def g(x):
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def min_gru_loop(gate, cand, h0):
    z = torch.sigmoid(gate)
    return scan_loop(1 - z, z * g(cand), h0)


def min_lstm_loop(forget, inp, cand, h0):
    f, i = torch.sigmoid(forget), torch.sigmoid(inp)
    return scan_loop(f / (f + i), i / (f + i) * g(cand), h0)


def causal_softmax_attention(scores, values):
    """scores (B, T, H), values (B, T, H, Dv): o_t = softmax over i <= t of s_i, applied to v_i."""
    B, T, H = scores.shape
    s = scores.permute(0, 2, 1).unsqueeze(2).expand(B, H, T, T)  # [b, h, t, i] = s_i
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    w = torch.softmax(s.masked_fill(~mask, float("-inf")), dim=-1)
    return torch.einsum("bhti,bihd->bthd", w, values)


def cpu_backends(op: str, dtype=torch.float64, exclude=()) -> list[str]:
    """Registered backends of ``op`` that accept CPU tensors of ``dtype`` (a GPU-only kernel is left out)."""
    from minrnn.ops.registry import backends, resolve

    x = torch.zeros(1, 2, 1, dtype=dtype)
    probe = {"aaren": (x[..., 0], x.unsqueeze(-1), None, None, None)}.get(op, (x, x, x, x[:, 0]))
    usable = []
    for name in backends(op):
        if name in exclude:
            continue
        try:
            resolve(op, name, *probe)
        except ValueError:
            continue
        usable.append(name)
    return usable
