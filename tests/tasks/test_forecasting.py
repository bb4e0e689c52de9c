import pytest
import torch

from minrnn.tasks import forecasting
from minrnn.tasks.forecasting_data import load_raw, load_splits, n_windows, split_borders, windows


def test_borders():
    assert split_borders("ETTh1", 17420, 96) == [(0, 8640), (8544, 11520), (11424, 14400)]
    assert split_borders("ETTm2", 69680, 96) == [(0, 34560), (34464, 46080), (45984, 57600)]
    n = 7588
    assert split_borders("exchange", n, 96) == [(0, 5311), (5215, 6071), (5975, 7588)]


def test_real_splits(data_dir):
    s = load_splits("ETTh1", 96, data_dir)
    assert s.train.shape == (8640, 7) and s.val.shape == (2976, 7) and s.test.shape == (2976, 7)
    assert abs(float(s.train.mean())) < 1e-4 and n_windows(len(s.test), 96, 96) == 2785
    assert load_raw("weather", data_dir).shape == (52696, 21)
    assert load_raw("exchange", data_dir).shape == (7588, 8)
    with pytest.raises(ValueError, match="name"):
        load_raw("traffic", data_dir)


def test_windows_and_model_shape():
    arr = torch.arange(40, dtype=torch.float32).view(20, 2).numpy()
    x, y = windows(arr, torch.tensor([0, 3]), 5, 2)
    assert x.shape == (2, 5, 2) and y.shape == (2, 2, 2) and y[1, 0, 0].item() == 16.0
    enc = forecasting.EncoderConfig(kind="transformer", d_model=8, nhead=2, dim_feedforward=16, layers=1)
    m = forecasting.Forecaster(3, 7, enc)
    assert m(torch.randn(4, 10, 3)).shape == (4, 7, 3)


def test_two_step_training_smoke(data_dir):
    r = forecasting.run({"dataset": "exchange", "pred_len": 24, "seq_len": 48, "data_dir": str(data_dir),
                         "encoder": {"kind": "aaren", "d_model": 8, "nhead": 2, "dim_feedforward": 16,
                                     "layers": 1},
                         "fit": {"epochs": 1, "batch_size": 16, "max_steps": 2}, "eval_stride": 50,
                         "val_stride": 50})
    assert r["test_mse"] > 0 and r["test_mae"] > 0 and r["epochs_run"] == 1


def test_bad_config():
    with pytest.raises(ValueError, match="dataset"):
        forecasting.ForecastingConfig(dataset="ili")
