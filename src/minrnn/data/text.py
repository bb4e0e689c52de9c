"""Character-level language-modelling data from any UTF-8 text file (nanoGPT-style 90/10 split)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch


def read_text_file(path: str | Path) -> str:
    """Read a UTF-8 text file; a missing, empty, binary or undecodable file raises ValueError saying which."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"data file {str(p)!r} does not exist or is not a file")
    raw = p.read_bytes()
    if not raw:
        raise ValueError(f"data file {str(p)!r} is empty")
    if b"\x00" in raw[:1 << 20]:
        raise ValueError(f"data file {str(p)!r} looks binary (contains NUL bytes); expected UTF-8 text")
    try:
        return raw.decode("utf-8-sig")  # a byte-order mark is not a character of the corpus
    except UnicodeDecodeError as e:
        raise ValueError(f"data file {str(p)!r} is not valid UTF-8 text "
                         f"(byte {e.start}: {e.reason})") from None


class CharVocab:
    """Sorted set of characters <-> ids. ``encode(str) -> LongTensor (T,)``; ``decode(ids) -> str``."""

    def __init__(self, chars):
        self.chars = list(chars)
        if len(set(self.chars)) != len(self.chars) or not self.chars:
            raise ValueError("chars must be a non-empty list of distinct characters")
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, s: str) -> torch.Tensor:
        missing = sorted({c for c in s if c not in self.stoi})
        if missing:
            raise ValueError(f"text contains characters not in the vocabulary: {missing[:10]!r}")
        return torch.tensor([self.stoi[c] for c in s], dtype=torch.long)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def to_dict(self) -> dict:
        return {"chars": "".join(self.chars)}

    @classmethod
    def from_dict(cls, d: dict) -> CharVocab:
        return cls(list(d["chars"]))


@dataclass
class CharCorpus:
    """A text split into train (first 90%) and val (last 10%) id tensors, as nanoGPT's shakespeare_char."""

    vocab: CharVocab
    train: torch.Tensor
    val: torch.Tensor
    source: str = ""

    @classmethod
    def from_text(cls, text: str, context: int, val_fraction: float = 0.1, source: str = "") -> CharCorpus:
        if not 0 < val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
        vocab = CharVocab.from_text(text)
        ids = vocab.encode(text)
        n = int(len(ids) * (1 - val_fraction))
        train, val = ids[:n], ids[n:]
        if min(len(train), len(val)) < context + 1:
            raise ValueError(f"data {source or 'text'!r} is too short: {len(text)} characters give "
                             f"{len(train)} train / {len(val)} val tokens, "
                             f"need more than context={context} each")
        return cls(vocab, train, val, source)

    @classmethod
    def from_file(cls, path: str | Path, context: int, val_fraction: float = 0.1) -> CharCorpus:
        return cls.from_text(read_text_file(path), context, val_fraction, source=str(path))


def sample_batch(data: torch.Tensor, batch_size: int, context: int, generator: torch.Generator | None = None,
                 rows: slice | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows: x (B, context) and targets y = x shifted by one.

    ``rows`` selects a slice of the sampled global batch (data-parallel ranks draw the same offsets from the
    same generator and keep their own rows, so N ranks see exactly the single-process batch).
    """
    starts = torch.randint(0, len(data) - context, (batch_size,), generator=generator)
    if rows is not None:
        starts = starts[rows]
    idx = starts[:, None] + torch.arange(context + 1)
    chunk = data[idx]
    return chunk[:, :-1], chunk[:, 1:]
