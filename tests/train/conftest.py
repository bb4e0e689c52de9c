import pytest


@pytest.fixture
def text_file(tmp_path):
    p = tmp_path / "text.txt"
    p.write_text("The quick brown fox jumps over the lazy dog; then it naps.\n" * 40, encoding="utf-8")
    return p


@pytest.fixture
def tiny():
    """CLI flags for a very small, fast lm run."""
    return list(TINY)


TINY = ["--d-model", "16", "--n-layers", "1", "--context", "16", "--batch-size", "4", "--eval-batches", "2",
        "--no-progress"]
