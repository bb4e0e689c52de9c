"""Variable-length packed batches (``cu_seqlens`` offsets, as in FlashAttention's varlen API).

N sequences of lengths T_0 .. T_{N-1} are packed along time into one row of shape (1, total_T, ...), and
``cu_seqlens`` = [0, T_0, T_0 + T_1, ..., total_T] (N + 1 int64 offsets) says where each one starts.
Sequence n covers packed positions cu_seqlens[n] .. cu_seqlens[n+1] - 1 and has its own initial and final
state (row n of the (N, ...) state tensors). Empty sequences are allowed: their final state is their initial
state.

Backends registered with ``varlen=True`` take ``cu_seqlens`` directly (one kernel launch for the whole
batch); for the others :func:`run_per_sequence` / :func:`aaren_per_sequence` loop over the sequences, which is
the readable reference behaviour.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def check_cu_seqlens(cu_seqlens, total_T: int, device: torch.device) -> list[int]:
    """Validate offsets and return them as a Python list.

    Raises:
        TypeError: not an int64 tensor.
        ValueError: not 1-D with >= 2 entries, on another device than the inputs, not starting at 0,
            decreasing somewhere, or not ending at ``total_T``.
    """
    if not isinstance(cu_seqlens, torch.Tensor):
        raise TypeError(
            f"cu_seqlens must be a torch.LongTensor of N + 1 offsets, got {type(cu_seqlens).__name__}"
        )
    if cu_seqlens.dtype != torch.int64:
        raise TypeError(f"cu_seqlens must have dtype torch.int64 (long), got {cu_seqlens.dtype}")
    if cu_seqlens.dim() != 1 or cu_seqlens.numel() < 2:
        raise ValueError(
            "cu_seqlens must be 1-D with N + 1 >= 2 offsets [0, ..., total_T], got shape "
            f"{tuple(cu_seqlens.shape)}"
        )
    if cu_seqlens.device != device:
        raise ValueError(f"cu_seqlens is on {cu_seqlens.device} but the inputs are on {device}")
    offs = cu_seqlens.tolist()
    if offs[0] != 0:
        raise ValueError(f"cu_seqlens must start at 0, got {offs[0]}")
    if any(b < a for a, b in zip(offs, offs[1:])):
        raise ValueError(f"cu_seqlens must be non-decreasing, got {offs if len(offs) <= 12 else offs[:12]}")
    if offs[-1] != total_T:
        raise ValueError(
            f"cu_seqlens must end at total_T = {total_T} (the packed time length), got {offs[-1]}"
        )
    return offs


def run_per_sequence(
    fn: Callable, xs: tuple[torch.Tensor, ...], h0: torch.Tensor, offs: list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a batched backend ``fn(*xs, h0) -> (h, h_last)`` once per packed sequence.

    Args:
        xs: inputs of shape (1, total_T, D); h0: (N, D); offs: N + 1 offsets.

    Returns:
        h: (1, total_T, D); h_last: (N, D).
    """
    hs, lasts = [], []
    for n in range(len(offs) - 1):
        s, e = offs[n], offs[n + 1]
        if e == s:
            lasts.append(h0[n])
            continue
        h, h_last = fn(*(x[:, s:e] for x in xs), h0[n : n + 1])
        hs.append(h)
        lasts.append(h_last[0])
    h = torch.cat(hs, dim=1) if hs else xs[0].new_empty(1, 0, xs[0].shape[-1])
    return h, torch.stack(lasts)


def aaren_per_sequence(fn: Callable, scores: torch.Tensor, values: torch.Tensor, state, offs: list[int]):
    """Run a batched Aaren backend ``fn(scores, values, state) -> (out, (m, u, w))`` once per packed sequence.

    Args:
        scores: (1, total_T, H); values: (1, total_T, H, Dv); state: None or (m, u, w) with leading N.

    Returns:
        out: (1, total_T, H, Dv); state (m (N, H), u (N, H), w (N, H, Dv)). An empty sequence without an
        initial state ends in the identity state (m = -inf, u = 0, w = 0).
    """
    H, Dv = values.shape[2], values.shape[3]
    outs, ms, us, ws = [], [], [], []
    for n in range(len(offs) - 1):
        s, e = offs[n], offs[n + 1]
        st = None if state is None else tuple(x[n : n + 1] for x in state)
        if e == s:
            if st is None:
                st = (
                    scores.new_full((1, H), float("-inf")),
                    scores.new_zeros(1, H),
                    values.new_zeros(1, H, Dv),
                )
            m, u, w = st
        else:
            out, (m, u, w) = fn(scores[:, s:e], values[:, s:e], st)
            outs.append(out)
        ms.append(m)
        us.append(u)
        ws.append(w)
    out = torch.cat(outs, dim=1) if outs else values.new_empty(1, 0, H, Dv)
    if not ms:  # no sequences (cu_seqlens = [0])
        return out, (scores.new_empty(0, H), scores.new_empty(0, H), values.new_empty(0, H, Dv))
    return out, (torch.cat(ms), torch.cat(us), torch.cat(ws))
