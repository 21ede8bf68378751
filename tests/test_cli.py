"""The command line: train, predict and explain on a small CSV; exit codes and messages."""

import contextlib
import csv
import io
import subprocess
import sys

import pytest

from textclf.cli import main

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
    status, out, _ = run(capsys, "predict", trained[0] / "model", "good great film", "awful poor plot", "")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 3
    label, probability, text = lines[0].split("\t")
    assert label in ("pos", "neg") and 0.5 <= float(probability) <= 1 and text == "good great film"


def test_predict_csv_writes_rows_and_probabilities(trained, capsys, tmp_path):
    data = write_csv(tmp_path / "in.csv", [("good film", "x"), ("", "y"), ("awful", "z")], ("review", "note"))
    status, out, _ = run(capsys, "predict", trained[0] / "model", "--csv", data, "--text", "review",
                         "--out", tmp_path / "out.csv")
    assert status == 0 and "1 rows have an empty text" in out
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
    status, _, err = run(capsys, "explain", trained[0] / "model", "  ")
    assert status == 2 and "empty" in err


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
    assert run(capsys, "train", "x.csv")[0] == 2  # argparse: required options missing
    assert run(capsys, "explain", "m", "t", "--words", "0")[0] == 2
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
