"""The results page is generated from results/*.json, never typed, and never stale."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("results_page", ROOT / "tools" / "results_page.py")
results_page = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = results_page  # dataclasses look their module up there
spec.loader.exec_module(results_page)


def test_committed_page_equals_what_the_results_files_give():
    committed = (ROOT / "chapters" / "results.md").read_text()
    assert committed == results_page.render(), "chapters/results.md is stale: run `make results`"


def test_committed_figures_equal_what_the_results_files_give():
    drawn = results_page.figures()
    committed = {p.name for p in results_page.FIGURES.glob("*.svg")}
    assert committed == set(drawn), "chapters/results_figures is stale: run `make results`"
    for name, svg in drawn.items():
        assert (results_page.FIGURES / name).read_bytes() == svg, f"{name} is stale: run `make results`"


def test_figures_are_the_same_bytes_on_every_run():
    assert results_page.figures() == results_page.figures()


def test_page_leads_with_one_figure_per_data_set_whose_alt_text_states_its_numbers():
    page = results_page.render()
    first_run_section = page.index("## How and when each chapter ran")
    records, references = results_page.load_results(), results_page.load_references()
    docs = results_page.toc_docs()
    shown = list(results_page.dataset_panels(records, references, docs))
    assert {dataset.slug for dataset, _ in shown} == {"imdb", "ag_news", "star_ratings", "tweets"}
    for dataset, panels in shown:
        figure = f"```{{figure}} results_figures/{dataset.slug}.svg\n:alt: "
        assert -1 < page.index(figure) < first_run_section
        alt = page[page.index(figure) + len(figure):].split("\n", 1)[0]
        assert "/" not in alt, f"the browser test reads a '/' in alt text as a path: {alt}"
        for panel, rows in panels:
            for bar in rows:
                assert results_page.shown_value(bar.value, panel.measure) in alt
    roles = {bar.role for _, panels in shown for _, rows in panels for bar in rows}
    assert {"tutorial", "rebuild", "best", "linear", "published"} <= roles


def test_page_speaks_the_readers_words():
    page = results_page.render()
    prose = re.sub(r"`[^`]*`", "", page)  # metric keys and citation keys are code
    assert "../shared" not in page and "seeds/" not in page
    assert not re.search(r"\bseed (tutorial|model|notebook)|\(seed|the seed\b", prose, re.IGNORECASE)


def test_page_is_in_the_table_of_contents():
    assert "chapters/results" in results_page.toc_docs()


def test_every_saved_number_and_run_appears(tmp_path):
    page = results_page.render()
    for path in sorted((ROOT / "results").glob("*.json")):
        record = json.loads(path.read_text())
        for key, value in record["metrics"].items():
            assert f"| `{key}` | {results_page.fmt(value)} |" in page
        assert record["run"]["torch"] in page


def test_unknown_chapter_and_missing_run_fields_are_shown(monkeypatch, tmp_path):
    (tmp_path / "08_clothing_ratings.json").write_text(json.dumps({
        "run": {"mode": "full", "device": "cpu", "torch": "2.13.0+cpu", "wall_seconds": 300.0,
                "date": "2026-12-01"},
        "metrics": {"lstm.test_rmse": 0.8123, "lstm.test_accuracy": 0.612, "epochs": 10},
    }))
    (tmp_path / "references.yaml").write_text(yaml.safe_dump([
        {"chapter": "08_clothing_ratings", "compare": "lstm.test_accuracy", "kind": "tutorial",
         "what": "the tutorial's accuracy", "value": 0.59, "source": "lstm_explained_notebook", "where": "last cell"},
        {"chapter": "09_future", "kind": "published", "what": "a paper's accuracy", "value": 0.7,
         "source": "zhang2015agnews", "where": "Table 4"},
    ]))
    monkeypatch.setattr(results_page, "RESULTS", tmp_path)
    page = results_page.render()
    assert "| `lstm.test_rmse` | 0.8123 |" in page and "| `epochs` | 10 |" in page
    assert "| lstm.test_accuracy (`lstm.test_accuracy`) | 0.612 |" in page  # generic headline
    assert "not recorded" in page  # threads, seed, commit, load average
    assert "| the tutorial's accuracy (tutorial) | 0.59 | 0.612 | {cite}`lstm_explained_notebook`: last cell |" in page
    assert "## Numbers waiting for their chapter's run" in page and "`09_future`" in page
    assert "{figure}" not in page  # no data set of the book's has numbers here
    assert "## Numbers waiting for their chapter's run" in page and "`09_future`" in page


@pytest.mark.parametrize("value, shown", [(2592105, "2,592,105"), (0.85468, "0.8547"),
                                          (1.49e-08, "1.49e-08"), (1450.73, "1451"), (12345.6, "12,346")])
def test_numbers_are_formatted_for_reading(value, shown):
    assert results_page.fmt(value) == shown


def test_a_reference_without_its_source_is_refused(monkeypatch, tmp_path):
    (tmp_path / "references.yaml").write_text(yaml.safe_dump([{"chapter": "x", "kind": "tutorial", "value": 1}]))
    monkeypatch.setattr(results_page, "RESULTS", tmp_path)
    with pytest.raises(ValueError, match="lacks"):
        results_page.load_references()


def test_a_reference_of_an_unknown_kind_is_refused(monkeypatch, tmp_path):
    (tmp_path / "references.yaml").write_text(yaml.safe_dump([
        {"chapter": "x", "kind": "seed", "what": "w", "value": 1, "source": "s", "where": "w"}]))
    monkeypatch.setattr(results_page, "RESULTS", tmp_path)
    with pytest.raises(ValueError, match="kind 'seed'"):
        results_page.load_references()


def test_a_tutorial_number_sits_beside_the_metric_it_names(monkeypatch, tmp_path):
    (tmp_path / "07_ag_news_lstms.json").write_text(json.dumps({
        "run": {"torch": "2.13.0+cpu"},
        "metrics": {"lstm_25.test_accuracy": 0.7, "train_examples": 1000, "test_examples": 200}}))
    (tmp_path / "references.yaml").write_text(yaml.safe_dump([
        {"chapter": "07_ag_news_lstms", "compare": "lstm_25.test_accuracy", "kind": "tutorial",
         "short": "Approach one", "what": "w", "value": 0.88, "source": "solanki2022lstm", "where": "w",
         "trained_on": 120000}]))
    monkeypatch.setattr(results_page, "RESULTS", tmp_path)
    page = results_page.render()
    assert ("| Approach one | tutorial | test | 120,000 texts | 88.00 % | {cite}`solanki2022lstm` |\n"
            "| Approach one | rebuilt here | test, 200 texts | 1,000 texts | 70.00 % |") in page
    assert page.count("```{figure}") == 1


@pytest.mark.parametrize(
    "commit, shown",
    [("abc123", "`abc123`"), ("abc123+changes", "`abc123` + changes"), (None, "not recorded")],
)
def test_a_run_from_uncommitted_changes_says_so_outside_the_code_span(commit, shown):
    assert results_page.fmt_commit(commit) == shown


def test_each_panel_says_in_words_how_the_best_sequence_model_fared_against_the_linear_one():
    page = results_page.render()
    records, references = results_page.load_results(), results_page.load_references()
    said = 0
    for _, panels in results_page.dataset_panels(records, references, results_page.toc_docs()):
        for panel, rows in panels:
            for best in (b for b in rows if b.role == "best"):
                (linear,) = [b for b in rows if b.role == "linear" and b.split == best.split]
                gap = best.value - linear.value
                if panel.measure == "accuracy":
                    word = "ties with" if abs(gap) < 0.01 else "is ahead of" if gap > 0 else "is behind"
                else:
                    word = "is ahead of" if gap < 0 else "is behind"
                sentence = (f"On {best.split}, the best sequence model {word} the linear baseline: "
                            f"{results_page.shown_value(best.value, panel.measure)} against "
                            f"{results_page.shown_value(linear.value, panel.measure)}")
                assert sentence in page
                said += 1
    assert said >= 5  # IMDb, AG News, both star measures, both tweet splits
