"""The command line: train, predict, evaluate and explain on a small CSV; exit codes and messages."""

import contextlib
import csv
import io
import subprocess
import sys

import pandas as pd
import pytest

from textclf.cli import label_values, main, read_examples

GOOD = ["good great fine film", "a great and fine plot", "good acting, great fun", "fine good great"]
BAD = ["bad awful poor film", "an awful and poor plot", "bad acting, awful mess", "poor bad awful"]
SMALL = ["--no-glove", "--hidden-dim", "8", "--epochs", "2"]


def write_csv(path, rows, header=("review", "sentiment")):
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def labelled_rows(repeat=6):
    return ([(t, "pos") for t in GOOD] + [(t, "neg") for t in BAD]) * repeat


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained once by ``textclf train``, and what it printed."""
    folder = tmp_path_factory.mktemp("cli")
    data = write_csv(folder / "reviews.csv", labelled_rows() + [("", "pos"), ("  ", "neg")])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["train", data, "--text", "review", "--label", "sentiment", "--out",
                       str(folder / "model"), *SMALL])
    assert status == 0
    return folder, out.getvalue()


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def test_train_prints_accuracies_and_saves(trained):
    folder, printed = trained
    assert "dropped 2 of 50 rows with an empty or missing text" in printed
    assert "epoch  1 |" in printed
    assert "BiLSTM" in printed and "chosen on validation)" in printed and "TF-IDF + logistic regression (C=" in printed
    assert (folder / "model" / "manifest.json").is_file()


def test_predict_texts_one_line_each(trained, capsys):
    status, out, _ = run(capsys, "predict", trained[0] / "model", "good great film", "awful\tpoor\nplot")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 2
    label, probability, text = lines[0].split("\t")
    assert label in ("pos", "neg") and 0.5 <= float(probability) <= 1 and text == "good great film"
    assert lines[1].split("\t")[2] == "awful poor plot"  # a tab or line break in a text stays inside its field
    status, out, err = run(capsys, "predict", trained[0] / "model", "good", " ")
    assert status == 2 and "text 2 is empty or blank" in err and out == ""


def test_predict_csv_writes_rows_and_probabilities(trained, capsys, tmp_path):
    data = write_csv(tmp_path / "in.csv", [("good film", "x"), ("", "y"), ("awful", "z")], ("review", "note"))
    status, out, _ = run(capsys, "predict", trained[0] / "model", "--csv", data, "--text", "review",
                         "--out", tmp_path / "out.csv")
    assert status == 0 and "1 row with an empty text" in out
    with open(tmp_path / "out.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["review", "note", "predicted_label", "p_neg", "p_pos"]
    assert rows[0]["predicted_label"] in ("pos", "neg") and rows[1]["predicted_label"] == ""
    assert abs(float(rows[2]["p_neg"]) + float(rows[2]["p_pos"]) - 1) < 1e-5
    status, _, err = run(capsys, "predict", trained[0] / "model", "--csv", tmp_path / "out.csv", "--text",
                         "review", "--out", tmp_path / "again.csv")
    assert status == 2 and "already has the column(s) 'predicted_label'" in err
    assert not (tmp_path / "again.csv").exists()


def test_explain_prints_a_table(trained, capsys):
    status, out, _ = run(capsys, "explain", trained[0] / "model", "good great film", "--words", "3",
                         "--samples", "50")
    assert status == 0 and "predicted:" in out and "weight" in out
    for no_words in ("  ", "!!!", "\U0001f600"):
        status, _, err = run(capsys, "explain", trained[0] / "model", no_words)
        assert status == 2 and "has no words (letters or digits)" in err and err.count("\n") == 1


@pytest.mark.parametrize("rows, header, message", [
    (labelled_rows(), ("text", "sentiment"), "has no column 'review' (--text); its columns are: 'text', 'sentiment'"),
    ([(t, "pos") for t in GOOD * 3], None, "one class only ('pos', 12 rows)"),
    (labelled_rows() + [("odd", "rare")], None, "'rare' (1 example)"),
    ([(t, "pos") for t in GOOD * 3] + [(t, "2") for t in BAD * 3], None, "mixes numbers and names"),
    ([("", "pos"), ("  ", "neg")], None, "no row has both a text"),
])
def test_train_bad_csv_content(capsys, tmp_path, rows, header, message):
    data = write_csv(tmp_path / "d.csv", rows, header or ("review", "sentiment"))
    status, _, err = run(capsys, "train", data, "--text", "review", "--label", "sentiment", "--out",
                         tmp_path / "m", *SMALL)
    assert status == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "m").exists()


def test_train_bad_files(capsys, tmp_path):
    args = ["--text", "review", "--label", "sentiment", "--out", tmp_path / "m", *SMALL]
    (tmp_path / "empty.csv").write_text("")
    assert "is empty" in run(capsys, "train", tmp_path / "empty.csv", *args)[2]
    (tmp_path / "header.csv").write_text("review,sentiment\n")
    assert "no rows" in run(capsys, "train", tmp_path / "header.csv", *args)[2]
    (tmp_path / "latin1.csv").write_bytes("review,sentiment\ngood,pos\ncaf\u00e9,neg\n".encode("latin-1"))
    status, _, err = run(capsys, "train", tmp_path / "latin1.csv", *args)
    assert status == 2 and "line 3: byte 0xe9 is not UTF-8" in err
    status, _, err = run(capsys, "train", tmp_path, *args)
    assert status == 2 and "is a directory" in err
    status, _, err = run(capsys, "train", tmp_path / "none.csv", *args)
    assert status == 2 and "no such file" in err
    assert not (tmp_path / "m").exists()


def test_train_refuses_an_existing_model_before_training(trained, capsys):
    folder = trained[0]
    status, out, err = run(capsys, "train", folder / "reviews.csv", "--text", "review", "--label", "sentiment",
                           "--out", folder / "model", *SMALL)
    assert status == 2 and "--overwrite" in err and "epoch" not in out


def test_predict_bad_models_and_usage(trained, capsys, tmp_path):
    status, _, err = run(capsys, "predict", tmp_path / "nothing", "good")
    assert status == 2 and "does not exist" in err
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "config.json").write_text("{}")
    status, _, err = run(capsys, "predict", tmp_path / "partial", "good")
    assert status == 2 and "no manifest.json" in err
    status, _, err = run(capsys, "predict", trained[0] / "model")
    assert status == 2 and "give texts" in err
    status, _, err = run(capsys, "predict", trained[0] / "model", "x", "--csv", "a.csv")
    assert status == 2 and "not both" in err
    status, _, err = run(capsys, "predict", trained[0] / "model", "--csv", trained[0] / "reviews.csv",
                         "--text", "review", "--out", tmp_path)
    assert status == 2 and "is a directory" in err
    status, _, err = run(capsys, "train", "x.csv")  # argparse: required options missing, in one line
    assert status == 2 and err == ("textclf train: error: the following arguments are required: --text, --label, "
                                   "--out (see textclf train --help)\n")
    for argv in (["explain", "m", "t", "--words", "0"], ["explain", "m", "t", "--samples", "1"],
                 ["train", "x.csv", "--text", "a", "--label", "b", "--out", "m", "--seed", str(2**32)],
                 ["train", "x.csv", "--text", "a", "--label", "b", "--out", "m", "--hidden-dim", "4097"]):
        status, _, err = run(capsys, *argv)
        assert status == 2 and err.count("\n") == 1 and "expected a whole number" in err
    status, out, _ = run(capsys, "train", "--help")
    assert status == 0 and "--label COLUMN" in out


def test_python_dash_m_help():
    done = subprocess.run([sys.executable, "-m", "textclf", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert all(command in done.stdout for command in ("train", "predict", "explain"))


def test_label_errors_name_the_line_of_the_file_even_after_dropped_rows(tmp_path, capsys):
    data = write_csv(tmp_path / "mixed.csv", [("fine text", ""), ("good", "1"), ("bad", "two"), ("ok", "3")])
    status = main(["train", str(data), "--text", "review", "--label", "sentiment", "--out",
                   str(tmp_path / "model"), "--quick", "--no-glove"])
    err = capsys.readouterr().err
    assert status == 2 and "line 3: '1', line 4: 'two'" in err  # header is line 1, the blank label line 2
    assert not (tmp_path / "model").exists()


def test_labels_that_are_not_plain_numbers_stay_as_written(tmp_path, capsys):
    values = lambda *labels: pd.Series(list(labels), index=range(2, 2 + len(labels)))  # noqa: E731
    assert label_values(values("2", "-1", "10"), "d.csv", "y") == [2, -1, 10]
    for labels in [("001", "002", "010"), ("1", "01", "+1"), ("99999999999999999999", "2", "3"), ("7" * 5000, "2")]:
        assert label_values(values(*labels), "d.csv", "y") == list(labels)
        assert "labels kept as written, as class names" in capsys.readouterr().out
    rows = [(t, " pos") for t in GOOD * 3] + [(t, "neg ") for t in BAD * 3] + [("fine", "pos")]
    texts, labels = read_examples(write_csv(tmp_path / "spaced.csv", rows), "review", "sentiment")
    assert set(labels) == {"pos", "neg"} and "spaces around 24 labels removed (so ' pos' is read as 'pos')" in capsys.readouterr().out


def test_csv_problems_found_before_training(tmp_path, capsys):
    multi = write_csv(tmp_path / "multi.csv", [("a review\nover\nthree lines", "1"), ("short", "2.5")])
    status, _, err = run(capsys, "train", multi, "--text", "review", "--label", "sentiment", "--out", tmp_path / "m")
    assert status == 2 and "line 5 has '2.5'" in err  # the row starts on line 5: line 2 holds three lines
    (tmp_path / "twice.csv").write_text("review,sentiment,review\na,pos,b\nc,neg,d\n")
    status, _, err = run(capsys, "train", tmp_path / "twice.csv", "--text", "review", "--label", "sentiment",
                         "--out", tmp_path / "m")
    assert status == 2 and "names the column(s) 'review' more than once" in err
    (tmp_path / "afile").write_text("x")
    status, out, err = run(capsys, "train", multi, "--text", "review", "--label", "sentiment", "--out",
                           tmp_path / "afile" / "m")
    assert status == 2 and "afile is a file, so nothing can be made under it" in err and "epoch" not in out
    assert not (tmp_path / "m").exists()
    (tmp_path / "header.csv").write_text('review,"a, b"\n')
    status, _, err = run(capsys, "train", tmp_path / "header.csv", "--text", "review", "--label", "a, b", "--out", "m")
    assert status == 2 and "has a header ('review', 'a, b') but no rows" in err


@pytest.mark.parametrize("content, line", [
    ("review,sentiment,,\na,1,,\nb,2,,\nc,x,,\n", 4),                  # a spreadsheet's empty trailing columns
    ("review,sentiment\na,1\n   \nb,2\nc,x\n", 5),                    # a line of spaces holds no row
    ("review,sentiment\r\na,1\r\n\r\nb,2\r\nc,x\r\n", 5),                # Windows line ends, a blank line
    ("review,sentiment\ra,1\r\rb,2\rc,x\r", 5),                         # old Mac line ends
    ("review,sentiment\n" + "x" * 200_000 + ",1\nb,2\nc,x\n", 4),       # a field over the csv module's default limit
])
def test_label_errors_name_the_right_line_in_any_csv_layout(tmp_path, capsys, content, line):
    (tmp_path / "d.csv").write_bytes(content.encode())
    status, _, err = run(capsys, "train", tmp_path / "d.csv", "--text", "review", "--label", "sentiment",
                         "--out", tmp_path / "m")
    assert status == 2 and f"line {line}: 'x'" in err, err


def test_predict_overwrites_a_file_only_when_asked(trained, capsys, tmp_path):
    data = write_csv(tmp_path / "in.csv", [("good film", "x"), ("awful", "z")], ("review", "note"))
    (tmp_path / "out.csv").write_text("keep me\n")
    argv = ["predict", trained[0] / "model", "--csv", data, "--text", "review", "--out", tmp_path / "out.csv"]
    status, _, err = run(capsys, *argv)
    assert status == 2 and "exists; pass --overwrite" in err
    assert (tmp_path / "out.csv").read_text() == "keep me\n"
    assert run(capsys, *argv, "--overwrite")[0] == 0
    assert (tmp_path / "out.csv").read_text().startswith("review,note,predicted_label")
    status, out, err = run(capsys, *argv[:-1], tmp_path / "out.csv" / "x.csv")
    assert status == 2 and "out.csv is a file, so nothing can be made under it" in err and out == ""
    status, _, err = run(capsys, "predict")
    assert status == 2 and "required: MODEL_DIR (see" in err


def test_quick_mode_from_the_environment_says_it_is_no_comparison(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TEXTCLF_QUICK", "1")
    data = write_csv(tmp_path / "d.csv", labelled_rows(2))
    status, out, _ = run(capsys, "train", data, "--text", "review", "--label", "sentiment", "--out", tmp_path / "m",
                         *SMALL)
    assert status == 0 and "(TEXTCLF_QUICK=1: the BiLSTM trained on a few batches" in out
    assert "not a comparison" in out
    monkeypatch.delenv("TEXTCLF_QUICK")
    status, out, _ = run(capsys, "train", data, "--text", "review", "--label", "sentiment", "--out", tmp_path / "n",
                         "--quick", *SMALL)
    assert status == 0 and "(--quick: the BiLSTM trained on a few batches" in out and "not a comparison" in out


def test_evaluate_scores_a_saved_model_on_a_labelled_file(trained, capsys, tmp_path):
    rows = [(t, "pos") for t in GOOD] + [(t, "neg") for t in BAD] + [(GOOD[0], "pos"), ("", "neg")]
    data = write_csv(tmp_path / "held_out.csv", rows)
    status, out, err = run(capsys, "evaluate", trained[0] / "model", data, "--text", "review",
                           "--label", "sentiment")
    assert status == 0 and err == ""
    assert "dropped 1 of 10 rows with an empty or missing text" in out
    assert "9 examples, 2 classes: neg (4), pos (5)" in out
    predicted = [line for line in out.splitlines() if line.startswith("accuracy ")][0]
    assert "on 9 texts (always answering the file's most common label, pos, would score 55.56%)" in predicted
    from textclf.classifier import TextClassifier
    clf = TextClassifier.load(trained[0] / "model")
    texts, labels = [t for t, _ in rows[:-1]], [y for _, y in rows[:-1]]
    assert predicted.startswith(f"accuracy {clf.score(texts, labels):.2%} ")  # the same as score
    assert "precision" in out and "support" in out and out.count("\n   macro avg") == 1


def test_evaluate_names_labels_the_model_never_saw(trained, capsys, tmp_path):
    mixed = write_csv(tmp_path / "mixed.csv", [(GOOD[0], "pos"), (BAD[0], "neg"), (BAD[1], "meh")])
    status, out, _ = run(capsys, "evaluate", trained[0] / "model", mixed, "--text", "review", "--label", "sentiment")
    assert status == 0 and "1 of 3 rows with a label the model never saw (1 distinct: 'meh'): they count as wrong" in out
    assert "meh" in out.split("precision")[1]  # the report has a row for it
    renamed = write_csv(tmp_path / "renamed.csv", [(GOOD[0], "positive"), (BAD[0], "negative")])
    status, out, err = run(capsys, "evaluate", trained[0] / "model", renamed, "--text", "review",
                           "--label", "sentiment")
    assert status == 2 and "none of its labels is a class the model knows ('negative', 'positive')" in err
    assert "the model's classes are 'neg', 'pos'" in err and "accuracy" not in out
    shouted = write_csv(tmp_path / "shouted.csv", [(GOOD[0], "POS"), (BAD[0], "neg")])
    status, out, _ = run(capsys, "evaluate", trained[0] / "model", shouted, "--text", "review", "--label", "sentiment")
    assert status == 0 and "(1 distinct: 'POS'; labels must match the model's classes exactly, character for character" in out


def test_evaluate_reads_labels_as_the_model_was_trained(tmp_path, capsys):
    numbered = [(t, "1") for t in GOOD * 3] + [(t, "0") for t in BAD * 3]
    data = write_csv(tmp_path / "numbered.csv", numbered)
    assert run(capsys, "train", data, "--text", "review", "--label", "sentiment", "--out", tmp_path / "m",
               "--quick", *SMALL)[0] == 0
    one_class = write_csv(tmp_path / "ones.csv", [(GOOD[0], "1"), (GOOD[1], "1")])
    status, out, _ = run(capsys, "evaluate", tmp_path / "m", one_class, "--text", "review", "--label", "sentiment")
    assert status == 0 and "2 examples, 1 class: 1 (2)" in out  # one class is fine for scoring
    written = write_csv(tmp_path / "written.csv", [(GOOD[0], "1"), (BAD[0], "00")])
    status, _, err = run(capsys, "evaluate", tmp_path / "m", written, "--text", "review", "--label", "sentiment")
    assert status == 2 and "the model's classes are whole numbers (0, 1), but line 3 has '00'; write each" in err
    digits = write_csv(tmp_path / "digits.csv", [(GOOD[0], "1"), (BAD[0], "7" * 5000)])  # int() refuses 4,300+
    status, _, err = run(capsys, "evaluate", tmp_path / "m", digits, "--text", "review", "--label", "sentiment")
    assert status == 2 and "line 3 has '7777777" in err and "...'; write each label" in err and "at most 19 digits" in err
    beyond = write_csv(tmp_path / "beyond.csv", [(GOOD[0], "1"), (BAD[0], str(2**63)), (BAD[1], str(2**63 + 1))])
    status, out, _ = run(capsys, "evaluate", tmp_path / "m", beyond, "--text", "review", "--label", "sentiment")
    assert status == 0 and f"3 examples, 3 classes: 1 (1), {2**63} (1), {2**63 + 1} (1)" in out  # not merged floats
    assert "2 of 3 rows with a label the model never saw" in out
    from textclf.classifier import TextClassifier
    answered = set(TextClassifier.load(tmp_path / "m").predict([GOOD[0], GOOD[1]]).tolist())
    status, out, _ = run(capsys, "evaluate", tmp_path / "m", one_class, "--text", "review", "--label", "sentiment")
    rows = [line.split()[0] for line in out.split("precision")[1].splitlines()[2:] if line.strip()][:-3]
    assert rows == [str(c) for c in sorted({1} | answered)]  # no row, and no 0 in the averages, for class 0


def test_rows_with_more_fields_than_the_header_are_refused(trained, capsys, tmp_path):
    """An unquoted comma in a text would shift the row's columns (pandas makes the first field a row name)."""
    shifted = tmp_path / "commas.csv"
    shifted.write_text("review,sentiment\nGood, but awful film,pos\nBad, though lovely film,neg\nfine,pos\n")
    for argv in (["evaluate", trained[0] / "model", shifted, "--text", "review", "--label", "sentiment"],
                 ["train", shifted, "--text", "review", "--label", "sentiment", "--out", tmp_path / "m", "--quick"],
                 ["predict", trained[0] / "model", "--csv", shifted, "--text", "review", "--out", tmp_path / "o.csv"]):
        status, out, err = run(capsys, *argv)
        assert status == 2 and out == "" and "commas.csv, line 2 has 3 fields but the header names 2 columns " \
            "(and 1 more lines like it); put double quotes around a text that holds a comma" in err
    assert not (tmp_path / "m").exists() and not (tmp_path / "o.csv").exists()


def test_a_file_separated_by_semicolons_gets_a_hint(tmp_path, capsys):
    data = tmp_path / "semi.csv"
    data.write_text("review;sentiment\ngood film;pos\nbad film;neg\n")
    status, _, err = run(capsys, "train", data, "--text", "review", "--label", "sentiment", "--out", tmp_path / "m")
    assert status == 2 and "its columns are: 'review;sentiment'; the header seems to separate its names with ';'" in err


def test_counts_are_singular_for_one(trained, capsys, tmp_path):
    data = write_csv(tmp_path / "one.csv", [(GOOD[0], "pos"), ("", "neg")])
    status, out, _ = run(capsys, "evaluate", trained[0] / "model", data, "--text", "review", "--label", "sentiment")
    assert status == 0 and "dropped 1 of 2 rows with an empty or missing text" in out
    assert "1 example, 1 class: pos (1)" in out and " on 1 text (always answering" in out


def test_an_open_quote_is_named_with_its_line(tmp_path, capsys):
    data = tmp_path / "open.csv"
    data.write_text('review,sentiment\ngood film,pos\n"bad film,neg\nok,pos\n')
    status, _, err = run(capsys, "train", data, "--text", "review", "--label", "sentiment", "--out", tmp_path / "m")
    assert status == 2 and 'open.csv, line 3: a quoted field is never closed' in err


def test_a_label_in_decomposed_unicode_gets_the_hint(tmp_path, capsys):
    rows = [(t, "n\u00e9gatif") for t in BAD * 3] + [(t, "positif") for t in GOOD * 3]  # composed é
    data = write_csv(tmp_path / "fr.csv", rows)
    assert run(capsys, "train", data, "--text", "review", "--label", "sentiment", "--out", tmp_path / "m",
               "--quick", *SMALL)[0] == 0
    held_out = write_csv(tmp_path / "nfd.csv", [(BAD[0], "ne\u0301gatif"), (GOOD[0], "positif")])  # e + accent
    status, out, _ = run(capsys, "evaluate", tmp_path / "m", held_out, "--text", "review", "--label", "sentiment")
    assert status == 0 and "1 of 2 rows with a label the model never saw" in out
    assert "(case, and how an accent is encoded, included)" in out
