"""The built book (`_build/html`) in a real browser, at desktop and phone width.

Runs after the strict build (`make browser`, part of `make test`). Chromium is Debian's package;
when it is missing and we are root, this installs it with apt-get (never a browser download).
Every page of the build is checked, so new chapters and pages are covered without changes here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import inspect_book  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
GZIP_LIMIT = 1.5 * 1024 * 1024  # bytes a page and everything it loads weigh, gzip-compressed


def _install_chromium() -> str | None:
    """Install Debian's chromium when it is missing and apt-get can run; return its path."""
    found = inspect_book.find_chromium()
    if found or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print("\n[browser test] chromium is missing: apt-get install chromium", flush=True)
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], flush=True)
            return None
    return inspect_book.find_chromium()


@pytest.fixture(scope="module")
def report() -> dict:
    if not (HTML / "intro.html").exists():
        pytest.fail(f"no built book at {HTML}: run `make book` first")
    if _install_chromium() is None:
        message = ("SKIPPED THE BROWSER TEST: Debian's chromium is not installed and could not be "
                   "installed (apt-get install chromium)")
        print("\n" + "!" * len(message) + "\n" + message + "\n" + "!" * len(message), flush=True)
        pytest.skip(message)
    result = inspect_book.inspect(HTML, screenshots=HTML.parent / "screenshots")
    (HTML.parent / "browser-report.json").write_text(json.dumps(result, indent=1))
    print("\n" + inspect_book.table(result), flush=True)
    return result


def _failures(report: dict, check) -> list[str]:
    return [f"{r['page']} @ {r['width']}: {problem}" for r in report["pages"] for problem in check(r)]


def test_every_page_was_opened_at_both_widths(report):
    pages = {r["page"] for r in report["pages"]}
    assert "intro.html" in pages and any(p.startswith("chapters/") for p in pages)
    assert len(report["pages"]) == 2 * len(pages)


def test_no_console_or_script_errors(report):
    assert _failures(report, lambda r: r["errors"]) == []


def test_no_request_leaves_the_machine_and_none_fails(report):
    assert _failures(report, lambda r: r["foreign_requests"] + r["failed_requests"]) == []


def test_formulas_are_typeset(report):
    assert _failures(report, lambda r: [f"{r['raw_math']} formulas left as LaTeX"] if r["raw_math"] else []) == []
    assert sum(r["math"] for r in report["pages"]) > 0


def test_images_load_with_meaningful_alt_text_and_fit_the_column(report):
    assert _failures(report, lambda r: [f"not loaded: {s}" for s in r["images_not_loaded"]]) == []
    assert _failures(report, lambda r: [f"alt text: {s}" for s in r["images_bad_alt"]]) == []
    assert _failures(report, lambda r: [f"wider than column: {s}" for s in r["images_wider_than_column"]]) == []


def test_internal_links_and_anchors_resolve(report):
    assert _failures(report, lambda r: [f"broken link {h}" for h in r.get("broken_links", [])]) == []


def test_sidebar_toggles_open_and_close(report):
    def check(r):
        problems = []
        primary = r["primary_toggle"]
        for name in ("primary_toggle", "secondary_toggle"):
            if r[name].get("error"):
                problems.append(f"{name} could not be clicked: {r[name]['error']}")
        if not primary.get("button"):
            problems.append("no visible chapter-list toggle")
        elif primary["after"] == primary["before"]:
            problems.append("chapter-list toggle does nothing")
        if r["width"] == "phone" and primary.get("button") and not primary["after"]:
            problems.append("chapter list does not open on a phone")
        secondary = r["secondary_toggle"]
        if secondary.get("button") and secondary["after"] == secondary["before"]:
            problems.append("contents toggle does nothing")
        return problems

    assert _failures(report, check) == []
    # on a phone, every chapter's contents can be opened
    phone_chapters = [r for r in report["pages"] if r["width"] == "phone" and r["page"].startswith("chapters/")]
    assert phone_chapters and all(r["secondary_toggle"].get("button") for r in phone_chapters)


def test_search_finds_a_chapter(report):
    hits = report["search"]["hits"]
    assert any("chapters/" in h for h in hits), report["search"]


def test_every_answer_dropdown_opens(report):
    assert _failures(report, lambda r: [f"{r['dropdowns']['failed']} dropdowns stay shut"]
                     if r["dropdowns"]["failed"] else []) == []
    assert sum(r["dropdowns"]["opened"] for r in report["pages"]) > 0


def test_no_code_block_or_table_scrolls_sideways_on_a_desktop(report):
    desktop = [r for r in report["pages"] if r["width"] == "desktop"]
    problems = [f"{r['page']}: {o['tag']} {o['scroll']}px in {o['width']}px: {o['longest']!r}"
                for r in desktop for o in r["overflowing"]]
    assert problems == []


def test_no_page_scrolls_sideways_at_either_width(report):
    assert _failures(report, lambda r: ["page wider than the screen"] if r["page_scrolls_sideways"] else []) == []


def test_page_weight_under_the_limit(report):
    assert _failures(report, lambda r: [f"{r['gzip_bytes'] / 1024:.0f} KB gzip ({r['raw_bytes'] / 1024:.0f} KB raw)"]
                     if r["gzip_bytes"] > GZIP_LIMIT else []) == []


def test_no_serious_or_critical_accessibility_violation(report):
    assert _failures(report, lambda r: [f"axe {v['impact']} {v['id']}: {v['help']} {v['target']}"
                                        for v in r["axe"]]) == []


def test_screenshots_saved(report):
    assert len(report["screenshots"]) == 2
    assert all(Path(p).stat().st_size > 10_000 for p in report["screenshots"])
