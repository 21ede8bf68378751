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


#: Pages of the book that are not chapters (no notebook, no results file).
PAGES = ["for_teachers"]


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    assert [f"chapters/{p.stem}" for p in CHAPTERS] + PAGES == toc_files()
    assert all((ROOT / f"{page}.md").is_file() for page in PAGES)


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
