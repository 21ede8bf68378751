"""Write the book's results page, chapters/results.md, from results/*.json (`make results`).

Every number on the page comes from a results file a chapter's committed full run saved, or from
results/references.yaml (the seeds' and published numbers, each with its source). Nothing on the
page is typed by hand; tests/test_results_page.py fails when the page differs from what this
script writes now. Any results file is shown, also one this script knows nothing about: all its
numbers appear, and its accuracy-like numbers become its headline.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
PAGE = ROOT / "chapters" / "results.md"
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
}
# For a results file not listed above: its numbers whose names say they are scores.
GENERIC_HEADLINE = re.compile(r"(accuracy|rmse|mae|f1|auc)$", re.IGNORECASE)
KIND = {"seed": "seed tutorial", "anchor": "published"}


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


def render() -> str:
    records, references, docs = load_results(), load_references(), toc_docs()
    out = [
        "# Results",
        "",
        "Every number on this page was saved by a chapter's closing cell during the committed full "
        "run of that chapter (`results/<chapter>.json`), or is quoted from a source named beside it "
        "(`results/references.yaml`). The page itself is written by `tools/results_page.py` "
        "(`make results`); a test fails when it falls behind the results files.",
        "",
        "## How and when each chapter ran",
        "",
        "Wall time is the whole notebook, from `training.setup()` to the saved results. The machine "
        "is the device, the processor (recorded since 2026-12-02) and the torch version; the load is "
        "the 1-minute load average when the run started, then the 1-, 5- and 15-minute averages when "
        "it ended. Older runs did not record the thread count, seed, commit and load. Seconds are "
        "comparable only between runs on the same processor.",
        "",
        "| chapter | mode | machine | threads | seed | commit | wall time | "
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
        out.append("| " + " | ".join([
            _name(stem, docs), run.get("mode", NOT_RECORDED), _cell(machine),
            str(run.get("threads", NOT_RECORDED)),
            str(run.get("seed", NOT_RECORDED)), commit, wall(run.get("wall_seconds")),
            f"{run.get('load_average_at_start', NOT_RECORDED)}; {load}",
            run.get("date", NOT_RECORDED),
        ]) + " |")
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
                out.append(f"| {_cell(ref['what'])} ({KIND[ref['kind']]}) | {fmt(ref['value'])} | {ours} "
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
            out.append(f"| `{ref['chapter']}` | {_cell(ref['what'])} ({KIND[ref['kind']]}) | {fmt(ref['value'])} "
                       f"| {{cite}}`{ref['source']}`: {_cell(ref['where'])} |")
        out.append("")
    return "\n".join(out)


def main() -> int:
    text = render()
    if PAGE.is_file() and PAGE.read_text() == text:
        print(f"{PAGE.relative_to(ROOT)} is up to date")
        return 0
    tmp = PAGE.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(PAGE)  # atomic: a reader never sees half a page
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
