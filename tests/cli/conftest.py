import pytest

from minrnn.cli import main


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny trained lm run directory (shared by the tests of this module)."""
    d = tmp_path_factory.mktemp("cli")
    text = d / "text.txt"
    text.write_text("To be, or not to be, that is the question.\n" * 40, encoding="utf-8")
    out = d / "run"
    rc = main(["train", "lm", "--data", str(text), "--out", str(out), "--steps", "3", "--eval-every", "3",
               "--d-model", "16", "--n-layers", "1", "--context", "16", "--batch-size", "4",
               "--eval-batches", "1", "--no-progress"])
    assert rc == 0
    return out, text
