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



# --- Every number the prose states is printed, recorded or quoted ------------------------------
# A decimal (0.712, 84.79) or an integer of three or more digits (128, 25,000) in a chapter's
# markdown must appear in the chapter's outputs, its results file or an entry of
# results/references.yaml filed under the chapter or citing a source the chapter cites.
# What the prose names that no cell prints (a hyper-parameter, a sum it works out) goes on the
# chapter's allowlist below with the reason, keyed by the digits without thousands separators; so
# does a tutorial's number the prose quotes that references.yaml does not hold ("quoted: ...").
# To list a chapter's unmatched numbers:
#   .venv/bin/python tests/test_chapters.py --missing-numbers [chapter stem ...]

ALLOWED: dict[str, dict[str, str]] = {
    "01_embeddings_and_lstm_shapes": {
        "256": "exercise 1's hidden size, restated in its answer",
        "500": "exercise 1's sequence length",
    },
    "02_lstm_from_scratch": {
        "0.25": "the sigmoid's largest slope; the squash table prints it as 0.2500",
        "0.3": "an example gate value (lets 30 % through)",
        "199": "arithmetic: 200 steps have 199 steps between them",
        "25000": "the lecture's vocabulary: the printed 25,002 less <unk> and <pad>",
        "0.95": "sigmoid(3): the forget gates of exercise 2's check (bias 3)",
    },
    "03_from_text_to_tensors": {
        "400000": "the size of GloVe 6B's vocabulary, a property of the published vectors",
        "2.3": "a version: the last PyTorch torchtext supports",
    },
    "04_rnn_baseline_imdb": {
        "0.697": "quoted: the lecture's printed validation loss, the same at all five epochs",
        "48.53": "quoted: the lecture's lowest printed validation accuracy",
        "49.98": "quoted: the lecture's highest printed validation accuracy",
        "58.81": "the readout table's 0.5881 as a percentage",
        "50.12": "the readout table's 0.5012 as a percentage",
        "60.59": "the readout table's 0.6059 as a percentage",
        "50.21": "the readout table's 0.5021 as a percentage",
        "10000": "chapter 5's vocabulary size, in the recipe comparison",
        "500": "chapter 5's review length, in the recipe comparison",
        "20000": "chapter 5's training reviews, in the recipe comparison",
        "5000": "chapter 5's validation reviews, in the recipe comparison",
        "0.3": "chapter 5's dropout, in the recipe comparison",
        "2867049": "arithmetic in exercise 4's answer: the printed 2,592,105 with the LSTM layer "
                   "(366,592) in place of the RNN layer (91,648)",
    },
    "05_contestants": {
        "10000": "the vocabulary size (hyper-parameter; 10,002 with the specials is printed)",
        "0.001": "Adam's learning rate (hyper-parameter)",
        "50000": "arithmetic: 500 positions times 100 dimensions",
        "0.00001": "quoted: the battlefield notebook's first simple-RNN learning rate",
        "0.0001": "quoted: the battlefield notebook's second simple-RNN learning rate",
        "0.01": "quoted: the battlefield notebook's SGD learning rate (its default)",
        "94.00": "quoted: the battlefield notebook's last training accuracy of model 1(b), 0.9400",
        "12500250": "arithmetic in exercise 1's answer: (500 x 100) x 250 + 250",
        "12.5": "arithmetic: the 12,500,250 weights above, in millions",
        "251": "arithmetic in exercise 1's answer: 250 + 1",
        "20200": "arithmetic in exercise 2's answer: 100 x 100 + 100 x 100 + 2 x 100",
        "80800": "arithmetic in exercise 2's answer: 4 x 20,200",
        "400": "arithmetic in exercise 4's answer: 500 steps less 100 real tokens",
    },
    "06_advanced_bilstm_glove": {
        "60.47": "quoted: the lecture's validation accuracy, epoch 1 ('Advanced Model Result')",
        "80.95": "quoted: the lecture's validation accuracy, epoch 2",
        "85.87": "quoted: the lecture's validation accuracy, epoch 3",
        "86.93": "quoted: the lecture's validation accuracy, epoch 4 (its best)",
        "83.99": "quoted: the lecture's validation accuracy, epoch 5 (its last)",
        "5000": "LIME_SAMPLES, the chapter's LIME setting (hyper-parameter)",
    },
    "07_ag_news_lstms": {
        "98635": "quoted: the tutorial's printed vocabulary size (training and test texts)",
        "0.882": "quoted: the tutorial's last 'Valid Acc', approach 1",
        "0.897": "quoted: the tutorial's last 'Valid Acc', approach 3",
        "0.878": "quoted: the tutorial's last 'Valid Acc', approach 4",
        "0.894": "quoted: the tutorial's last 'Valid Acc', approach 5",
        "1024": "quoted: the tutorial's batch size",
        "118": "arithmetic: 120,000 texts in batches of 1,024",
    },
    "08_star_ratings": {
        "0.01": "quoted: the tutorial's Adam learning rate",
        "0.544": "quoted: the tutorial's printed validation log",
        "0.576": "quoted: the tutorial's printed validation log",
        "0.588": "quoted: the tutorial's printed validation log",
        "1.079": "quoted: the tutorial's printed validation log",
        "1.107": "quoted: the tutorial's printed validation log",
        "1.370": "quoted: the tutorial's printed validation log",
        "0.002": "the chapter's Adam learning rate (hyper-parameter)",
        "0.3": "the chapter's dropout (hyper-parameter)",
        "0.71": "arithmetic: (0 + sqrt(2)) / 2 in answer 1",
    },
    "09_char_level_tweets": {
        "34410": "quoted: the tutorial's printed training split",
        "8603": "quoted: the tutorial's printed test split",
        "0.001": "quoted: the tutorial's Adam learning rate",
        "0.6952": "quoted: the tutorial's training loss, its epoch 0",
        "0.6479": "quoted: the tutorial's training loss, epoch 20",
        "0.6312": "quoted: the tutorial's training loss, epoch 80",
        "0.02": "arithmetic: 0.6479 - 0.6312, rounded",
        "0.01": "arithmetic: 0.6924 - 0.6856 is under 0.01",
        "0.69": "arithmetic: the printed 0.6924, rounded",
        "275": "arithmetic: the tutorial's printed 274 entries + 1 padding row, its "
               "embedding's rows (nn.Embedding(vocab_size + 1, ...))",
        "4400": "arithmetic: 275 x 16 in answer 1",
        "4478": "arithmetic: 4,400 + 76 + 2 in answer 1",
        "0.002": "CharLSTM's learning rate (hyper-parameter)",
        "0.003": "the character BiLSTM's learning rate (hyper-parameter)",
        "0.2": "the character BiLSTM's dropout (hyper-parameter)",
    },
    "10_pretraining": {
        "3.6": "quoted: Zhang et al.'s largest training set (Amazon Review Polarity, 3,600,000 "
               "reviews, their Table 1)",
    },
    "11_your_own_data": {
        "256": "SHA-256, the name of the manifest's checksum",
        "1.05": "arithmetic: 86.69 - 85.64, the validation gap worked out in the prose",
    },
    "appendix_cpu_speed": {
        "1000": "the timing table's unit, milliseconds per 1,000 real tokens",
        "65504": "float16's largest finite number, a property of the format (exercise 6)",
    },
}
PENDING_READING: set[str] = set()

# A number may end in "x" ("4.08x", a printed ratio); otherwise it stands alone.
NUMBER = re.compile(r"(?<![\w.])\d+(?:[,\u2009\u202f]\d{3})*(?:\.\d+)*(?!(?!x\b)\w)")
SEPARATORS = re.compile(r"[,\u2009\u202f]")
FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(.*)$")
CODE_DIRECTIVES = {"code", "code-block", "code-cell", "sourcecode", "math", "raw", "mermaid"}
NOT_PROSE = [re.compile(pattern, re.S) for pattern in (
    r"<!--.*?-->",                                   # HTML comments
    r"\$\$.*?\$\$", r"(?<![\\\w])\$[^$\n]+?\$", r"\\\(.*?\\\)", r"\\\[.*?\\\]",  # math
    r"(`+)[^`]+?\1",                                 # inline code, so also {cite}`...` and other roles
    r"\]\([^)]*\)", r"<https?://[^>]*>", r"https?://\S+",  # link targets and URLs
    r"</?[A-Za-z][^>]*>", r"(?m)^\([\w-]+\)=[ \t]*$",  # HTML tags, MyST labels
)]
YEARS_IN_LINK_TEXT = re.compile(r"\[[^\]]*\]")
YEAR_IN_CITATION = re.compile(r"(?:\(|, |et al\. )((?:19|20)\d\d|2100)(?=[);,])")


def numbers_in(text: str) -> set[str]:
    """Every number written in `text`, with its thousands separators (comma, thin space) removed."""
    return {SEPARATORS.sub("", n) for n in NUMBER.findall(text)}


def prose(markdown: str) -> str:
    """The text of a markdown cell a reader reads as sentences (see `claimed_numbers`)."""
    lines, fences = [], []  # fences: (character, length, is code) of the open fenced blocks
    for line in markdown.splitlines():
        fence = FENCE.match(line)
        if fence and fences and fence[1][0] == fences[-1][0] and len(fence[1]) >= fences[-1][1] \
                and not fence[2].strip():
            fences.pop()
            continue
        if fence and not (fences and fences[-1][2]):
            directive = re.match(r"\{([\w:-]+)\}", fence[2])
            is_code = not directive or directive[1] in CODE_DIRECTIVES
            fences.append((fence[1][0], len(fence[1]), is_code))
            lines.append("" if is_code else fence[2][directive.end():])  # an admonition's title
            continue
        if fences and (fences[-1][2] or re.match(r"\s*:[\w-]+:", line)):
            continue  # code, math, or a directive's option line
        lines.append(line)
    text = YEARS_IN_LINK_TEXT.sub(lambda m: re.sub(r"\b(?:19|20)\d\d\b|\b2100\b", " ", m[0]), "\n".join(lines))
    for pattern in NOT_PROSE:
        text = pattern.sub(" ", text)
    return YEAR_IN_CITATION.sub(" ", text)


def claimed_numbers(markdown: str) -> set[str]:
    """The numbers a markdown cell states: decimals, and integers of three or more digits.

    Not counted: numbers in math ($...$, math blocks), inline code (hyper-parameters written as
    code, {cite} and other roles), code blocks, URLs and link targets, HTML tags and comments,
    and years (1900-2100) in link text or in a citation such as "(Maas et al., 2011)".
    """
    return {n for n in numbers_in(prose(markdown)) if "." in n or len(n) >= 3}


def renderings(value) -> set[str]:
    """The ways prose writes a recorded number: as stored, rounded to 0-4 decimals, and, for a
    fraction (|value| <= 1), as a percentage with 1 or 2 decimals: 0.8479 -> 84.79 and 84.8."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return set()
    value = abs(value)
    if isinstance(value, int):
        return {str(value)}
    shown = {repr(value)} | {f"{value:.{d}f}" for d in range(5)}
    return shown | ({f"{100 * value:.{d}f}" for d in (1, 2)} if value <= 1 else set())


def recorded_numbers(node) -> set[str]:
    """Every number in a parsed results file or references.yaml: numbers in its strings as written,
    numeric values in each of their `renderings`."""
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, list):
        return set().union(set(), *map(recorded_numbers, node))
    return numbers_in(node) if isinstance(node, str) else renderings(node)


def output_text(cell: dict) -> str:
    """All the text a code cell printed or displayed: streams, text/plain, text/html, text/markdown."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append("".join(output.get("text", "")))
        data = output.get("data", {})
        parts += ["".join(data.get(kind, "")) for kind in ("text/plain", "text/html", "text/markdown")]
    return "\n".join(parts)


CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def references_for(stem: str, cells: list[dict]) -> list[dict]:
    """The entries of results/references.yaml a chapter may quote: those filed under it, and
    those whose source its markdown cites (a published number is quoted beside its citation)."""
    cited = {key.strip() for cell in cells if cell["cell_type"] == "markdown"
             for keys in CITE.findall("".join(cell["source"])) for key in keys.split(",")}
    entries = yaml.safe_load((ROOT / "results" / "references.yaml").read_text())
    return [e for e in entries if e["chapter"] == stem or e["source"] in cited]


def missing_numbers(path: Path) -> dict[str, list[str]]:
    """The numbers a chapter's markdown states that none of its outputs, its results file and
    its entries of results/references.yaml (`references_for`) show, each with where it stands
    ("cell N: sentence"). No allowlist.

    Outputs count exactly as printed (after removing thousands separators); code sources do not
    count, so a number only a code cell writes needs an ALLOWED entry.
    """
    path = Path(path)
    cells = json.loads(path.read_text())["cells"]
    shown = numbers_in("\n".join(output_text(c) for c in cells if c["cell_type"] == "code"))
    results = ROOT / "results" / f"{path.stem}.json"
    if results.is_file():
        shown |= recorded_numbers(json.loads(results.read_text()))
    shown |= recorded_numbers(references_for(path.stem, cells))
    missing: dict[str, list[str]] = {}
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            text = prose("".join(cell["source"]))
            for number in sorted(claimed_numbers("".join(cell["source"])) - shown):
                sentences = re.split(r"(?<=[.!?:])\s+|\n\s*\n", text)
                sentence = next((s for s in sentences if number in numbers_in(s)), text)
                missing.setdefault(number, []).append(f"cell {index}: {' '.join(sentence.split())}")
    return missing


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(reason="allowlist filled after the chapter 6-9 reading"))
    if p.stem in PENDING_READING else p for p in CHAPTERS], ids=lambda p: p.stem)
def test_every_number_in_the_prose_is_printed_recorded_or_allowed(path):
    """A number in the prose (decimal, or integer of 3+ digits) appears in the chapter's outputs,
    its results/<stem>.json (as stored, rounded to 0-4 decimals, or a fraction as a percentage with
    1-2 decimals), or the chapter's entries of results/references.yaml (`references_for`: their text,
    and their values rendered the same way), or
    is on ALLOWED with a reason. Exact digit strings otherwise:
    an output's 0.8479 does not cover the prose's 84.79 (the results file may). Numbers in math,
    inline code, code blocks, URLs and citation years are not checked; see `claimed_numbers`."""
    missing = missing_numbers(path)
    allowed = ALLOWED[path.stem]
    unexplained = {n: where for n, where in missing.items() if n not in allowed}
    assert unexplained == {}, "numbers no output, results file or reference shows:\n" + "\n".join(
        f"  {n}: {w}" for n, places in unexplained.items() for w in places)
    assert sorted(set(allowed) - set(missing)) == [], "allowlist entries no longer needed"


#: Numbers the book's other pages state that no results file or reference holds, with the reason.
PAGE_ALLOWED: dict[str, dict[str, str]] = {
    "intro.md": {
        "22641": "clothing reviews with text: the loader's row count (data.DatasetInfo)",
        "845": "clothing reviews without text, which the loader drops",
        "74682": "tweets in the Twitter training file: the loader's row count",
        "858": "tweets without text, which the loader drops",
        "400000": "the size of GloVe 6B's vocabulary, a property of the published vectors",
    },
    "for_teachers.md": {
        "17500": "assignment 1's training reviews (70 % of 25,000)",
        "20000": "assignment 2's training reviews (the battlefield's split)",
        "250": "assignment 1's MAX_TOKENS",
    },
}


@pytest.mark.parametrize("page", sorted(PAGE_ALLOWED))
def test_every_number_on_the_other_pages_is_recorded_or_allowed(page):
    """The introduction and the teachers' page quote the chapters' results: every number they
    state (as `claimed_numbers` counts them) is in some results file or references.yaml, or
    allowed above, so a re-run that moves a number the front page quotes fails here."""
    shown = set().union(*(recorded_numbers(json.loads(f.read_text())) for f in (ROOT / "results").glob("*.json")))
    shown |= recorded_numbers(yaml.safe_load((ROOT / "results" / "references.yaml").read_text()))
    missing = claimed_numbers((ROOT / page).read_text()) - shown
    allowed = PAGE_ALLOWED[page]
    assert sorted(missing - set(allowed)) == [], f"{page}: numbers no results file or reference shows"
    assert sorted(set(allowed) - missing) == [], "allowlist entries no longer needed"


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["--missing-numbers"]:
        sys.exit("usage: python tests/test_chapters.py --missing-numbers [chapter stem ...]")
    for path in [p for p in CHAPTERS if not sys.argv[2:] or p.stem in sys.argv[2:]]:
        missing = missing_numbers(path)
        print(f"{path.stem}: {len(missing)} numbers not printed, recorded or quoted")
        for number, places in missing.items():
            note = f"  [allowed: {ALLOWED[path.stem][number]}]" if number in ALLOWED.get(path.stem, {}) else ""
            for where in places:
                print(f"  {number:>10}  {where[:150]}{note}")
