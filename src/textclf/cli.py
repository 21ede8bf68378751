"""The command line: ``textclf train``, ``predict``, ``evaluate`` and ``explain`` (also ``python -m textclf``).

Exit status 0 on success, 2 on a usage or data error (one message on stderr, no traceback).
CSV files are read as UTF-8, every cell as text; a cell that is empty or only spaces is missing.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from .files import DataError, atomic_write, unwritable_reason

_WHOLE = re.compile(r"^[+-]?\d+$")
_INT64 = 2**63 - 1
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _n(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless the count is one: "1 row", "1,234 rows", "2 classes"."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}{'es' if noun.endswith('s') else 's'}"


class UsageError(ValueError):
    """A command-line or input-file problem, reported as one line with exit status 2."""


# ------------------------------------------------------------------------------------------ CSV input

def read_csv(path: str | Path) -> pd.DataFrame:
    """Every cell of a UTF-8 CSV file as text (nothing turned into NaN or numbers)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if path.is_dir():
        raise UsageError(f"{path} is a directory; give the path of a CSV file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {path} ({err.strerror or err})") from err
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise UsageError(f"{path}, line {line}: byte 0x{data[err.start]:02x} is not UTF-8; save the file "
                         f"as UTF-8 (in a spreadsheet: CSV UTF-8)") from err
    if not content.strip():
        raise UsageError(f"{path} is empty: a CSV file needs a header line naming the columns, then one row "
                         f"per example")
    try:
        df = pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, ValueError) as err:
        if "EOF inside string" in str(err):  # the row holding the open quote runs to the end of the file
            _, lines, _ = _record_lines(content)
            line = f", line {lines[-1]}" if lines else ""
            raise UsageError(f"{path}{line}: a quoted field is never closed (a \" without its partner); "
                             f"close it, or write a \" inside a quoted field as \"\"") from err
        raise UsageError(f"{path} is not a valid CSV file: {str(err).strip()}") from err
    header, lines, widths = _record_lines(content)
    wide = [(line, width) for line, width in zip(lines, widths) if width > len(header)]
    if wide:
        (line, width), more = wide[0], len(wide) - 1
        raise UsageError(f"{path}, line {line} has {width} fields but the header names {len(header)} columns"
                         + (f" (and {more:,} more lines like it)" if more else "")
                         + "; put double quotes around a text that holds a comma, and remove extra commas "
                         "at the end of a line")
    repeated = sorted({name for name in header if name.strip() and header.count(name) > 1})  # not blank ones
    if repeated:
        raise UsageError(f"{path}: the header names the column(s) {', '.join(map(repr, repeated))} more than "
                         f"once; every column needs its own name")
    if len(df) == 0:
        raise UsageError(f"{path} has a header ({', '.join(map(repr, df.columns))}) but no rows")
    # the line where each row starts, for errors; without a match, as if no field held a line break
    df.index = lines if len(lines) == len(df) else range(2, len(df) + 2)
    return df


def _record_lines(content: str) -> tuple[list[str], list[int], list[int]]:
    """The header's names, the line of the file on which each data row starts (a quoted field
    may span lines; blank lines hold no row, as for pandas) and each row's number of fields."""
    reader, records, previous = csv.reader(io.StringIO(content, newline="")), [], 0
    limit = csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # texts may be long; restored below
    try:
        for record in reader:
            if record and not (len(record) == 1 and not record[0].strip()):  # pandas skips blank lines
                records.append((previous + 1, record))
            previous = reader.line_num
    except csv.Error:  # what pandas read, Python's csv module may not: no line numbers then
        return [], [], []
    finally:
        csv.field_size_limit(limit)
    rows = records[1:]
    return (records[0][1] if records else []), [start for start, _ in rows], [len(r) for _, r in rows]


def need_columns(df: pd.DataFrame, path, **columns: str) -> None:
    """Refuse a missing column, listing the columns the file has."""
    for option, name in columns.items():
        if name not in df.columns:
            other = [sep for sep in (";", "\t", "|") if len(df.columns) == 1 and sep in df.columns[0]]
            hint = (f"; the header seems to separate its names with {other[0]!r}: save the file with commas "
                    f"between fields (CSV)") if other else ""
            raise UsageError(f"{path} has no column {name!r} (--{option}); its columns are: "
                             + ", ".join(repr(c) for c in df.columns) + hint)


def _blank(values: pd.Series) -> np.ndarray:
    return values.str.strip().eq("").to_numpy()


def label_values(values: pd.Series, path, column: str) -> list:
    """A label column as whole numbers (if every label is one, written as Python writes it) or as
    class names; a mix of numbers and names is refused.

    ``values`` keeps the index :func:`read_csv` gives (the line of the file where each row starts),
    so an error names the line even after rows were dropped."""
    line = lambda position: int(values.index[position])  # noqa: E731
    numeric = values.str.strip().str.match(_NUMBER.pattern).to_numpy()
    if numeric.all():
        whole = values.str.strip().str.match(_WHOLE.pattern).to_numpy()
        if not whole.all():
            row = int(np.flatnonzero(~whole)[0])
            raise UsageError(f"{path}, column {column!r}: labels must be class names or whole numbers, line "
                             f"{line(row)} has {values.iloc[row]!r}")
        odd = [v for v in values if len(v.lstrip("+-")) > 19 or str(int(v)) != v or abs(int(v)) > _INT64]
        if not odd:
            return [int(v) for v in values]
        print(f"labels kept as written, as class names: {odd[0]!r} is not a whole number as Python writes "
              f"one (no leading zero or +, no -0, at most 19 digits), so no label is read as a number")
        return values.tolist()
    if numeric.any():
        n, t = int(np.flatnonzero(numeric)[0]), int(np.flatnonzero(~numeric)[0])
        raise UsageError(f"{path}, column {column!r} mixes numbers and names (line {line(n)}: "
                         f"{values.iloc[n]!r}, line {line(t)}: {values.iloc[t]!r}); use one kind of label")
    return values.tolist()


def labelled_rows(path: str | Path, text: str, label: str) -> tuple[list[str], pd.Series]:
    """A CSV file's texts and its labels as written (spaces trimmed; the index is each row's line).

    Rows with an empty text or label are dropped, and the counts printed."""
    df = read_csv(path)
    need_columns(df, path, text=text, label=label)
    if text == label:
        raise UsageError("--text and --label name the same column")
    empty_text, empty_label = _blank(df[text]), _blank(df[label])
    if empty_text.any():
        print(f"dropped {int(empty_text.sum()):,} of {_n(len(df), 'row')} with an empty or missing text "
              f"(column {text!r})")
    if (empty_label & ~empty_text).any():
        print(f"dropped {_n(int((empty_label & ~empty_text).sum()), 'row')} with an empty label (column {label!r})")
    df = df[~empty_text & ~empty_label]
    if len(df) == 0:
        raise UsageError(f"{path}: no row has both a text (column {text!r}) and a label "
                         f"(column {label!r})")
    spaced = (df[label] != df[label].str.strip()).to_numpy()
    if spaced.any():
        first = df[label][spaced].iloc[0]
        print(f"spaces around {_n(int(spaced.sum()), 'label')} removed (so {first!r} is read as {first.strip()!r})")
    return df[text].tolist(), df[label].str.strip()


def _print_classes(labels: list, shown: int = 20) -> dict:
    """Print how many examples and classes ``labels`` holds (the first ``shown`` classes with their
    counts); returns each class's count, in sorted order."""
    counts = dict(sorted(Counter(labels).items()))
    listed = ", ".join(f"{c} ({n:,})" for c, n in list(counts.items())[:shown])
    more = f", ... ({len(counts) - shown:,} more)" if len(counts) > shown else ""
    print(f"{_n(len(labels), 'example')}, {_n(len(counts), 'class')}: {listed}{more}")
    return counts


def read_examples(path: str | Path, text: str, label: str) -> tuple[list[str], list]:
    """The texts and labels of a CSV file's two named columns, as ``textclf train`` reads them.

    Rows with an empty text or label are dropped (the counts are printed); labels are whole
    numbers if every one is, else class names; fewer than two classes is an error.
    """
    texts, written = labelled_rows(path, text, label)
    labels = label_values(written, path, label)
    if len(set(labels)) < 2:
        raise UsageError(f"{path}, column {label!r} holds one class only ({labels[0]!r}, "
                         f"{len(labels):,} rows): a classifier needs at least two")
    _print_classes(labels)
    return texts, labels


def labels_like(written: pd.Series, classes: list, path, column: str) -> list:
    """Labels as written, read as the model's classes are: whole numbers for a model trained on
    numbers (Python's way of writing them, else an error naming the line), text otherwise."""
    if isinstance(classes[0], str):
        return written.tolist()
    plain = np.array([bool(_WHOLE.match(v)) and len(v.lstrip("+-")) <= 19 and str(int(v)) == v for v in written])
    if not plain.all():
        row = int(np.flatnonzero(~plain)[0])
        value = written.iloc[row] if len(written.iloc[row]) <= 40 else written.iloc[row][:37] + "..."
        raise UsageError(f"{path}, column {column!r}: the model's classes are whole numbers "
                         f"({', '.join(map(str, classes[:6]))}{', ...' if len(classes) > 6 else ''}), "
                         f"but line {int(written.index[row])} has {value!r}; write each "
                         f"label as a whole number as Python writes it (1, not +1, 01 or 1.0; at most 19 digits)")
    return [int(v) for v in written]


# ------------------------------------------------------------------------------------------- commands

def train(args: argparse.Namespace) -> None:
    from .classifier import TextClassifier, _check_target, tuned_tfidf_baseline, validation_split

    out = Path(args.out)
    _check_target(out, args.overwrite)  # fail before training, not after
    texts, labels = read_examples(args.data, args.text, args.label)
    try:
        train_at, valid_at = validation_split(labels, 0.1, args.seed)
    except ValueError as err:
        raise UsageError(f"{args.data}, column {args.label!r}: {err}") from err
    if len(valid_at) > round(0.1 * len(labels)):
        print(f"the validation part holds {len(valid_at):,} of {len(labels):,} examples, more than 10 %: "
              f"it needs one of every class")
    pick = lambda values, at: [values[i] for i in at]  # noqa: E731
    train_texts, valid_texts = pick(texts, train_at), pick(texts, valid_at)
    train_labels, valid_labels = pick(labels, train_at), pick(labels, valid_at)

    clf = TextClassifier(epochs=args.epochs, seed=args.seed, hidden_dim=args.hidden_dim,
                         glove=not args.no_glove, quick=True if args.quick else None)
    start = time.perf_counter()
    clf.fit(train_texts, train_labels, validation=(valid_texts, valid_labels))
    seconds = time.perf_counter() - start
    accuracy = clf.score(valid_texts, valid_labels)
    _, baseline_scores = tuned_tfidf_baseline(train_texts, train_labels, valid_texts, valid_labels)
    best_c = max(baseline_scores, key=baseline_scores.get)
    print(f"validation accuracy on {len(valid_texts):,} texts: BiLSTM {accuracy:.2%} ({seconds:.0f} s) | "
          f"TF-IDF + logistic regression (C={best_c:g}, chosen on validation) {baseline_scores[best_c]:.2%}")
    if clf._quick():
        source = "--quick" if args.quick else "TEXTCLF_QUICK=1"
        print(f"({source}: the BiLSTM trained on a few batches for at most 2 epochs, the TF-IDF model on all "
              f"{len(train_texts):,} training texts; not a comparison)")
    clf.save(out, overwrite=args.overwrite)
    print(f"saved the model to {out}")


def predict(args: argparse.Namespace) -> None:
    from .classifier import TextClassifier

    if args.csv is None and not args.texts:
        raise UsageError("give texts to classify, or --csv IN.csv --text COLUMN --out OUT.csv")
    if args.csv is not None and args.texts:
        raise UsageError("give either texts or --csv, not both")
    if args.csv is None and (args.text or args.out or args.overwrite):
        raise UsageError("--text, --out and --overwrite go with --csv IN.csv")
    if args.csv is not None and not (args.text and args.out):
        raise UsageError("--csv needs --text COLUMN (the texts) and --out OUT.csv (where to write)")
    if args.csv is not None and Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a directory; give the path of the CSV file to write")
    if args.csv is not None and Path(args.out).exists() and not args.overwrite:
        raise UsageError(f"--out {args.out} exists; pass --overwrite to replace it, or name a new file")
    problem = unwritable_reason(args.out) if args.csv is not None else None
    if problem:
        raise UsageError(f"--out {args.out}: {problem}; name a file in a folder you can write to")
    blank = [i + 1 for i, text in enumerate(args.texts) if not text.strip()]
    if blank:
        raise UsageError(f"text {blank[0]} is empty or blank: give texts with words to classify")
    clf = TextClassifier.load(args.model)
    if args.csv is None:
        probabilities = clf.predict_proba(args.texts)
        for text, row in zip(args.texts, probabilities):
            best = int(row.argmax())
            shown = " ".join(text.split())  # one line per text, tabs only between the fields
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            print(f"{clf.classes_[best]}\t{row[best]:.3f}\t{shown}")
        return
    df = read_csv(args.csv)
    need_columns(df, args.csv, text=args.text)
    columns = ["predicted_label", *(f"p_{c}" for c in clf.classes_.tolist())]
    taken = [c for c in columns if c in df.columns]
    if taken:
        raise UsageError(f"{args.csv} already has the column(s) {', '.join(map(repr, taken))} that predict adds; "
                         f"rename or drop them")
    blank = _blank(df[args.text])
    probabilities = clf.predict_proba(df[args.text][~blank].tolist())
    df["predicted_label"] = ""
    df.loc[~blank, "predicted_label"] = [str(c) for c in clf.classes_[probabilities.argmax(axis=1)]]
    for j, c in enumerate(clf.classes_.tolist()):
        df[f"p_{c}"] = ""
        df.loc[~blank, f"p_{c}"] = [f"{p:.6f}" for p in probabilities[:, j]]
    with atomic_write(args.out) as tmp:
        df.to_csv(tmp, index=False)
    if blank.any():
        print(f"{_n(int(blank.sum()), 'row')} with an empty text: left without a prediction")
    print(f"wrote {_n(len(df), 'row')} with predicted_label and {', '.join(columns[1:])} to {args.out}")


def evaluate(args: argparse.Namespace) -> None:
    from .classifier import TextClassifier, unseen_labels
    from .metrics import accuracy, classification_report

    clf = TextClassifier.load(args.model)
    classes = clf.classes_.tolist()
    texts, written = labelled_rows(args.data, args.text, args.label)
    labels = labels_like(written, classes, args.data, args.label)
    counts = _print_classes(labels)
    unseen, rows, shown = unseen_labels(labels, classes)
    if rows == len(labels):
        raise UsageError(f"{args.data}, column {args.label!r}: none of its labels is a class the model "
                         f"knows ({shown}); the model's classes are {', '.join(map(repr, classes))}")
    if unseen:
        print(f"{rows:,} of {_n(len(labels), 'row')} with a label the model never saw ({len(unseen):,} "
              f"distinct: {shown}): they count as wrong")
    predicted = clf.predict(texts).tolist()
    present = set(labels) | set(predicted)  # the report, and its averages, cover these classes only
    names = [c for c in classes if c in present] + unseen
    index = {c: i for i, c in enumerate(names)}
    true_ids, predicted_ids = [index[y] for y in labels], [index[p] for p in predicted]
    top = max(counts, key=counts.get)  # the first of the most common, in sorted order
    print(f"accuracy {accuracy(true_ids, predicted_ids):.2%} on {_n(len(labels), 'text')} (always "
          f"answering the file's most common label, {top}, would score {counts[top] / len(labels):.2%})")
    print(classification_report(true_ids, predicted_ids, [str(c) for c in names]))


def explain(args: argparse.Namespace) -> None:
    from .classifier import TextClassifier

    clf = TextClassifier.load(args.model)
    print(clf.explain(args.text, words=args.words, samples=args.samples, seed=args.seed).table())


# ----------------------------------------------------------------------------------------- the parser

class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (what was wrong, and where the accepted usage is)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _whole(low: int, high: int | None = None):
    """An argparse type: a whole number from ``low`` to ``high``."""
    def check(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if number < low or (high is not None and number > high):
            bounds = f">= {low}" if high is None else f"from {low} to {high:,}"
            raise argparse.ArgumentTypeError(f"expected a whole number {bounds}, got {value!r}")
        return number
    return check


_positive, _seed = _whole(1), _whole(0, 2**32 - 1)


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="textclf", description="Train a bidirectional LSTM text classifier on your own CSV, then "
        "predict, evaluate and explain with it.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("train", help="train on a CSV file and save the model",
                            description="Train on a labelled CSV: 10% of it (stratified, fixed seed) "
                            "picks the epoch and is scored, beside TF-IDF + logistic regression; the "
                            "model is saved to a folder.")
    p.add_argument("data", metavar="DATA.csv", help="UTF-8 CSV file with a header line")
    p.add_argument("--text", required=True, metavar="COLUMN", help="the column holding the texts")
    p.add_argument("--label", required=True, metavar="COLUMN", help="the column holding the labels "
                   "(class names, or whole numbers)")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="folder to save the model in")
    p.add_argument("--quick", action="store_true", help="a few seconds of training: at most 2 epochs "
                   "of 8 batches (as TEXTCLF_QUICK=1)")
    p.add_argument("--epochs", type=_positive, default=10, help="most epochs to train (default 10; "
                   "stops after 2 without a better validation loss)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument("--hidden-dim", type=_whole(1, 4096), default=128,
                   help="LSTM size per direction (default 128, at most 4096)")
    p.add_argument("--no-glove", action="store_true", help="start from random word vectors, not GloVe")
    p.add_argument("--overwrite", action="store_true", help="replace a model already saved in MODEL_DIR")
    p.set_defaults(run=train)

    p = commands.add_parser("predict", help="classify texts, or a CSV file's texts",
                            description="Print each text's predicted label and its probability, or "
                            "write a CSV file's rows with predicted_label and one p_<class> column per class.")
    p.add_argument("model", metavar="MODEL_DIR", help="a folder written by textclf train")
    p.add_argument("texts", nargs="*", default=[], metavar="TEXT", help="texts to classify")
    p.add_argument("--csv", metavar="IN.csv", help="a UTF-8 CSV file whose texts to classify")
    p.add_argument("--text", metavar="COLUMN", help="with --csv: the column holding the texts")
    p.add_argument("--out", metavar="OUT.csv", help="with --csv: the CSV file to write")
    p.add_argument("--overwrite", action="store_true", help="with --csv: replace OUT.csv if it exists")
    p.set_defaults(run=predict)

    p = commands.add_parser("evaluate", help="score a saved model on a labelled CSV file",
                            description="Accuracy, beside always answering the file's most common "
                            "label, and precision, recall and F1 per class of a saved model on a "
                            "labelled CSV file it did not train on.")
    p.add_argument("model", metavar="MODEL_DIR", help="a folder written by textclf train")
    p.add_argument("data", metavar="DATA.csv", help="UTF-8 CSV file with a header line")
    p.add_argument("--text", required=True, metavar="COLUMN", help="the column holding the texts")
    p.add_argument("--label", required=True, metavar="COLUMN", help="the column holding the labels")
    p.set_defaults(run=evaluate)

    p = commands.add_parser("explain", help="LIME's top words for a text's predicted class",
                            description="Which words pushed the prediction of one text towards its "
                            "predicted class (+) or away from it (-), estimated by LIME.")
    p.add_argument("model", metavar="MODEL_DIR", help="a folder written by textclf train")
    p.add_argument("text", metavar="TEXT", help="the text to explain")
    p.add_argument("--words", type=_positive, default=10, help="how many words to show (default 10)")
    p.add_argument("--samples", type=_whole(2), default=1000, help="perturbed texts LIME classifies "
                   "(default 1000, at least 2; more is steadier and slower)")
    p.add_argument("--seed", type=_seed, default=0, help="LIME's random seed (default 0)")
    p.set_defaults(run=explain)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status (0 done, 2 usage or data error)."""
    from .classifier import ModelFileError

    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed by argparse
        return int(exit_.code or 0)
    try:
        args.run(args)
    except (UsageError, ModelFileError, DataError, ValueError, TypeError, OSError) as err:
        print(f"textclf {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"textclf {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
