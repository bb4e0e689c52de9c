"""Data generators for the seven formal-language tasks of Table 2 (xLSTM / Deletang et al. 2023 setup).

Every task returns ``(x, y, mask)`` for a batch of ``B`` sequences of input length ``n`` (one length per
batch,
as Deletang et al. sample it):
- ``x`` (B, L) long: the input tokens, then ``n_out`` query tokens (id ``QUERY``) at which the model answers.
  With a causal model the answer can only be produced after the whole input has been read.
- ``y`` (B, L) long: the targets, ``-100`` (ignored) everywhere except at the query positions;
- ``L = n + n_out``; ``n_out`` is 1 for classification tasks and ``n`` for bucket_sort.
Token ids: input symbols are ``0 .. n_symbols - 1``; ``QUERY = n_symbols`` (and ``MISSING = n_symbols + 1``
for
missing_duplicate). ``TASKS[name]`` gives the input vocabulary size (incl. special tokens), the number of
output
classes and the chance accuracy used to normalise scores.

Tasks (n = input length):
- parity_check   (regular): bits; answer the parity of the number of 1s.                     classes 2
- even_pairs     (regular): bits; answer whether #"01" + #"10" substrings is even (= first bit == last). 2
- cycle_nav      (regular): actions 0=stay, 1=+1, 2=-1 on a cycle of 5 starting at 0; answer the final
position. 5
- bucket_sort    (context-sensitive): n symbols from 5; answer the sorted sequence (n outputs).   classes 5
- majority       (xLSTM): n symbols from 64; answer the most frequent one (ties: smallest id).    classes 64
- majority_count (xLSTM): n symbols from 64; answer how often the majority symbol occurs (1..256). classes 257
- missing_duplicate (xLSTM): a bit string w (|w| = n/2, n even, rounded up) followed by a copy of w with one
  position replaced by MISSING; answer the missing bit.                                          classes 2
Accuracy is token-level at the query positions (sequence-level for the one-output tasks); ``normalized
accuracy
= (acc - chance) / (1 - chance)`` is the "scaled accuracy" of xLSTM Fig. 4 / the minRNN paper's Table 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["TaskSpec", "TASKS", "generate", "QUERY_OFFSET"]

IGNORE = -100
QUERY_OFFSET = 0  # QUERY id = n_symbols + QUERY_OFFSET


@dataclass(frozen=True)
class TaskSpec:
    n_symbols: int    # input alphabet size (without special tokens)
    vocab: int        # input vocabulary incl. QUERY (and MISSING)
    n_classes: int    # output classes
    chance: float     # accuracy of uniform guessing (normalisation of scores)
    seq_output: bool = False


TASKS: dict[str, TaskSpec] = {
    "parity_check": TaskSpec(2, 3, 2, 0.5),
    "even_pairs": TaskSpec(2, 3, 2, 0.5),
    "cycle_nav": TaskSpec(3, 4, 5, 0.2),
    "bucket_sort": TaskSpec(5, 6, 5, 0.2, seq_output=True),
    "majority": TaskSpec(64, 65, 64, 1 / 64),
    "majority_count": TaskSpec(64, 65, 257, 1 / 257),
    "missing_duplicate": TaskSpec(2, 4, 2, 0.5),
}


def _answer(task: str, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Given the raw symbols s (B, n) return (input tokens (B, n), answers (B, n_out))."""
    B, n = s.shape
    if task == "parity_check":
        return s, (s.sum(1) % 2)[:, None]
    if task == "even_pairs":
        changes = (s[:, 1:] != s[:, :-1]).sum(1)
        return s, (1 - changes % 2)[:, None]  # 1 = even number of "01"/"10" pairs
    if task == "cycle_nav":
        moves = torch.tensor([0, 1, -1])[s]
        return s, (moves.sum(1) % 5)[:, None]
    if task == "bucket_sort":
        return s, s.sort(dim=1).values
    if task in ("majority", "majority_count"):
        counts = torch.zeros(B, 64, dtype=torch.long).scatter_add_(1, s, torch.ones_like(s))
        cmax, arg = counts.max(dim=1)  # ties -> first (smallest) id
        return s, (arg if task == "majority" else cmax)[:, None]
    if task == "missing_duplicate":
        raise AssertionError("handled in generate")
    raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")


def generate(task: str, batch_size: int, length: int,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``batch_size`` examples of input length ``length``; returns (x (B, L), y (B, L)) as described
    above."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    if not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int, got {length!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    spec = TASKS[task]
    query = spec.n_symbols
    if task == "missing_duplicate":
        half = max(1, (length + 1) // 2)
        w = torch.randint(0, 2, (batch_size, half), generator=generator)
        miss = torch.randint(0, half, (batch_size,), generator=generator)
        copy = w.clone()
        copy[torch.arange(batch_size), miss] = spec.n_symbols + 1
        inp, ans = torch.cat([w, copy], 1), w[torch.arange(batch_size), miss][:, None]
    else:
        s = torch.randint(0, spec.n_symbols, (batch_size, length), generator=generator)
        inp, ans = _answer(task, s)
    n_out = ans.shape[1]
    x = torch.cat([inp, torch.full((batch_size, n_out), query, dtype=torch.long)], 1)
    y = torch.full_like(x, IGNORE)
    y[:, -n_out:] = ans
    return x, y
