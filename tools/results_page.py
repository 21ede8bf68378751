"""Write the book's results page, chapters/results.md, and its figures (`make results`).

The page leads with one figure and table per data set (the tutorial's number, this book's rebuild
of it, the book's best sequence model, the linear baseline, published results), then how each
chapter ran and every number it saved. Every number comes from a results file a chapter's
committed full run saved, or from results/references.yaml (the tutorials' and published numbers,
each with its source); nothing is typed by hand. tests/test_results_page.py fails when the page or
a figure (chapters/results_figures/*.svg) differs from what this script writes now. Any results
file is shown, also one this script knows nothing about: all its numbers appear, and its
accuracy-like numbers become its headline.
"""

from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
PAGE = ROOT / "chapters" / "results.md"
FIGURES = ROOT / "chapters" / "results_figures"
NOT_RECORDED = "not recorded"

# The numbers that carry each known chapter's story, in reading order: (metric, what it is).
HEADLINES: dict[str, list[tuple[str, str]]] = {
    "01_embeddings_and_lstm_shapes": [
        ("padded_last_step_vs_true_last_max_abs_diff",
         "padded batch: last column's state vs each sequence's true last state (max abs diff)"),
        ("packed_h_n_vs_true_last_max_abs_diff", "packed batch: h_n vs the true last state (max abs diff)"),
        ("lstm_1_layer.parameters", "parameters of the 1-layer LSTM"),
        ("bilstm_3_layers.parameters", "parameters of the 3-layer bidirectional LSTM"),
    ],
    "02_lstm_from_scratch": [
        ("numpy_vs_torch_max_abs_diff", "NumPy LSTM vs nn.LSTM, float64 (max abs diff)"),
        ("numpy_vs_torch_float32_max_abs_diff", "NumPy LSTM vs nn.LSTM, float32 (max abs diff)"),
        ("rnn.grad_ratio_first_to_last", "RNN: gradient at the first step / at the last"),
        ("lstm.grad_ratio_first_to_last", "LSTM: gradient at the first step / at the last"),
        ("lstm_forget_bias_2.grad_ratio_first_to_last", "LSTM with forget bias 2: same ratio"),
    ],
    "03_from_text_to_tensors": [
        ("vocab.size", "vocabulary size (25,000 tokens + <unk>, <pad>)"),
        ("coverage.test_tokens_at_25k", "share of test tokens the vocabulary covers"),
        ("padding_fraction.random", "padding in random batches"),
        ("padding_fraction.bucketed", "padding in length-bucketed batches"),
        ("unknown_share.capitalised", "unknown test tokens that are mostly capitalised (names)"),
        ("unknown_share.not_in_glove", "unknown test tokens GloVe does not know (typos among them)"),
    ],
    "appendix_cpu_speed": [
        ("ratio.padded.flush_off_over_on", "step time, denormals kept / flushed (padded, fresh LSTM)"),
        ("per_token_ratio.padded_over_bucketed", "time per real token, padded / bucketed"),
        ("per_token_ratio.packed_over_padded", "time per real token, packed / padded"),
        ("per_token_ratio.packed_over_bucketed.bucketed_batches",
         "time per real token on bucketed batches, packed / unpacked"),
        ("trained.ratio.padded.flush_off_over_on", "denormals kept / flushed after some training"),
        ("matmul.gflops_fp32", "2048 x 2048 matrix multiply, float32: GFLOP/s"),
        ("matmul.gflops_bf16", "the same in bfloat16: GFLOP/s"),
        ("step.gflops_fp32", "chapter 6's training step (128 units, 64 reviews of 256 tokens), float32: "
         "GFLOP/s of its LSTM products"),
        ("step.gflops_bf16", "the same step under bfloat16 autocast: GFLOP/s of its LSTM products"),
    ],
    "04_rnn_baseline_imdb": [
        ("test_accuracy", "the lecture's RNN and training (SGD): test accuracy"),
        ("adam.test_accuracy", "same model with Adam: test accuracy"),
        ("last_token.test_accuracy", "SGD, state read at each review's last token: test accuracy"),
        ("adam_last_token.test_accuracy", "Adam and the last real token: test accuracy"),
        ("parameters", "parameters"),
    ],
    "05_contestants": [
        ("ff_raw.test_accuracy", "feedforward on raw token ids: test accuracy"),
        ("ff_embedding.test_accuracy", "feedforward with embeddings: test accuracy"),
        ("cnn.test_accuracy", "CNN: test accuracy"),
        ("rnn.test_accuracy", "RNN: test accuracy"),
        ("lstm.test_accuracy", "LSTM: test accuracy"),
        ("cnn_lstm.test_accuracy", "CNN + LSTM: test accuracy"),
    ],
    "06_advanced_bilstm_glove": [
        ("lecture.test_accuracy", "the lecture's recipe (GloVe 50d, 128 hidden units, 5 epochs): test accuracy"),
        ("best.valid_accuracy",
         "the model chosen on validation (lower-case GloVe lookup, pooling, more epochs): validation accuracy"),
        ("best.test_accuracy", "the model chosen on validation: test accuracy"),
        ("tfidf_logreg.test_accuracy", "TF-IDF + logistic regression (words and word pairs): test accuracy"),
        ("fast_vs_packed.hidden_128.80th_percentile.speedup",
         "training step, packed / fast reader (128 units, the 80th-percentile batch)"),
        ("precision.fp32_valid_accuracy", "chosen variant, 2 epochs in float32: validation accuracy"),
        ("precision.bf16_valid_accuracy", "the same in bfloat16: validation accuracy"),
        ("precision.bf16_speedup", "bfloat16 over float32: training speed (median seconds per epoch)"),
    ],
    "07_ag_news_lstms": [
        ("train_examples", "texts trained on in this run"),
        ("lstm_50.test_accuracy", "the tutorial's second approach (50 tokens): test accuracy, mean of 10 evaluations"),
        ("lstm_50_fixed.test_accuracy", "the same without a random start or padding read: test accuracy"),
        ("fixed.valid_accuracy", "bidirectional LSTM with pooling and GloVe: validation accuracy"),
        ("fixed.test_accuracy", "bidirectional LSTM with pooling and GloVe: test accuracy"),
        ("tfidf_logreg.test_accuracy", "TF-IDF + logistic regression: test accuracy"),
    ],
    "08_star_ratings": [
        ("tutorial_model.test_accuracy", "the tutorial's LSTM, rebuilt: test accuracy"),
        ("tutorial_model.test_rmse", "the tutorial's LSTM, rebuilt: test RMSE (stars)"),
        ("majority.test_accuracy", "always five stars: test accuracy"),
        ("mean.test_rmse", "always the training mean: test RMSE"),
        ("best_accuracy.test_accuracy",
         "chosen on validation for accuracy (TF-IDF + logistic regression, title and text): test accuracy"),
        ("best_rmse.test_rmse", "chosen on validation for RMSE (bidirectional LSTM, regression head): test RMSE"),
        ("tfidf_best_rmse.test_rmse", "TF-IDF + logistic regression (title and text), expected rating: test RMSE"),
    ],
    "09_char_level_tweets": [
        ("tutorial_model.grouped_split.test_accuracy", "the tutorial's character model, grouped split: test accuracy"),
        ("char_lstm.grouped_split.valid_accuracy", "128-unit character LSTM, grouped split: validation accuracy"),
        ("char_lstm.grouped_split.test_accuracy", "the same: test accuracy"),
        ("tfidf_char.grouped_split.valid_accuracy",
         "character n-gram TF-IDF + logistic regression, grouped split: validation accuracy"),
        ("tfidf_char.grouped_split.test_accuracy", "the same: test accuracy"),
        ("char_lstm.random_split.test_accuracy", "character LSTM, random split (copies leak): test accuracy"),
        ("precision.bf16_speedup", "bfloat16 over float32: training speed of the character LSTM"),
    ],
    "10_pretraining": [
        ("lm.valid_perplexity", "language model after 3 epochs: validation perplexity"),
        ("glove_only.test_accuracy", "LSTM started from GloVe only: test accuracy"),
        ("pretrained.test_accuracy", "LSTM fine-tuned from the language model chosen on validation: test accuracy"),
        ("tfidf_logreg.test_accuracy", "TF-IDF + logistic regression: test accuracy"),
        ("ensemble.weight", "weight of the LSTM in the average, chosen on validation"),
        ("chosen.valid_accuracy", "the model chosen on validation (the average): validation accuracy"),
        ("chosen.test_accuracy", "the model chosen on validation: test accuracy"),
    ],
    "11_your_own_data": [
        ("classes", "departments (classes)"),
        ("bilstm.valid_accuracy", "the textclf BiLSTM: validation accuracy"),
        ("tfidf_logreg.valid_accuracy", "TF-IDF + logistic regression: validation accuracy"),
        ("bilstm.test_accuracy", "the textclf BiLSTM (chosen on validation): test accuracy"),
        ("tfidf_logreg.test_accuracy", "TF-IDF + logistic regression: test accuracy"),
        ("majority.valid_accuracy", "always the largest department: validation accuracy"),
    ],
}
# For a results file not listed above: its numbers whose names say they are scores.
GENERIC_HEADLINE = re.compile(r"(accuracy|rmse|mae|f1|auc)$", re.IGNORECASE)
KIND = {"tutorial": "tutorial", "published": "published"}


def fmt(value) -> str:
    """A number as a reader wants it: thousands separated, 4 significant digits, tiny ones in e-notation."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def wall(seconds) -> str:
    if seconds is None:
        return NOT_RECORDED
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def fmt_commit(commit: str | None) -> str:
    """The commit as code; a run from uncommitted changes ("sha+changes") says so outside the code
    span, which leaves room to wrap in a narrow column."""
    if not commit:
        return NOT_RECORDED
    sha, plus, _ = commit.partition("+changes")
    return f"`{sha}`" + (" + changes" if plus else "")


def chapter_title(stem: str) -> str | None:
    """The `# Title` of chapters/<stem>.ipynb, or None when there is no such notebook."""
    notebook = ROOT / "chapters" / f"{stem}.ipynb"
    if not notebook.is_file():
        return None
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return stem


def toc_docs() -> set[str]:
    """Documents in _toc.yml: only these can be linked without a build warning."""
    docs: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                docs.add(str(node["file"]).removesuffix(".ipynb").removesuffix(".md"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    return docs


def load_results() -> dict[str, dict]:
    records = {}
    for path in sorted(RESULTS.glob("*.json")):
        record = json.loads(path.read_text())
        if not isinstance(record.get("metrics"), dict) or not isinstance(record.get("run"), dict):
            raise ValueError(f"{path}: a results file has 'run' and 'metrics' objects")
        records[path.stem] = record
    return records


def load_references() -> list[dict]:
    path = RESULTS / "references.yaml"
    entries = yaml.safe_load(path.read_text()) if path.is_file() else []
    for entry in entries:
        missing = {"chapter", "kind", "what", "value", "source", "where"} - set(entry)
        if missing:
            raise ValueError(f"{path}: entry {entry!r} lacks {sorted(missing)}")
        if entry["kind"] not in KIND:
            raise ValueError(f"{path}: kind {entry['kind']!r} is not one of {sorted(KIND)}")
    return entries


def whose(ref: dict) -> str:
    """What a quoted number's source is, as the book names it: "the lecture", "published"."""
    return _cell(ref.get("by", KIND[ref["kind"]]))


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _name(stem: str, docs: set[str]) -> str:
    title = chapter_title(stem)
    if title is None:
        return f"`{stem}`"
    return f"{{doc}}`{_cell(title)} <{stem}>`" if f"chapters/{stem}" in docs else _cell(title)


def headline(stem: str, metrics: dict) -> list[tuple[str, str]]:
    if stem in HEADLINES:
        return [(key, label) for key, label in HEADLINES[stem] if key in metrics]
    return [(key, key) for key in metrics if GENERIC_HEADLINE.search(key)]


# ---- One figure and table per data set: what a reader came for -------------------------------

@dataclass(frozen=True)
class Ours:
    """One of this book's numbers: a metric in a chapter's results file, and what it is."""

    role: str  # a key of ROLES
    chapter: str
    key: str
    label: str
    split: str = ""  # what it was measured on; "" reads it from the key
    note: str = ""  # how it was chosen, said after whose number it is


@dataclass(frozen=True)
class Tutorials:
    """The tutorial numbers of one chapter in references.yaml, each followed by the metric of ours
    its `compare` names; `compare` here keeps only the entry that names it."""

    chapter: str
    compare: str | None = None
    ours_label: str | None = None  # None: the tutorial's row name
    ours_role: str = "rebuild"


@dataclass(frozen=True)
class Panel:
    """One measure of a data set's figure; its published numbers come from references.yaml."""

    measure: str  # a key of MEASURES
    tutorials: tuple[Tutorials, ...]
    ours: tuple[Ours, ...]


@dataclass(frozen=True)
class DataSet:
    slug: str
    title: str
    about: str  # what is predicted and how it is scored, in words
    chapters: tuple[str, ...]  # the chapters whose published numbers belong here
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Bar:
    """One row of a figure and its table."""

    role: str
    label: str
    tag: str  # whose number, in words
    value: float
    split: str
    trained_on: int | None
    source: str  # MyST: the citation or the chapter
    low: float | None = None
    high: float | None = None
    note: str = ""


# role: (tag, bar colour, hatch). Colours from the Okabe-Ito palette; the hatch (quoted or measured
# here) and the tag printed under each row's name carry the same information without colour.
ROLES = {
    "tutorial": ("tutorial", "#E69F00", "//"),
    "rebuild": ("rebuilt here", "#56B4E9", ""),
    "sequence": ("this book", "#0072B2", ""),
    "best": ("best sequence model", "#0072B2", ""),
    "linear": ("linear baseline", "#009E73", ""),
    "constant": ("no text", "#BBBBBB", ""),
    "published": ("published", "#CC79A7", "\\\\"),
}
# measure: (name, which way is better)
MEASURES = {"accuracy": ("Accuracy", "higher is better"), "rmse": ("RMSE in stars", "lower is better")}
TRAIN_KEY, TEST_KEY = "train_examples", "test_examples"  # optional sizes in a results file
IMDB = ("04_rnn_baseline_imdb", "05_contestants", "06_advanced_bilstm_glove", "10_pretraining")
AG, STARS, TWEETS = "07_ag_news_lstms", "08_star_ratings", "09_char_level_tweets"
LINEAR = "TF-IDF + logistic regression"
QUOTED_AND_OURS = ("Hatched bars are quoted from a tutorial or a paper; plain bars were measured in "
                   "this book's runs.")
ALL_OURS = "Every bar was measured in this book's runs."

DATASETS = (
    DataSet(
        "imdb", "IMDb movie reviews",
        "Is a movie review positive or negative? Accuracy on the IMDb test reviews.",
        IMDB,
        (Panel("accuracy",
               (Tutorials("06_advanced_bilstm_glove",
                          ours_label="The lecture's advanced model (GloVe 50d, 128 hidden units)"),
                Tutorials("04_rnn_baseline_imdb"),
                Tutorials("05_contestants", "lstm.test_accuracy", "This book's LSTM contestant", "sequence")),
               (Ours("best", "06_advanced_bilstm_glove", "best.test_accuracy",
                     "Bidirectional LSTM with GloVe", note="chosen on validation"),
                Ours("sequence", "10_pretraining", "pretrained.test_accuracy",
                     "LSTM fine-tuned from a language model (chapter 10)"),
                Ours("sequence", "10_pretraining", "chosen.test_accuracy",
                     "Average of that LSTM and TF-IDF (chapter 10)", note="chosen on validation"),
                Ours("linear", "06_advanced_bilstm_glove", "tfidf_logreg.test_accuracy", LINEAR))),),
    ),
    DataSet(
        "ag_news", "AG News topics",
        "Which desk (world, sports, business, sci/tech) does a news text come from? Accuracy on the "
        "test part of this book's run; the chapter says which texts it learned from. Where the "
        "same model scored differently on repeated evaluations, a line spans the range.",
        (AG,),
        (Panel("accuracy", (Tutorials(AG),),
               (*(Ours("rebuild", AG, f"{key}.test_accuracy", f"The tutorial's approach {n} (`{key}`)")
                  for n, key in enumerate(["lstm_25", "lstm_50", "lstm_3_layers", "stacked_50_60_75",
                                           "bilstm_3_layers"], start=1)),
                Ours("best", AG, "fixed.test_accuracy", "Bidirectional LSTM with pooling and GloVe",
                     note="chosen on validation"),
                Ours("linear", AG, "tfidf_logreg.test_accuracy", LINEAR))),),
    ),
    DataSet(
        "star_ratings", "Clothing reviews: star ratings",
        "How many stars, one to five, does a shopper give a clothing review? Accuracy (how often "
        "the star is right) and RMSE (how far the stars miss, in stars) on the test reviews.",
        (STARS,),
        tuple(Panel(measure, (Tutorials(STARS),),
                    (Ours("rebuild", STARS, f"tutorial_model.test_{measure}", "The tutorial's LSTM"),
                     Ours("best", STARS, f"{best}.test_{measure}", best_label, note=f"chosen on validation {how}"),
                     Ours("linear", STARS, f"tfidf.test_{measure}", LINEAR,
                          note="chosen on validation for this measure"),
                     Ours("constant", STARS, f"{constant}.test_{measure}", label)))
              for measure, constant, label, best, best_label, how in [
                  ("accuracy", "majority", "Always the most frequent rating", "lstm_classes_title_text_arg_max",
                   "LSTM classifier, title and text, most likely star", "accuracy among the LSTMs"),
                  ("rmse", "mean", "Always the mean training rating", "bilstm_regression_title_text",
                   "Bidirectional LSTM regression, title and text", "RMSE")]),
    ),
    DataSet(
        "tweets", "Tweets: positive or negative",
        "Is a tweet positive or negative, read one character at a time? Accuracy on two test parts: "
        "a random split, where other versions of a test tweet can be in training, and a split "
        "grouped by tweet, where they cannot.",
        (TWEETS,),
        (Panel("accuracy", (Tutorials(TWEETS),), tuple(
            Ours(role, TWEETS, f"{model}.{split}_split.test_accuracy", label, f"test, {split} split",
                 note="chosen on validation" if role == "best" else "")
            for role, model, label in [("rebuild", "tutorial_model", "The tutorial's character-level LSTM"),
                                       ("best", "char_lstm", "Character LSTM"),
                                       ("linear", "tfidf_char",
                                        "Character n-gram TF-IDF + logistic regression")]
            for split in ("random", "grouped"))),),
    ),
)


def _chapter_link(stem: str, docs: set[str]) -> str:
    number = re.match(r"\d+", stem)
    name = f"chapter {int(number.group())}" if number else stem.replace("_", " ")
    return f"{{doc}}`{name} <{stem}>`" if f"chapters/{stem}" in docs else name


def _our_bar(role: str, chapter: str, key: str, label: str, split: str, records: dict,
             docs: set[str], note: str = "") -> Bar | None:
    metrics = records.get(chapter, {}).get("metrics", {})
    if key not in metrics:
        return None
    if not split:
        split = "validation" if "valid" in key else "test"
        if grouping := re.search(r"\b(random|grouped)_split\b", key):
            split += f", {grouping.group(1)} split"
    if split == "test" and TEST_KEY in metrics:
        split = f"test, {metrics[TEST_KEY]:,} texts"
    stem = key.removesuffix("test_accuracy")
    low, high = metrics.get(f"{stem}test_accuracy_min"), metrics.get(f"{stem}test_accuracy_max")
    ranged = key.endswith("test_accuracy") and low is not None and high is not None and low < high
    return Bar(role, label, ROLES[role][0], metrics[key], split, metrics.get(TRAIN_KEY),
               _chapter_link(chapter, docs), low if ranged else None, high if ranged else None, note)


def _quoted_bar(ref: dict) -> Bar:
    role = "tutorial" if ref["kind"] == "tutorial" else "published"
    return Bar(role, ref.get("short", ref["what"]), ref.get("by", KIND[ref["kind"]]), ref["value"],
               ref.get("split", "test"), ref.get("trained_on"), f"{{cite}}`{ref['source']}`")


def bars(dataset: DataSet, panel: Panel, records: dict, references: list[dict],
         docs: set[str]) -> list[Bar]:
    """A panel's rows: each tutorial number and ours beside it, our other rows, published numbers."""
    out, shown = [], set()
    measure_of = lambda ref: ref.get("measure", "accuracy")  # noqa: E731
    for group in panel.tutorials:
        for ref in references:
            if (ref["chapter"] != group.chapter or ref["kind"] != "tutorial"
                    or measure_of(ref) != panel.measure
                    or (group.compare and ref.get("compare") != group.compare)):
                continue
            out.append(_quoted_bar(ref))
            if ref.get("compare"):
                ours = _our_bar(group.ours_role, group.chapter, ref["compare"],
                                group.ours_label or out[-1].label, "", records, docs)
                if ours:
                    out.append(ours)
                    shown.add((group.chapter, ref["compare"]))
    for row in panel.ours:
        if (row.chapter, row.key) not in shown:
            bar = _our_bar(row.role, row.chapter, row.key, row.label, row.split, records, docs, row.note)
            out += [bar] if bar else []
    seen = set()
    for ref in references:
        if (ref["kind"] == "published" and ref["chapter"] in dataset.chapters
                and measure_of(ref) == panel.measure):
            if (ref["source"], ref["value"]) not in seen:
                seen.add((ref["source"], ref["value"]))
                out.append(_quoted_bar(ref))
    return out


def shown_value(value: float, measure: str) -> str:
    """Accuracy as a percentage with two decimals, anything else as `fmt` writes it."""
    return f"{100 * value:.2f} %" if measure == "accuracy" else fmt(value)


def _row_detail(bar: Bar) -> str:
    trained = f", trained on {bar.trained_on:,} texts" if bar.trained_on else ""
    note = f" ({bar.note})" if bar.note else ""
    return f"{bar.tag}{note}, {bar.split}{trained}"


def _range(bar: Bar, measure: str, before: str, after: str = "") -> str:
    if bar.low is None:
        return ""
    return f"{before}range {shown_value(bar.low, measure)} to {shown_value(bar.high, measure)}{after}"


def alt_text(dataset: DataSet, panels: list[tuple[Panel, list[Bar]]]) -> str:
    """The figure in words: every row's name, whose number it is, what it was measured on, value."""
    parts = []
    for panel, rows in panels:
        name, better = MEASURES[panel.measure]
        values = "; ".join(f"{b.label.replace('`', '')}, {_row_detail(b)}: "
                           f"{shown_value(b.value, panel.measure)}{_range(b, panel.measure, ', ')}"
                           for b in rows)
        parts.append(f"{name} ({better}): {values}.")
    return f"Bar chart, {dataset.title}. " + " ".join(parts)


def _wrapped(text: str, points: float, size: float) -> list[str]:
    """``text`` in lines no wider than ``points`` when set in DejaVu Sans at ``size`` points
    (measured, not counted: a line of wide letters is cut sooner)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    font = FontProperties(family="DejaVu Sans", size=size)
    lines: list[str] = []
    for word in text.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and TextPath((0, 0), joined, prop=font).get_extents().width <= points:
            lines[-1] = joined
        else:
            lines.append(word)
    return lines or [""]


def figure_svg(dataset: DataSet, panels: list[tuple[Panel, list[Bar]]]) -> bytes:
    """The data set's figure as SVG bytes, the same bytes on every run (fixed ids, no date).

    Horizontal bars, one panel per measure; each row's name and whose number it is stand above its
    bar (wrapped, not shrunk), so the figure stays readable when a phone fits it to its width."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    # Heights in inches: a name line, a detail line, the bar and the space under it.
    width, name_h, detail_h, bar_h, space = 4.2, 0.21, 0.18, 0.26, 0.14
    title_h, axis_h, gap = 0.5, 0.4, 0.35
    text_points = 0.94 * width * 72 - 6  # the axes' width in points, less a margin
    layouts = []
    for panel, rows in panels:
        lines = [(_wrapped(b.label.replace("`", ""), text_points, 12),
                  _wrapped(_row_detail(b), text_points, 10)) for b in rows]
        heights = [name_h * len(n) + detail_h * len(d) + bar_h + space for n, d in lines]
        layouts.append((panel, rows, lines, heights))
    height = sum(title_h + sum(h) + axis_h for *_, h in layouts) + gap * (len(panels) - 1)
    style = {"svg.hashsalt": f"results-{dataset.slug}", "svg.fonttype": "path",
             "font.family": "DejaVu Sans", "font.size": 12, "hatch.linewidth": 1.0}
    with rc_context(style):
        fig = Figure(figsize=(width, height))
        y_top = height
        for panel, rows, lines, heights in layouts:
            tall = sum(heights)
            y_top -= title_h
            ax = fig.add_axes((0.035, (y_top - tall) / height, 0.94, tall / height))
            y_top -= tall + axis_h + gap
            name, better = MEASURES[panel.measure]
            ax.set_title(f"{name}, {better}", loc="left", fontsize=12,
                         fontweight="bold", pad=8)
            longest = max(max(b.value, b.high or 0) for b in rows)
            limit = 1.0 if panel.measure == "accuracy" else longest * 1.05
            ax.set_xlim(0, max(limit, longest) * 1.22)
            ax.set_ylim(0, tall)  # y in inches from the bottom of the panel
            y = tall
            for bar, (name_lines, detail_lines), row_h in zip(rows, lines, heights):
                _, colour, hatch = ROLES[bar.role]
                ax.text(0, y, "\n".join(name_lines), va="top", ha="left", fontsize=12,
                        linespacing=1.1)
                y_detail = y - name_h * len(name_lines)
                ax.text(0, y_detail, "\n".join(detail_lines), va="top", ha="left", fontsize=10,
                        color="#333333", linespacing=1.1)
                centre = y_detail - detail_h * len(detail_lines) - bar_h / 2
                ax.barh(centre, bar.value, height=bar_h * 0.9, color=colour, hatch=hatch,
                        edgecolor="#222222", linewidth=0.8)
                end = bar.value
                if bar.low is not None:
                    ax.plot([bar.low, bar.high], [centre] * 2, color="#222222", linewidth=1.5,
                            marker="|", markersize=12, markeredgewidth=1.5)
                    end = max(end, bar.high)
                ax.text(end + 0.012 * ax.get_xlim()[1], centre, shown_value(bar.value, panel.measure),
                        va="center", ha="left", fontsize=12, fontweight="bold")
                y -= row_h
            ax.set_yticks([])
            for side in ("left", "right", "top"):
                ax.spines[side].set_visible(False)
            ax.spines["bottom"].set_bounds(0, limit)
            if panel.measure == "accuracy":
                ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0 %", "25 %", "50 %", "75 %", "100 %"])
            else:
                ax.set_xticks([t for t in ax.get_xticks() if 0 <= t <= limit])
            ax.tick_params(axis="x", labelsize=10)
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        renderer = FigureCanvasAgg(fig).get_renderer()
        cut = [t.get_text() for ax in fig.axes for t in ax.texts
               if t.get_window_extent(renderer).x1 > fig.bbox.x1 + 0.5]
        if cut:
            raise ValueError(f"{dataset.slug}: text runs past the figure's right edge: {cut}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def dataset_panels(records: dict, references: list[dict], docs: set[str]):
    """Each data set that has any number, with its panels' rows (panels without rows left out)."""
    for dataset in DATASETS:
        panels = [(panel, rows) for panel in dataset.panels
                  if (rows := bars(dataset, panel, records, references, docs))]
        if panels:
            yield dataset, panels


def figures() -> dict[str, bytes]:
    """Every figure of the page: file name under chapters/results_figures -> SVG bytes."""
    records, references, docs = load_results(), load_references(), toc_docs()
    return {f"{dataset.slug}.svg": figure_svg(dataset, panels)
            for dataset, panels in dataset_panels(records, references, docs)}


def column(name: str) -> str:
    """A measure's name as a table header: "accuracy", but "RMSE in stars"."""
    return name[0].lower() + name[1:] if name[1:2].islower() else name


def dataset_sections(records: dict, references: list[dict], docs: set[str]) -> list[str]:
    """The page's opening: per data set a heading, one sentence, the figure and its table."""
    out = []
    for dataset, panels in dataset_panels(records, references, docs):
        out += [f"## {dataset.title}", "", dataset.about, "",
                f"```{{figure}} {FIGURES.name}/{dataset.slug}.svg",
                f":alt: {alt_text(dataset, panels)}",
                f":name: results-{dataset.slug.replace('_', '-')}",
                "",
                f"{dataset.title}. " + (QUOTED_AND_OURS if any(
                    b.role in ("tutorial", "published") for _, rows in panels for b in rows) else ALL_OURS)
                + " Under each name: whose number it is and what it was measured on.",
                "```", ""]
        for panel, rows in panels:
            trained = any(b.trained_on for b in rows)
            out += ["| model | whose number | measured on | " + ("trained on | " if trained else "")
                    + f"{column(MEASURES[panel.measure][0])} | source |",
                    "|---|---|---|" + ("---|" if trained else "") + "---|---|"]
            for b in rows:
                cells = [_cell(b.label), _cell(b.tag + (f" ({b.note})" if b.note else "")), _cell(b.split)]
                cells += [f"{b.trained_on:,} texts" if b.trained_on else "-"] if trained else []
                value = shown_value(b.value, panel.measure) + _range(b, panel.measure, " (", ")")
                out.append("| " + " | ".join([*cells, value, b.source]) + " |")
            out += ["", *verdicts(panel, rows)]
    return out


def verdicts(panel: Panel, rows: list[Bar]) -> list[str]:
    """Per split, one sentence: the best sequence model against the linear baseline, as the numbers
    show it (one run each: under a point of accuracy is a tie)."""
    out = []
    for best in (b for b in rows if b.role == "best"):
        linear = [b for b in rows if b.role == "linear" and b.split == best.split]
        if len(linear) != 1:
            continue
        gap = best.value - linear[0].value
        better = gap > 0 if panel.measure == "accuracy" else gap < 0
        if panel.measure == "accuracy" and abs(gap) < 0.01:
            word = "ties with"
        else:
            word = "is ahead of" if better else "is behind"
        out += [f"On {best.split}, the best sequence model {word} the linear baseline: "
                f"{shown_value(best.value, panel.measure)} against {shown_value(linear[0].value, panel.measure)}"
                f" ({'accuracy' if panel.measure == 'accuracy' else 'RMSE'}, {MEASURES[panel.measure][1]}; one run each"
                + ("; under a point apart counts as a tie)." if panel.measure == "accuracy" else ")."), ""]
    return out


def render() -> str:
    records, references, docs = load_results(), load_references(), toc_docs()
    out = [
        "# Results",
        "",
        "For each data set: the tutorial's number, this book's rebuild of it, the book's best "
        "sequence model, a linear baseline (TF-IDF + logistic regression) and, for scale, published "
        "results, each labelled with what it was measured on. Below them: how and when each "
        "chapter ran, and every number it saved.",
        "",
        "Every number on this page was saved by a chapter's closing cell during the committed full "
        "run of that chapter (`results/<chapter>.json`), or is quoted from a source named beside it "
        "(`results/references.yaml`). The page and its figures are written by "
        "`tools/results_page.py` (`make results`); a test fails when they fall behind the results "
        "files.",
        "",
        *dataset_sections(records, references, docs),
        "## How and when each chapter ran",
        "",
        "Wall time is the whole notebook, from `training.setup()` to the saved results. The machine "
        "is the device, the processor (recorded since 2026-12-02) and the torch version; the load is "
        "the 1-minute load average when the run started, then the 1-, 5- and 15-minute averages when "
        "it ended; the precision is the number format training used (fp32: float32, bf16: bfloat16 "
        "autocast). Older runs did not record the thread count, precision, seed, commit and load. Seconds are "
        "comparable only between runs on the same processor.",
        "",
        "| chapter | mode | machine | threads; precision | seed | commit | wall time | "
        "load: start; end | date |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for stem, record in records.items():
        run = record["run"]
        load = run.get("load_average")
        load = " / ".join(f"{x:.2f}" for x in load) if load else NOT_RECORDED
        commit = fmt_commit(run.get("commit"))
        machine = "; ".join([*(str(run[k]) for k in ("device", "processor") if k in run),
                             f"torch {run.get('torch', NOT_RECORDED)}"])
        start = run.get("load_average_at_start")
        out.append("| " + " | ".join([
            _name(stem, docs), run.get("mode", NOT_RECORDED), _cell(machine),
            f"{run.get('threads', NOT_RECORDED)}; {run.get('precision', NOT_RECORDED)}",
            str(run.get("seed", NOT_RECORDED)), commit, wall(run.get("wall_seconds")),
            f"{NOT_RECORDED if start is None else f'{start:.2f}'}; {load}",
            run.get("date", NOT_RECORDED),
        ]) + " |")
    chapters = [r["run"] for stem, r in records.items()
                if f"chapters/{stem}" in docs and r["run"].get("mode") == "full"]
    if chapters and all(run.get("wall_seconds") is not None for run in chapters):
        total = wall(sum(run["wall_seconds"] for run in chapters))
        out += ["", f"The full runs of the {len(chapters)} chapters above took {total} together."]
    out += ["", "## Each chapter's numbers", ""]
    for stem, record in records.items():
        metrics = record["metrics"]
        out += [f"### {_name(stem, docs)}", ""]
        rows = headline(stem, metrics)
        if rows:
            out += ["| what | this book |", "|---|---|"]
            out += [f"| {_cell(label)} (`{key}`) | {fmt(metrics[key])} |" for key, label in rows]
            out.append("")
        beside = [r for r in references if r["chapter"] == stem]
        if beside:
            out += ["Beside them:", "", "| number | value | this book | source |", "|---|---|---|---|"]
            for ref in beside:
                ours = fmt(metrics[ref["compare"]]) if ref.get("compare") in metrics else "-"
                out.append(f"| {_cell(ref['what'])} ({whose(ref)}) | {fmt(ref['value'])} | {ours} "
                           f"| {{cite}}`{ref['source']}`: {_cell(ref['where'])} |")
            out.append("")
        out += [f":::{{dropdown}} All {len(metrics)} numbers this run saved", "",
                "| name | value |", "|---|---|"]
        out += [f"| `{key}` | {fmt(value)} |" for key, value in metrics.items()]
        out += [":::", ""]
    waiting = sorted({r["chapter"] for r in references} - set(records))
    if waiting:
        out += ["## Numbers waiting for their chapter's run", "",
                "| chapter | number | value | source |", "|---|---|---|---|"]
        for ref in (r for r in references if r["chapter"] in waiting):
            out.append(f"| `{ref['chapter']}` | {_cell(ref['what'])} ({whose(ref)}) | {fmt(ref['value'])} "
                       f"| {{cite}}`{ref['source']}`: {_cell(ref['where'])} |")
        out.append("")
    return "\n".join(out)


def write(path: Path, content: str | bytes) -> bool:
    """Write `content` to `path` atomically (a reader never sees half a file); False if unchanged."""
    data = content.encode() if isinstance(content, str) else content
    if path.is_file() and path.read_bytes() == data:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def main() -> int:
    FIGURES.mkdir(exist_ok=True)
    drawn = figures()
    for old in sorted(set(p.name for p in FIGURES.glob("*.svg")) - set(drawn)):
        (FIGURES / old).unlink()
        print(f"removed {(FIGURES / old).relative_to(ROOT)}")
    for name, svg in drawn.items():
        if write(FIGURES / name, svg):
            print(f"wrote {(FIGURES / name).relative_to(ROOT)}")
    changed = write(PAGE, render())
    print(f"{'wrote' if changed else 'up to date:'} {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
