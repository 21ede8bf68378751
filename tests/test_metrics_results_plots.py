import json

import matplotlib.pyplot as plt
import pytest
import torch

from textclf import metrics, plots, results, settings, training


def test_accuracy_and_rmse():
    assert metrics.accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    assert metrics.rmse([1, 5], [2, 3]) == pytest.approx((2.5) ** 0.5)
    with pytest.raises(ValueError, match="equal length"):
        metrics.accuracy([1, 2], [1])
    with pytest.raises(ValueError, match="zero predictions"):
        metrics.rmse([], [])


def test_classification_report_names_every_class():
    report = metrics.classification_report([0, 1, 2, 2], [0, 2, 2, 2], ["neg", "neutral", "pos"])
    assert all(name in report for name in ["neg", "neutral", "pos", "accuracy"])


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "results_dir", lambda: tmp_path)
    training.setup(seed=0)
    return tmp_path


def test_save_writes_run_and_metrics(results_dir, monkeypatch, capsys):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    results.save("99_demo", {"lstm.test_accuracy": 0.875, "lstm.parameters": 1234})
    record = json.loads((results_dir / "99_demo.json").read_text())
    assert record["metrics"] == {"lstm.test_accuracy": 0.875, "lstm.parameters": 1234}
    assert record["run"]["mode"] == "full" and record["run"]["device"].startswith("cpu")
    assert set(record["run"]) >= {"torch", "wall_seconds", "date", "threads", "commit", "load_average",
                                  "load_average_at_start", "processor"}
    assert record["run"]["processor"].endswith(torch.backends.cpu.get_cpu_capability())
    assert record["run"]["seed"] == 0 and record["run"]["threads"] >= 1
    assert results.load("99_demo") == record
    printed = capsys.readouterr().out
    assert "lstm.test_accuracy  0.875" in printed and "lstm.parameters     1,234" in printed
    assert "{" not in printed, "the chapter's closing cell shows a short table, not a JSON dump"


def test_quick_run_never_overwrites_a_full_run(results_dir, monkeypatch):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    results.save("99_demo", {"accuracy": 0.9})
    monkeypatch.setenv("TEXTCLF_QUICK", "1")
    results.save("99_demo", {"accuracy": 0.5})
    assert json.loads((results_dir / "99_demo.json").read_text())["metrics"]["accuracy"] == 0.9
    assert json.loads((results_dir / "quick" / "99_demo.json").read_text())["run"]["mode"] == "quick"


@pytest.mark.parametrize("bad", [{"x": float("nan")}, {"x": "high"}, {"x": True}, {"": 1.0}])
def test_save_rejects_bad_metrics(results_dir, bad):
    with pytest.raises(ValueError):
        results.save("99_demo", bad)


def test_load_missing_results_says_how_to_make_them(results_dir):
    with pytest.raises(FileNotFoundError, match="full mode"):
        results.load("00_nothing")


def test_training_curves_and_confusion_matrix():
    history = training.History(
        [{"epoch": e, "train_loss": 1 / e, "valid_loss": 1.2 / e, "train_accuracy": 0.5, "valid_accuracy": 0.6, "seconds": 1.0} for e in (1, 2)], best_epoch=2)
    figure = plots.training_curves(history, title="toy")
    assert len(figure.axes) == 2
    ax = plots.confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1], ["World", "Sports", "Business"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["World", "Sports", "Business"]
    plt.close("all")


def _history(accuracies, best_epoch, rmse=False):
    rows = [{"epoch": e, "valid_loss": 1 - a, "valid_accuracy": a, **({"valid_rmse": 1 - a} if rmse else {})}
            for e, a in enumerate(accuracies, start=1)]
    return training.History(rows, best_epoch=best_epoch)


def test_validation_curves_draw_one_line_per_run_with_offsets_and_restored_epochs():
    histories = {"A": _history([0.6, 0.7, 0.65], 2), "E: A longer": _history([0.71, 0.72], 2)}
    ax = plots.validation_curves(histories, mark_best=True, start_epochs={"E: A longer": 3},
                                 styles={"E: A longer": ":"}, title="IMDb")
    runs = [line for line in ax.lines if line.get_label() in histories]
    assert [line.get_label() for line in runs] == ["A", "E: A longer"]
    assert list(runs[1].get_xdata()) == [4, 5] and runs[1].get_linestyle() == ":"
    markers = [line for line in ax.lines if line not in runs]
    assert [line.get_xdata()[0] for line in markers] == [2, 5]  # restored epochs, shifted for E
    assert markers[1].get_color() == runs[1].get_color()
    assert ax.get_ylabel() == "validation accuracy" and ax.get_title() == "IMDb"
    ax = plots.validation_curves({"lstm": _history([0.5, 0.6], 2, rmse=True)}, key="valid_rmse")
    assert ax.get_ylabel() == "validation rmse"
    for bad, error, message in [
        ({}, ValueError, "empty"),
        ([_history([0.5], 1)], TypeError, "dict of name -> History"),
        ({"A": [0.5]}, TypeError, "must be a History"),
        ({"A": _history([0.5], 1)}, ValueError, "no column 'valid_rmse'"),
    ]:
        with pytest.raises(error, match=message):
            plots.validation_curves(bad, key="valid_rmse")
    with pytest.raises(ValueError, match="not in histories"):
        plots.validation_curves(histories, start_epochs={"B": 2})
    plt.close("all")
