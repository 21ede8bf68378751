"""The committed chapters: listed in the table of contents, run top to bottom, headed properly, recorded."""

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [entry["file"] for entry in toc["chapters"]]


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    notebooks = [f for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]
    assert [f"chapters/{p.stem}" for p in CHAPTERS] == notebooks
    assert [f for f in toc_files() if f not in notebooks and not (ROOT / f"{f}.md").is_file()] == []


CODE_LINE_LIMIT = 88  # what fits a desktop column without scrolling sideways


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_column(path):
    long = [line for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines() if len(line) > CODE_LINE_LIMIT]
    assert long == [], f"{len(long)} code lines longer than {CODE_LINE_LIMIT} characters"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_nbval_markers_are_cell_tags_not_visible_comments(path):
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    assert [c["source"][0] for c in cells if "NBVAL_" in "".join(c["source"])] == []
    known = {"nbval-check-output", "nbval-ignore-output", "nbval-skip", "raises-exception",
             "remove-input", "remove-output", "remove-cell", "hide-input", "hide-output", "hide-cell"}
    assert {t for c in cells for t in c.get("metadata", {}).get("tags", [])} <= known


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_plot_says_what_it_shows(path):
    """A plot's alt text (cell metadata mystnb.image.alt) is a sentence, not a file name."""
    for cell in json.loads(path.read_text())["cells"]:
        if any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt.split()) >= 8, f"plot without alt text: {''.join(cell['source'])[:80]!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ran_top_to_bottom_without_errors(path):
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), "run the notebook once, top to bottom, in a fresh kernel"
    assert not [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_headings_start_with_one_title_and_never_skip_a_level(path):
    levels = []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            source = re.sub(r"```.*?```", "", "".join(cell["source"]), flags=re.S)
            levels += [len(m) for m in re.findall(r"^(#{1,6}) ", source, flags=re.M)]
    assert levels[0] == 1 and levels.count(1) == 1, f"one '# Title', first; got levels {levels}"
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), f"a heading level is skipped: {levels}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_saved_full_run_results_and_ends_with_exercises(path):
    record = json.loads((ROOT / "results" / f"{path.stem}.json").read_text())
    assert record["run"]["mode"] == "full"
    assert set(record["run"]) >= {"device", "torch", "wall_seconds", "date"} and record["metrics"]
    markdown = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
    assert "## Summary" in markdown and "## Exercises" in markdown and ":class: dropdown" in markdown
