from pathlib import Path

import pytest

from minrnn.reproduce.readme_summary import BEGIN, END, main, render, update

ROOT = Path(__file__).resolve().parents[2]


def test_readme_results_block_is_generated_from_the_results_files():
    assert main(["--root", str(ROOT), "--check"]) == 0


def test_update_replaces_only_the_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{BEGIN}\nold\n{END}\n\nafter\n")
    out = update(readme, "new table")
    assert out == f"# x\n\n{BEGIN}\nnew table\n{END}\n\nafter\n"
    readme.write_text(f"# x\n\n{BEGIN}\nold\n")
    with pytest.raises(ValueError, match="no .* after it"):
        update(readme, "new table")


def test_render_without_results(tmp_path):
    assert "No results files yet" in render(tmp_path)
