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
