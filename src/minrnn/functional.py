"""The public ops. Each validates its arguments, accumulates in float32 (float64 stays float64), picks a
backend through :mod:`minrnn.ops.registry` and returns ``(outputs, final_state)``.

Passing the returned state back in continues the sequence: processing a sequence in pieces gives the same
result as processing it whole. Outputs come back in the input dtype; states stay in the accumulation dtype
(float32 for float16/bfloat16 inputs), so long streams in half precision do not drift or overflow.

Equations (all tensors batch-first):

- ``linear_scan``: h_t = a_t * h_{t-1} + b_t, h_{-1} = h0.
- ``min_gru``:     z = sigmoid(gate), h_t = (1 - z_t) h_{t-1} + z_t g(candidate_t).
- ``min_lstm``:    f' = f / (f + i), i' = i / (f + i) with f, i the sigmoids of the logits;
                   h_t = f'_t h_{t-1} + i'_t g(candidate_t).
- ``aaren``:       o_t = sum_{i<=t} exp(s_i) v_i / sum_{i<=t} exp(s_i), state (m, u, w).

g(x) = x + 0.5 for x >= 0 and sigmoid(x) for x < 0.

Every op also takes ``cu_seqlens`` for variable-length sequences packed along time (see
:mod:`minrnn.ops.varlen`): inputs (1, total_T, ...), states with one row per sequence.
"""

from __future__ import annotations

import torch

from minrnn.ops.registry import select
from minrnn.ops.validation import (
    check_aaren_state,
    check_devices,
    check_same_shape,
    check_shape,
    check_tensor,
    compute_dtype,
)
from minrnn.ops.varlen import aaren_per_sequence, check_cu_seqlens, run_per_sequence

__all__ = ["aaren", "linear_scan", "min_gru", "min_lstm"]

_BTD = "(B, T, D)"


def _prepare_h0(h0, n_states: int, D: int, ref: torch.Tensor, dtype: torch.dtype, desc: str) -> torch.Tensor:
    if h0 is None:
        return torch.zeros(n_states, D, dtype=dtype, device=ref.device)
    check_tensor("h0", h0, 2, desc)
    check_shape("h0", h0, (n_states, D), desc)
    return h0.to(dtype)


def _check_btd(names: tuple[str, ...], tensors: tuple, h0) -> None:
    first = names[0]
    check_tensor(first, tensors[0], 3, _BTD)
    for n, t in zip(names[1:], tensors[1:]):
        check_tensor(n, t, 3, _BTD)
        check_same_shape(n, t, first, tensors[0])
    if tensors[0].shape[1] == 0:
        raise ValueError(f"{first} must have at least one time step (T >= 1), "
                         f"got shape {tuple(tensors[0].shape)}")
    if h0 is not None:  # its shape is checked once the batch layout (dense or packed) is known
        check_tensor("h0", h0, 2, "(B, D), or (N, D) with cu_seqlens")
    check_devices(**dict(zip(names, tensors)), h0=h0)


def _check_packed(name: str, x: torch.Tensor, cu_seqlens) -> list[int]:
    if x.shape[0] != 1:
        raise ValueError(f"with cu_seqlens, {name} must be packed as (1, total_T, ...), "
                         f"got shape {tuple(x.shape)}")
    return check_cu_seqlens(cu_seqlens, x.shape[1], x.device)


def _run_gated(op: str, names: tuple[str, ...], tensors: tuple, h0, backend: str, cu_seqlens=None):
    _check_btd(names, tensors, h0)
    B, _, D = tensors[0].shape
    offs = None if cu_seqlens is None else _check_packed(names[0], tensors[0], cu_seqlens)
    dtype = compute_dtype(*tensors, h0)
    if offs is None:
        h0 = _prepare_h0(h0, B, D, tensors[0], dtype, "(B, D)")
    else:
        h0 = _prepare_h0(h0, len(offs) - 1, D, tensors[0], dtype, "(N, D) with N = len(cu_seqlens) - 1")
    impl, args = select(op, backend, (*tensors, h0), lambda: (*(t.to(dtype) for t in tensors), h0))
    if offs is None:
        h, h_last = impl.fn(*args)
    elif impl.varlen:
        h, h_last = impl.fn(*args, cu_seqlens=cu_seqlens)
    else:
        h, h_last = run_per_sequence(impl.fn, args[:-1], args[-1], offs)
    return h.to(tensors[0].dtype), h_last


def linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, *, backend: str = "auto",
                cu_seqlens: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """h_t = a_t * h_{t-1} + b_t.

    Args:
        a: (B, T, D) coefficients (any sign).
        b: (B, T, D) inputs.
        h0: (B, D) initial state, zeros if None.
        backend: "auto" or one of :func:`minrnn.ops.registry.backends` ("reference", "log_space", "chunked",
            "cpu_fused", "triton", ...).
        cu_seqlens: optional (N + 1,) int64 offsets of N sequences packed as (1, total_T, D) (see
            :mod:`minrnn.ops.varlen`); then h0 and h_last are (N, D).

    Returns:
        h: (B, T, D) every state, in the input dtype; h_last: (B, D), in the accumulation dtype.
    """
    return _run_gated("linear_scan", ("a", "b"), (a, b), h0, backend, cu_seqlens)


def min_gru(gate: torch.Tensor, candidate: torch.Tensor, h0: torch.Tensor | None = None, *,
            backend: str = "auto", cu_seqlens: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """minGRU recurrence from pre-activation logits.

    Args:
        gate: (B, T, D) update-gate logits (z = sigmoid(gate)).
        candidate: (B, T, D) candidate pre-activations (h~ = g(candidate)).
        h0: (B, D) initial state (any real values), zeros if None.
        cu_seqlens: optional (N + 1,) int64 offsets for packed variable-length sequences (inputs
            (1, total_T, D), h0 and h_last (N, D)).

    Returns:
        h: (B, T, D); h_last: (B, D).
    """
    return _run_gated("min_gru", ("gate", "candidate"), (gate, candidate), h0, backend, cu_seqlens)


def min_lstm(forget: torch.Tensor, input: torch.Tensor, candidate: torch.Tensor,
             h0: torch.Tensor | None = None, *, backend: str = "auto", cu_seqlens: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """minLSTM recurrence from pre-activation logits (normalised forget/input gates).

    Args:
        forget, input: (B, T, D) gate logits.
        candidate: (B, T, D) candidate pre-activations.
        h0: (B, D) initial state, zeros if None.
        cu_seqlens: optional (N + 1,) int64 offsets for packed variable-length sequences (inputs
            (1, total_T, D), h0 and h_last (N, D)).

    Returns:
        h: (B, T, D); h_last: (B, D).
    """
    return _run_gated("min_lstm", ("forget", "input", "candidate"), (forget, input, candidate), h0, backend,
                      cu_seqlens)


def aaren(scores: torch.Tensor, values: torch.Tensor, state=None, *, backend: str = "auto",
          cu_seqlens: torch.Tensor | None = None):
    """Causal softmax attention of one query per head, as an RNN.

    Args:
        scores: (B, T, H) query-key scores s_t (already scaled).
        values: (B, T, H, Dv).
        state: None or (m (B, H), u (B, H), w (B, H, Dv)) summarising earlier tokens.
        cu_seqlens: optional (N + 1,) int64 offsets of N sequences packed as scores (1, total_T, H) and values
            (1, total_T, H, Dv); the state tensors then have leading dimension N.

    Returns:
        out: (B, T, H, Dv) with out_t = sum_{i<=t} exp(s_i) v_i / sum_{i<=t} exp(s_i) over earlier tokens too;
        state: (m, u, w) after the last token, in the accumulation dtype.
    """
    check_tensor("scores", scores, 3, "(B, T, H)")
    check_tensor("values", values, 4, "(B, T, H, Dv)")
    B, T, H = scores.shape
    if values.shape[:3] != scores.shape:
        raise ValueError(f"values must have shape (B, T, H, Dv) with (B, T, H) = {tuple(scores.shape)} "
                         f"from scores, got {tuple(values.shape)}")
    if T == 0:
        raise ValueError(f"scores must have at least one time step (T >= 1), got shape {tuple(scores.shape)}")
    Dv = values.shape[-1]
    offs = None if cu_seqlens is None else _check_packed("scores", scores, cu_seqlens)
    S, lead = (B, "B") if offs is None else (len(offs) - 1, "N")
    if state is not None:
        check_aaren_state(state, S, H, Dv, lead)
        m0, u0, w0 = state
        check_devices(scores=scores, values=values, m=m0, u=u0, w=w0)
    else:
        check_devices(scores=scores, values=values)
    dtype = compute_dtype(scores, values, *(state or ()))
    st = None if state is None else tuple(x.to(dtype) for x in state)
    st_args = st or (None, None, None)
    impl, (s, v, *_) = select("aaren", backend, (scores, values, *st_args),
                              lambda: (scores.to(dtype), values.to(dtype), *st_args))
    if offs is None:
        out, new_state = impl.fn(s, v, st)
    elif impl.varlen:
        out, new_state = impl.fn(s, v, st, cu_seqlens=cu_seqlens)
    else:
        out, new_state = aaren_per_sequence(impl.fn, s, v, st, offs)
    return out.to(values.dtype), new_state
