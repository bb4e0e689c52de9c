import json

import pytest

from minrnn.tasks.chomsky import train as chomsky


def test_preset_cli_runs_the_task_and_writes_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = chomsky.main(["--task", "even_pairs", "--mixer", "mingru", "--d-model", "8", "--n-layers", "1",
                       "--steps", "1", "--batch-size", "4", "--out", str(out)])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary) == {"accuracy", "normalized", "normalized_beyond_train", "in_distribution_accuracy",
                            "wall_time_s"}
    full = json.loads(out.read_text())
    assert full["config"]["task"] == "even_pairs" and full["config"]["d_model"] == 8


def test_preset_cli_rejects_unknown_choice():
    with pytest.raises(SystemExit) as e:
        chomsky.main(["--task", "nope"])
    assert e.value.code == 2
