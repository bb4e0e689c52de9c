"""Where the named datasets live: ``data_dir`` if given, else ``$MINRNN_DATA_DIR`` (the shared data folder).

Every loader of a named dataset (UEA, ETT/Weather/Exchange, TPP, offline RL, tiny-shakespeare) goes through
:func:`data_root` and :func:`data_path`, so a missing folder or file always gives the same kind of message:
what was looked for, where, and how to point the code at the data.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "MINRNN_DATA_DIR"
HINT = f"pass --data-dir (data_dir=...) or set {ENV_VAR} to the folder holding the datasets"


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir``, else ``$MINRNN_DATA_DIR``; ValueError when neither is set."""
    root = data_dir if data_dir not in (None, "") else os.environ.get(ENV_VAR)
    if not root:
        raise ValueError(f"no data folder: {HINT}")
    return Path(root)


def data_path(relative: str | os.PathLike, what: str, data_dir: str | os.PathLike | None = None,
              kind: str = "file") -> Path:
    """``<root>/<relative>``, checked to exist as a ``kind`` ("file" or "dir"); FileNotFoundError naming
    ``what`` (e.g. "UEA dataset 'BasicMotions'"), the path and where the root came from otherwise."""
    if kind not in ("file", "dir"):
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    root = data_root(data_dir)
    path = root / relative
    if not (path.is_file() if kind == "file" else path.is_dir()):
        source = "data_dir" if data_dir not in (None, "") else ENV_VAR
        raise FileNotFoundError(f"{what} not found: no {kind} {path} (the data folder {root} comes from "
                                f"{source}; {HINT})")
    return path
