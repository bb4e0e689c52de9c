"""Writing files so that a reader never sees half of one, with the mode ``open()`` would give them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it (``os.umask`` can only be read by
    setting it, which another thread creating a file at that moment would see)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def new_file_mode() -> int:
    """0o666 less the umask: what ``open()`` would give a new file (mkstemp and safetensors give 0o600, so a
    file written by one user could not be read by another)."""
    return 0o666 & ~current_umask()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and a rename: ``path`` holds the old
    content or the new one, never a part (a leftover ``.<name>.*`` temporary file is never read)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, new_file_mode())
    os.replace(tmp, path)
