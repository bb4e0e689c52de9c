"""minrnn.data.locate: one message for a missing data folder or dataset, whichever loader asks."""

from __future__ import annotations

import pytest

from minrnn.data.locate import data_path, data_root
from minrnn.data.uea import load_uea
from minrnn.tasks.forecasting_data import load_raw
from minrnn.tasks.rl.data import load_npz
from minrnn.tasks.tpp.data import load_tpp


def test_no_data_folder_names_both_ways_to_give_one(monkeypatch):
    monkeypatch.delenv("MINRNN_DATA_DIR", raising=False)
    with pytest.raises(ValueError, match="no data folder: pass --data-dir .* or set MINRNN_DATA_DIR"):
        data_root()
    assert data_root("/x") .as_posix() == "/x"
    monkeypatch.setenv("MINRNN_DATA_DIR", "/from/env")
    assert data_root().as_posix() == "/from/env"


@pytest.mark.parametrize("load, what", [
    (lambda d: load_uea("BasicMotions", d), "UEA dataset 'BasicMotions' not found"),
    (lambda d: load_raw("ETTh1", d), "forecasting dataset 'ETTh1' not found"),
    (lambda d: load_raw("exchange", d), "forecasting dataset 'exchange' not found"),
    (lambda d: load_tpp("taxi", d), "TPP dataset 'taxi' not found"),
    (lambda d: load_npz("hopper", "medium", d), "offline-RL dataset hopper-medium not found"),
])
def test_a_missing_dataset_says_what_where_and_how(tmp_path, load, what):
    with pytest.raises(FileNotFoundError, match=what) as e:
        load(str(tmp_path))
    assert str(tmp_path) in str(e.value) and "comes from data_dir" in str(e.value)


def test_missing_file_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MINRNN_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="comes from MINRNN_DATA_DIR"):
        data_path("tpp/x.npz", "thing")
    (tmp_path / "tpp").mkdir()
    (tmp_path / "tpp" / "x.npz").write_bytes(b"")
    assert data_path("tpp/x.npz", "thing") == tmp_path / "tpp" / "x.npz"
    with pytest.raises(FileNotFoundError, match="no dir"):
        data_path("tpp/x.npz", "thing", kind="dir")
    with pytest.raises(ValueError, match="kind must be"):
        data_path("tpp", "thing", kind="folder")
    with pytest.raises(ValueError, match="name must be the name of a UEA dataset folder"):
        load_uea("../etc", str(tmp_path))
