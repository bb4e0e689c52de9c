import json

from minrnn.reproduce import aaren_report
from minrnn.reproduce.aaren_paper import main


def _run(kind, seed, **kw):
    return {"kind": kind, "seed": seed, **kw}


def test_report_from_json(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    base = {"scale": "cpu", "seeds": [0, 1], "complete": True, "wall_seconds": 60, "started_utc": "x",
            "encoder": {"d_model": 8}, "machine": {"platform": "p", "cpu_count": 2, "torch": "t",
                                                   "note": "n"},
            "reductions": ["fewer seeds"]}
    runs = [_run(k, s, dataset="BasicMotions", test_accuracy=acc)
            for k, accs in (("aaren", (0.9, 0.8)), ("transformer", (0.85, 0.85)))
            for s, acc in enumerate(accs)]
    (data / "aaren_classification.json").write_text(json.dumps(base | {"setting": "classification",
                                                                       "runs": runs}))
    fruns = [_run(k, 0, dataset="ETTh1", pred_len=96, test_mse=m, test_mae=m)
             for k, m in (("aaren", 0.5), ("transformer", 0.7))]
    (data / "aaren_forecasting.json").write_text(json.dumps(base | {"setting": "forecasting", "runs": fruns}))
    text = aaren_report.write_report(data, tmp_path / "r.md")
    assert "| BasicMotions | 0.8500 ± 0.0707 | 0.8500 ± 0.0000 | on par | 2/2 |" in text
    assert "| ETTh1 | 96 | 0.5000 | 0.7000 |" in text and "Aaren better" in text
    assert "not run" in text  # tpp, rl, streaming missing
    assert (data / "aaren_vs_transformer.png").exists()


def test_verdict():
    assert aaren_report.verdict((1.0, 0.1, 2), (1.05, 0.1, 2), False) == "on par"
    assert aaren_report.verdict((0.5, 0.0, 2), (0.9, 0.0, 2), True) == "Transformer better"
    assert aaren_report.verdict((0.9, 0.0, 2), (0.5, 0.0, 2), True) == "Aaren better"  # symmetric
    nan = float("nan")  # a NaN compares False everywhere: never a winner
    assert aaren_report.verdict((nan, 0.0, 1), (5.0, 0.0, 1), False) == "–"
    assert aaren_report.verdict((10.0, nan, 2), (5.0, 0.0, 2), True) == "–"


def test_cli_params_only(tmp_path):
    rc = main(["--only", "params", "--out-dir", str(tmp_path / "d"), "--report", str(tmp_path / "r.md")])
    assert rc == 0
    doc = json.loads((tmp_path / "d" / "aaren_params.json").read_text())
    big = {r["kind"]: r["parameters"] for r in doc["runs"] if r["d_model"] == 512}
    assert big == {"aaren": 3_152_896, "transformer": 3_152_384}
    assert "3,152,896" in (tmp_path / "r.md").read_text()


def test_rl_section_reads_minrnn_format():
    doc = {"scale": "cpu", "score": "normalized", "datasets": {
        "hopper-medium": {"aaren": {"mean": 50.0, "std": 2.0, "seeds": [0, 1]},
                          "transformer": {"mean": 51.0, "std": 1.0, "seeds": [0, 1]},
                          "mingru": {"mean": 60.0, "std": 1.0, "seeds": [0, 1]}}}}
    lines, pairs = aaren_report.rl_section(doc)
    assert "| hopper-medium | 50.0 ± 2.0 | 51.0 ± 1.0 | [0, 1] | on par |" in lines
    assert pairs[0][4] == "on par"
    lines, pairs = aaren_report.rl_section(None)
    assert "not run" in lines[2] and pairs == []


def test_recorder_resume(tmp_path):
    from minrnn.reproduce.aaren_paper import Recorder
    path = tmp_path / "aaren_x.json"
    rec = Recorder(path, "x", "cpu", {})
    rec.add({"kind": "aaren", "config": {"dataset": "A", "seed": 0, "encoder": {"kind": "aaren"}, "x": 1}})
    again = Recorder(path, "x", "cpu", {}, seeds=[0, 1, 2], resume=True)
    assert again.done({"dataset": "A", "seed": 0, "encoder": {"kind": "aaren"}})
    assert not again.done({"dataset": "A", "seed": 1, "encoder": {"kind": "aaren"}})
    assert again.doc["seeds"] == [0, 1, 2] and len(again.doc["runs"]) == 1
    assert not Recorder(path, "x", "cpu", {}).doc["runs"]


def test_recorder_resume_matches_missing_default(tmp_path):
    from minrnn.reproduce.aaren_paper import Recorder
    path = tmp_path / "aaren_y.json"
    rec = Recorder(path, "y", "cpu", {})
    rec.add({"kind": "aaren", "config": {"dataset": "A", "seed": 0}})
    again = Recorder(path, "y", "cpu", {}, resume=True)
    assert again.done({"dataset": "A", "seed": 0, "device": "cpu"})
    assert not again.done({"dataset": "A", "seed": 0, "device": "cuda"})


def test_recorder_resume_ignores_where_the_data_was_found(tmp_path):
    from minrnn.reproduce.aaren_paper import Recorder
    path = tmp_path / "aaren_z.json"
    Recorder(path, "z", "cpu", {}).add({"kind": "aaren", "config": {"dataset": "A", "seed": 0, "data_dir": None}})
    again = Recorder(path, "z", "cpu", {}, resume=True)
    assert again.done({"dataset": "A", "seed": 0, "data_dir": "/somewhere/data"})
    assert not again.done({"dataset": "A", "seed": 1, "data_dir": "/somewhere/data"})


def test_recorder_rerun_on_another_device_replaces_the_run_of_that_seed(tmp_path):
    """One run per (config, seed): a `--resume --device cuda` rerun replaces the cpu run instead of being
    averaged with it as if it were another seed."""
    from minrnn.reproduce.aaren_paper import Recorder
    path = tmp_path / "aaren_d.json"
    rec = Recorder(path, "d", "cpu", {})
    for seed in (0, 1):
        rec.add({"kind": "aaren", "mse": 0.4, "config": {"dataset": "A", "seed": seed, "device": "cpu"}})
    again = Recorder(path, "d", "cpu", {}, resume=True)
    assert not again.done({"dataset": "A", "seed": 0, "device": "cuda"})
    again.add({"kind": "aaren", "mse": 0.6, "config": {"dataset": "A", "seed": 0, "device": "cuda"}})
    runs = json.loads(path.read_text())["runs"]
    assert [(r["config"]["seed"], r["config"]["device"], r["mse"]) for r in runs] == [(1, "cpu", 0.4),
                                                                                       (0, "cuda", 0.6)]
