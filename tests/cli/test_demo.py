import pytest

from minrnn.cli import main


@pytest.mark.slow  # two full-size demo models (~30 s on a busy 2-core CPU)
def test_demo_runs_and_records(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("Now is the winter of our discontent made glorious summer.\n" * 60, encoding="utf-8")
    res = tmp_path / "demo.md"
    assert main(["demo", "--data", str(text), "--steps", "2", "--threads", "1",
                 "--out", str(tmp_path / "runs"),
                 "--results", str(res), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "mingru" in out and "transformer" in out and "sample" in out
    md = res.read_text()
    assert "| mingru |" in md and "| transformer |" in md and "Command: `" in md and "minrnn demo" in md


def test_demo_refuses_a_reused_out_before_training(tmp_path):
    """A second demo into the same --out would fail only after the first model trained: refused up front."""
    from minrnn import demo
    from minrnn.train.checkpoint import WEIGHTS

    (tmp_path / "transformer" / "checkpoint").mkdir(parents=True)
    (tmp_path / "transformer" / "checkpoint" / WEIGHTS).write_bytes(b"")
    with pytest.raises(ValueError, match="already holds demo runs of transformer"):
        demo.main(["--steps", "3", "--out", str(tmp_path)])
