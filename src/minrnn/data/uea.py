"""Parser for the sktime/aeon ``.ts`` format used by the UEA multivariate classification archive.

Layout: ``#`` comment lines, ``@key value`` header lines ending at ``@data``, then one case per line:
dimensions separated by ``:`` (each a comma-separated series, ``?`` for missing), the class label last.
Series may have different lengths (``@equalLength false``, e.g. JapaneseVowels).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minrnn.data.locate import data_path, data_root

UEA_DATASETS = ("JapaneseVowels", "BasicMotions", "Handwriting", "UWaveGestureLibrary")


@dataclass
class TSData:
    """series: list of (length_i, dims) float32 arrays; labels: (n,) int64 in [0, n_classes); classes."""

    series: list
    labels: np.ndarray
    classes: list
    header: dict

    @property
    def dims(self) -> int:
        return self.series[0].shape[1]

    @property
    def lengths(self) -> np.ndarray:
        return np.array([s.shape[0] for s in self.series], dtype=np.int64)


def _values(text: str, path: Path, lineno: int, dim: int) -> np.ndarray:
    """One dimension of a case: comma-separated numbers, ``?`` for a missing value (NaN)."""
    out = []
    for v in text.split(","):
        v = v.strip()
        try:
            out.append(float("nan") if v == "?" else float(v))
        except ValueError:
            raise ValueError(f"{path}:{lineno}: dimension {dim}: bad value {v!r} (expected a number or ?)") from None
    return np.array(out, dtype=np.float32)


def parse_ts(path, classes: list | None = None) -> TSData:
    """Parse one ``.ts`` file. ``classes`` fixes the label order (pass the train file's for the test file)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be an existing .ts file, got {str(path)!r}")
    header, series, raw_labels, in_data = {}, [], [], False
    with open(path, encoding="utf-8-sig", errors="replace") as f:  # -sig: a BOM would hide the first header
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if line.lower().startswith("@data"):
                    in_data = True
                elif line.startswith("@"):
                    key, _, value = line[1:].partition(" ")
                    header[key.lower()] = value.strip()
                continue
            if header.get("timestamps", "false").lower() == "true":
                raise ValueError(f"{path}: '@timeStamps true' (values as (time, value) pairs) is not supported")
            *dims, label = line.split(":")
            if not dims:
                raise ValueError(f"{path}:{lineno}: expected dims separated by ':' then a label")
            cols = [_values(d, path, lineno, j) for j, d in enumerate(dims)]
            if len({len(c) for c in cols}) > 1:
                raise ValueError(f"{path}:{lineno}: the dimensions of a case must have equal lengths, got "
                                 f"{[len(c) for c in cols]}")
            if series and len(cols) != series[0].shape[1]:
                raise ValueError(f"{path}:{lineno}: {len(cols)} dimensions, but the first case has "
                                 f"{series[0].shape[1]}")
            series.append(np.stack(cols, axis=1))
            raw_labels.append(label.strip())
    if not in_data or not series:
        raise ValueError(f"{path}: no @data section with cases")
    if classes is None:
        declared = header.get("classlabel", "").split()
        classes = declared[1:] if declared[:1] == ["true"] and len(declared) > 1 else sorted(set(raw_labels))
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(raw_labels) - set(index))
    if unknown:
        raise ValueError(f"{path}: labels {unknown[:5]} not among the classes {classes[:10]}")
    return TSData(series, np.array([index[x] for x in raw_labels], dtype=np.int64), list(classes), header)


def uea_dir(data_dir=None) -> Path:
    """``<data folder>/uea`` (see :mod:`minrnn.data.locate`)."""
    return data_root(data_dir) / "uea"


def load_uea(name: str, data_dir=None) -> tuple[TSData, TSData]:
    """(train, test) of UEA dataset ``name`` from ``<data_dir>/uea/<name>/<name>_{TRAIN,TEST}.ts``."""
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"name must be the name of a UEA dataset folder, got {name!r}")
    data_path(Path("uea") / name, f"UEA dataset {name!r}", data_dir, kind="dir")
    files = [data_path(Path("uea") / name / f"{name}_{split}.ts", f"UEA dataset {name!r}", data_dir)
             for split in ("TRAIN", "TEST")]
    train = parse_ts(files[0])
    return train, parse_ts(files[1], classes=train.classes)


def pad_batch(series: list, max_len: int | None = None, missing: float | None = 0.0
              ) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad a list of (L_i, C) arrays -> (x (n, L, C) float32, lengths (n,) int64). Missing values (NaN)
    become ``missing``, or stay NaN with ``missing=None`` (to be filled after normalising: a raw 0 is an
    outlier on most scales)."""
    C = series[0].shape[1]
    if any(s.ndim != 2 or s.shape[1] != C for s in series):
        raise ValueError(f"series must all be (L_i, C) arrays with C = {C}, got {[s.shape for s in series][:5]}")
    lengths = np.array([min(len(s), max_len or len(s)) for s in series], dtype=np.int64)
    L = int(lengths.max())
    x = np.zeros((len(series), L, C), dtype=np.float32)
    for i, s in enumerate(series):
        x[i, : lengths[i]] = s[: lengths[i]]
    return (x if missing is None else np.nan_to_num(x, nan=missing)), lengths
