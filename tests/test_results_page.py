"""The results page is generated from results/*.json, never typed, and never stale."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("results_page", ROOT / "tools" / "results_page.py")
results_page = importlib.util.module_from_spec(spec)
spec.loader.exec_module(results_page)


def test_committed_page_equals_what_the_results_files_give():
    committed = (ROOT / "chapters" / "results.md").read_text()
    assert committed == results_page.render(), "chapters/results.md is stale: run `make results`"


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
        {"chapter": "08_clothing_ratings", "compare": "lstm.test_accuracy", "kind": "seed",
         "what": "the seed's accuracy", "value": 0.59, "source": "seed_lstm_explained", "where": "last cell"},
        {"chapter": "09_future", "kind": "anchor", "what": "a paper's accuracy", "value": 0.7,
         "source": "zhang2015agnews", "where": "Table 4"},
    ]))
    monkeypatch.setattr(results_page, "RESULTS", tmp_path)
    page = results_page.render()
    assert "| `lstm.test_rmse` | 0.8123 |" in page and "| `epochs` | 10 |" in page
    assert "| lstm.test_accuracy (`lstm.test_accuracy`) | 0.612 |" in page  # generic headline
    assert "not recorded" in page  # threads, seed, commit, load average
    assert "| the seed's accuracy (seed tutorial) | 0.59 | 0.612 | {cite}`seed_lstm_explained`: last cell |" in page
    assert "## Numbers waiting for their chapter's run" in page and "`09_future`" in page


@pytest.mark.parametrize("value, shown", [(2592105, "2,592,105"), (0.85468, "0.8547"),
                                          (1.49e-08, "1.49e-08"), (1450.73, "1451"), (12345.6, "12,346")])
def test_numbers_are_formatted_for_reading(value, shown):
    assert results_page.fmt(value) == shown


def test_a_reference_without_its_source_is_refused(monkeypatch, tmp_path):
    (tmp_path / "references.yaml").write_text(yaml.safe_dump([{"chapter": "x", "kind": "seed", "value": 1}]))
    monkeypatch.setattr(results_page, "RESULTS", tmp_path)
    with pytest.raises(ValueError, match="lacks"):
        results_page.load_references()


@pytest.mark.parametrize(
    "commit, shown",
    [("abc123", "`abc123`"), ("abc123+changes", "`abc123` + changes"), (None, "not recorded")],
)
def test_a_run_from_uncommitted_changes_says_so_outside_the_code_span(commit, shown):
    assert results_page.fmt_commit(commit) == shown
