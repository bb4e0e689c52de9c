import numpy as np
import pytest
import torch

from minrnn.data.uea import load_uea, pad_batch, parse_ts
from minrnn.tasks import classification


def test_parse_ts_variable_length(tmp_path):
    p = tmp_path / "x.ts"
    p.write_text("# c\n@problemName X\n@classLabel true a b\n@data\n1,2,3:4,5,6:a\n1,?:2,3:b\n")
    d = parse_ts(p)
    assert d.classes == ["a", "b"] and d.labels.tolist() == [0, 1]
    assert d.series[0].shape == (3, 2) and d.series[1].shape == (2, 2)
    x, lengths = pad_batch(d.series)
    assert x.shape == (2, 3, 2) and lengths.tolist() == [3, 2] and not np.isnan(x).any()
    with pytest.raises(ValueError, match="path"):
        parse_ts(tmp_path / "missing.ts")


def test_uea_real_files(data_dir):
    tr, te = load_uea("JapaneseVowels", data_dir)
    assert (len(tr.series), len(te.series), tr.dims, len(tr.classes)) == (270, 370, 12, 9)
    assert tr.lengths.min() >= 7 and tr.lengths.max() <= 29
    tr, te = load_uea("BasicMotions", data_dir)
    assert (len(tr.series), len(te.series), tr.dims) == (40, 40, 6) and set(tr.lengths.tolist()) == {100}


@pytest.mark.parametrize("kind", ["aaren", "transformer"])
def test_model_uses_last_real_token(kind):
    torch.manual_seed(0)
    enc = classification.EncoderConfig(kind=kind, d_model=8, nhead=2, dim_feedforward=16, layers=1)
    m = classification.SequenceClassifier(3, 4, enc).eval()
    x = torch.randn(2, 6, 3)
    lengths = torch.tensor([4, 6])
    out = m(x, lengths)
    x2 = x.clone()
    x2[0, 4:] = 100.0  # padding of sequence 0 must not matter
    torch.testing.assert_close(m(x2, lengths), out)
    assert out.shape == (2, 4)


def test_two_step_training_smoke(data_dir):
    r = classification.run({"dataset": "BasicMotions", "data_dir": str(data_dir),
                            "encoder": {"kind": "aaren", "d_model": 8, "nhead": 2, "dim_feedforward": 16,
                                        "layers": 1},
                            "fit": {"epochs": 1, "batch_size": 8, "max_steps": 2}, "downsample": 4})
    assert 0.0 <= r["test_accuracy"] <= 1.0 and r["n_test"] == 40


def test_cli_writes_json(data_dir, tmp_path):
    out = tmp_path / "r.json"
    rc = classification.main(["--dataset", "BasicMotions", "--data-dir", str(data_dir), "--model",
                              "transformer",
                              "--d-model", "8", "--nhead", "2", "--dim-feedforward", "8", "--layers", "1",
                              "--epochs", "1", "--max-steps", "1", "--downsample", "5", "--out", str(out)])
    assert rc == 0 and '"kind": "transformer"' in out.read_text()


def test_ts_parser_checks_and_missing_values(tmp_path):
    """Missing values are the train mean after normalising (a raw 0 was an outlier); ragged dimensions,
    a case with another number of dimensions, bad values and time stamps are refused with file:line; a BOM
    does not hide the class order."""
    import numpy as np

    from minrnn.data.uea import parse_ts
    from minrnn.tasks.classification import _prepare

    p = tmp_path / "m.ts"
    p.write_text("@missing true\n@classLabel true a b\n@data\n100,101,?,99:a\n100,102,98,101:b\n")
    d = parse_ts(p)
    st = np.concatenate(d.series)
    x, _ = _prepare(d.series, None, np.nanmean(st, 0), np.nanstd(st, 0) + 1e-6, 1)
    assert x[0, 2, 0] == 0.0 and x.abs().max() < 3
    for body, match in (("1,2,3:6,7:a", "equal lengths"),
                        ("1,2:3,4:a\n1,2:a", "1 dimensions, but the first case has 2"),
                        ("1, x,3:a", "dimension 0: bad value 'x'")):
        p.write_text("@classLabel true a\n@data\n" + body + "\n")
        with pytest.raises(ValueError, match=match):
            parse_ts(p)
    p.write_text("@timeStamps true\n@classLabel true a\n@data\n(0,1),(1,2):a\n")
    with pytest.raises(ValueError, match="timeStamps true"):
        parse_ts(p)
    p.write_bytes("\ufeff@classLabel true b a\n@data\n1,2:b\n3,4:a\n".encode())
    assert parse_ts(p).classes == ["b", "a"]


def test_uea_folder_without_its_train_file_names_the_dataset(tmp_path):
    from minrnn.data.uea import load_uea

    (tmp_path / "uea" / "BasicMotions").mkdir(parents=True)
    (tmp_path / "uea" / "BasicMotions" / "BasicMotions_TEST.ts").write_text("@data\n1:a\n")
    with pytest.raises(FileNotFoundError, match="UEA dataset 'BasicMotions'"):
        load_uea("BasicMotions", tmp_path)
