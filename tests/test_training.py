import numpy as np
import pytest
import torch
from torch import nn

from textclf import text, training


class MeanEmbeddingClassifier(nn.Module):
    """Averages token embeddings; enough to learn a toy task."""

    def __init__(self, vocab_size, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 8, padding_idx=0)
        self.head = nn.Linear(8, classes)

    def forward(self, ids, lengths):
        x = self.embedding(ids).sum(dim=1) / lengths.unsqueeze(1)  # (batch, 8)
        return self.head(x)  # (batch, classes)


def toy_loaders(n=400):
    """Label = whether token 2 or token 3 appears; easy to learn."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (n,), generator=generator)
    ids = [torch.tensor([2 + int(y)] * 3 + [4, 5]) for y in labels]
    dataset = text.EncodedDataset(ids, labels.tolist())
    return text.data_loader(dataset, 32, shuffle=True), text.data_loader(dataset, 64)


def test_setup_seeds_and_prints_a_summary(capsys, monkeypatch):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    device = training.setup(seed=3)
    first = (torch.rand(2), np.random.rand())
    training.setup(seed=3)
    assert torch.equal(first[0], torch.rand(2)) and first[1] == np.random.rand()
    line = capsys.readouterr().out.splitlines()[0]
    assert device.type == "cpu" and "flush-denormal on" in line and "seed 3" in line and "full mode" in line
    assert training.seconds_since_setup() >= 0


def test_seconds_since_setup_needs_setup(monkeypatch):
    monkeypatch.setattr(training, "_started", None)
    with pytest.raises(RuntimeError, match="setup"):
        training.seconds_since_setup()


def test_count_parameters_of_the_lecture_model():
    class LectureRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding, self.rnn, self.fc = nn.Embedding(25_002, 100), nn.RNN(100, 256), nn.Linear(256, 1)

    model = LectureRNN()
    assert training.count_parameters(model) == 2_592_105
    model.embedding.weight.requires_grad_(False)
    assert training.count_parameters(model) == 2_592_105 - 2_500_200


@pytest.mark.parametrize("classes,loss_fn", [(2, nn.CrossEntropyLoss()), (1, nn.BCEWithLogitsLoss())])
def test_fit_learns_and_restores_the_best_epoch(classes, loss_fn, monkeypatch, capsys):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    torch.manual_seed(0)
    model = MeanEmbeddingClassifier(6, classes)
    train, valid = toy_loaders()
    history = training.fit(model, train, valid, torch.optim.Adam(model.parameters(), 0.05), loss_fn, torch.device("cpu"), epochs=4)
    assert len(history.epochs) == 4 and history.best_epoch == int(np.argmin(history.column("valid_loss"))) + 1
    assert history.epochs[-1]["valid_accuracy"] == 1.0
    assert list(history.to_frame().columns) == ["train_loss", "train_accuracy", "valid_loss", "valid_accuracy", "seconds"]
    assert training.evaluate(model, valid, loss_fn, torch.device("cpu"))["loss"] == pytest.approx(min(history.column("valid_loss")))
    assert "restored epoch" in capsys.readouterr().out
    assert history.best["valid_loss"] == min(history.column("valid_loss"))
    assert history.best["epoch"] == history.best_epoch


def test_history_best_within_is_what_a_shorter_fit_would_restore():
    rows = [{"epoch": e, "valid_loss": v} for e, v in enumerate([0.5, 0.4, 0.4, 0.3], start=1)]
    history = training.History(rows, best_epoch=4)
    assert history.best_within(1)["epoch"] == 1
    assert history.best_within(3)["epoch"] == 2  # the earliest of a tie
    assert history.best_within(4) == history.best
    for bad in (0, 5, 2.0):
        with pytest.raises((ValueError, TypeError), match="epochs"):
            history.best_within(bad)
    diverged = training.History([{"epoch": 1, "valid_loss": float("nan")}, *rows], best_epoch=5)
    assert diverged.best_within(2)["valid_loss"] == 0.5  # a NaN loss is never the best
    with pytest.raises(ValueError, match="no finite validation loss"):
        diverged.best_within(1)


def test_history_best_needs_a_restored_epoch():
    with pytest.raises(ValueError, match="no epoch was restored"):
        training.History().best


def test_fit_stops_early_with_patience(monkeypatch):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    model = MeanEmbeddingClassifier(6, 2)
    train, valid = toy_loaders()
    frozen = torch.optim.SGD(model.parameters(), lr=0.0)  # never improves after epoch 1
    history = training.fit(model, train, valid, frozen, nn.CrossEntropyLoss(), torch.device("cpu"), epochs=10, patience=2, verbose=False)
    assert len(history.epochs) == 3 and history.best_epoch == 1


def test_quick_mode_caps_epochs_and_batches(monkeypatch):
    monkeypatch.setenv("TEXTCLF_QUICK", "1")
    model = MeanEmbeddingClassifier(6, 2)
    train, valid = toy_loaders(n=2000)
    history = training.fit(model, train, valid, torch.optim.Adam(model.parameters()), nn.CrossEntropyLoss(), torch.device("cpu"), epochs=50, verbose=False)
    assert len(history.epochs) == training.QUICK_EPOCHS


def test_fit_rejects_zero_epochs():
    with pytest.raises(ValueError, match="epochs"):
        training.fit(None, None, None, None, None, None, epochs=0)


def test_predict_returns_probabilities_and_labels():
    train, valid = toy_loaders(n=100)
    for classes in (1, 3):
        probabilities, labels = training.predict(MeanEmbeddingClassifier(6, classes), valid, torch.device("cpu"))
        assert probabilities.shape == (100, max(2, classes)) and labels.shape == (100,)
        assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


def test_median_step_seconds_times_real_steps_and_needs_enough_batches():
    torch.manual_seed(0)

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding, self.head = nn.Embedding(10, 4), nn.Linear(4, 1)

        def forward(self, ids, lengths):
            return self.head(self.embedding(ids).mean(dim=1))       # (batch, 1)

    model = Tiny()
    batch = text.collate([(torch.tensor([2, 3]), torch.tensor(1)), (torch.tensor([4]), torch.tensor(0))])
    before = model.head.weight.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    seconds = training.median_step_seconds(model, [batch] * 3, optimizer, nn.BCEWithLogitsLoss())
    assert 0 < seconds < 1 and not torch.equal(before, model.head.weight)
    with pytest.raises(ValueError, match="more than warmup=1"):
        training.median_step_seconds(model, [batch], optimizer, nn.BCEWithLogitsLoss())


def test_best_weights_keeps_the_lowest_finite_loss_and_counts_patience_from_the_start():
    model = nn.Linear(1, 1)
    history = training.History()
    best = training.BestWeights(model, history, patience=2)
    assert not best.update(1, float("nan")) and not best.should_stop(1)
    assert best.should_stop(2)  # two epochs and no finite loss yet
    with torch.no_grad():
        model.weight.fill_(1.0)
    assert best.update(3, 0.5) and not best.update(4, 0.5)  # a tie is not an improvement
    with torch.no_grad():
        model.weight.fill_(2.0)
    assert not best.should_stop(4) and best.should_stop(5)
    history.epochs = [{"epoch": e, "valid_loss": 0.5} for e in range(1, 6)]
    best.restore(verbose=False)
    assert history.best_epoch == 3 and model.weight.item() == 1.0


# --- precision: float32 or bfloat16 autocast -------------------------------------------------

class RecordingLSTM(nn.Module):
    """A tiny LSTM classifier that records the dtype its head saw (bfloat16 under autocast)."""

    def __init__(self):
        super().__init__()
        self.embedding, self.lstm, self.head = nn.Embedding(10, 8), nn.LSTM(8, 8, batch_first=True), nn.Linear(8, 2)
        self.seen = []

    def forward(self, ids, lengths):
        output, _ = self.lstm(self.embedding(ids))   # (batch, steps, 8)
        logits = self.head(output[:, -1])            # (batch, 2)
        self.seen.append(logits.dtype)
        return logits


def test_setup_default_precision_is_fp32_and_unchanged_line(capsys):
    training.setup(seed=0)
    assert training.precision() == "fp32"
    assert "bfloat16" not in capsys.readouterr().out


def test_setup_rejects_unknown_precision():
    with pytest.raises(ValueError, match=r"precision must be one of \('fp32', 'bf16', 'auto'\)"):
        training.setup(seed=0, precision="half")


def test_setup_refuses_bf16_without_bf16_instructions(monkeypatch):
    monkeypatch.setattr(training, "bf16_supported", lambda device=None: False)
    with pytest.raises(ValueError, match="needs bfloat16 instructions"):
        training.setup(seed=0, precision="bf16")
    training.setup(seed=0, precision="auto")
    assert training.precision() == "fp32"


def test_setup_auto_picks_bf16_where_supported(monkeypatch, capsys):
    monkeypatch.setattr(training, "bf16_supported", lambda device=None: True)
    training.setup(seed=0, precision="auto")
    assert training.precision() == "bf16" and "bfloat16 autocast" in capsys.readouterr().out
    training.setup(seed=0)
    assert training.precision() == "fp32"


def test_fit_and_predict_run_under_bf16_and_return_float32():
    training.setup(seed=0)
    model = RecordingLSTM()
    batches = [(torch.randint(0, 10, (4, 5)), torch.full((4,), 5), torch.tensor([0, 1, 0, 1]))]
    with training.using_precision("bf16"):
        assert training.precision() == "bf16"
        history = training.fit(model, batches, batches, torch.optim.Adam(model.parameters()),
                               nn.CrossEntropyLoss(), torch.device("cpu"), epochs=1, verbose=False)
        probabilities, _ = training.predict(model, batches, torch.device("cpu"))
    assert training.precision() == "fp32"  # restored
    assert set(model.seen) == {torch.bfloat16}
    assert probabilities.dtype == np.float32 and np.allclose(probabilities.sum(axis=1), 1, atol=1e-6)
    assert np.isfinite(history.epochs[0]["valid_loss"])
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay float32


def test_fp32_forward_is_the_plain_call():
    model = RecordingLSTM()
    ids, lengths = torch.randint(0, 10, (3, 4)), torch.full((3,), 4)
    assert torch.equal(training.forward(model, ids, lengths, torch.device("cpu")), model(ids, lengths))
    assert model.seen == [torch.float32, torch.float32]


def test_using_precision_rejects_auto_and_restores_after_an_error():
    with pytest.raises(ValueError, match="'fp32' or 'bf16'"):
        with training.using_precision("auto"):
            pass
    with pytest.raises(RuntimeError):
        with training.using_precision("bf16"):
            raise RuntimeError("inside")
    assert training.precision() == "fp32"


def test_fit_prints_one_line_per_epoch_in_the_book_format_and_progress_bars_only_on_request(monkeypatch, capsys):
    import re

    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    torch.manual_seed(0)
    model = MeanEmbeddingClassifier(6, 2)
    train, valid = toy_loaders(n=100)
    training.fit(model, train, valid, torch.optim.Adam(model.parameters(), 0.05), nn.CrossEntropyLoss(),
                 torch.device("cpu"), epochs=2, progress=False)
    printed = capsys.readouterr()
    line = r"epoch  \d \| train loss \d\.\d{4} acc \d+\.\d\d% \| valid loss \d\.\d{4} acc \d+\.\d\d% \| \d+\.\d s( \*)?"
    assert all(re.fullmatch(line, text) for text in printed.out.splitlines()[:2])
    assert printed.err == ""


def test_fit_takes_a_validate_function_whose_measures_become_columns(monkeypatch, capsys):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    seen = []

    def validate(model, loader, device, max_batches):
        """The default loss and accuracy, plus the share of examples called class 1."""
        scores = training.run_epoch(model, loader, nn.CrossEntropyLoss(), device, max_batches=max_batches)
        probabilities, _ = training.predict(model, loader, device)
        seen.append(max_batches)
        return {**scores, "positive_share": float(np.mean(probabilities.argmax(1) == 1))}

    torch.manual_seed(0)
    model = MeanEmbeddingClassifier(6, 2)
    train, valid = toy_loaders(n=100)
    history = training.fit(model, train, valid, torch.optim.Adam(model.parameters(), 0.05), nn.CrossEntropyLoss(),
                           torch.device("cpu"), epochs=2, validate=validate, progress=False)
    assert list(history.best) == ["epoch", "train_loss", "train_accuracy", "valid_loss", "valid_accuracy",
                                  "valid_positive_share", "seconds"]
    assert seen == [None, None] and " positive_share 0." in capsys.readouterr().out
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    with pytest.raises(ValueError, match="'loss' entry"):
        training.fit(model, train, valid, optimizer, nn.CrossEntropyLoss(), torch.device("cpu"), epochs=1,
                     validate=lambda *args: {"accuracy": 1.0}, progress=False)
    with pytest.raises(TypeError, match="validate must be a function"):
        training.fit(model, train, valid, optimizer, nn.CrossEntropyLoss(), torch.device("cpu"), epochs=1,
                     validate="accuracy")


def test_using_threads_restores_the_thread_count_even_after_an_error():
    before = torch.get_num_threads()
    with training.using_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with training.using_threads(1):
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="count must be at least 1"):
        with training.using_threads(0):
            pass


def test_best_thread_count_times_copies_and_leaves_everything_as_it_was(capsys):
    torch.manual_seed(0)
    model = MeanEmbeddingClassifier(6, 2)  # with dropout, so that a training step draws random numbers
    model.head = nn.Sequential(nn.Dropout(0.5), model.head)
    train, _ = toy_loaders(n=64)
    batches = list(train)[:3]
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    threads, rng = torch.get_num_threads(), torch.get_rng_state()
    timings = training.thread_timings(model, batches, lambda p: torch.optim.Adam(p, lr=0.1),
                                      nn.CrossEntropyLoss(), candidates=(1, 2))
    assert list(timings) == [1, 2] and all(t > 0 for t in timings.values())
    best = training.best_thread_count(model, batches, lambda p: torch.optim.Adam(p, lr=0.1), nn.CrossEntropyLoss())
    assert best in (1, 2) and f"-> {best} thread" in capsys.readouterr().out
    assert torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    for bad, error in [((), ValueError), ((0,), ValueError), ((1.5,), TypeError), ("12", ValueError)]:
        with pytest.raises(error, match="candidates"):
            training.thread_timings(model, batches, torch.optim.SGD, nn.CrossEntropyLoss(), candidates=bad)
    with pytest.raises(TypeError, match="optimizer_factory"):
        training.thread_timings(model, batches, "adam", nn.CrossEntropyLoss())


@pytest.mark.parametrize("timings, expected", [
    ({1: 2.0e-3, 2: 1.9e-3}, 1),   # 5 % is not a clear gain: a near tie goes to fewer threads
    ({1: 2.0e-3, 2: 1.8e-3}, 2),   # 10 % is
    ({1: 1.0e-3, 2: 1.5e-3}, 1),
    ({1: 4.0, 2: 2.0, 4: 1.95}, 2),
])
def test_best_thread_count_needs_a_clear_gain_for_more_threads(monkeypatch, capsys, timings, expected):
    monkeypatch.setattr(training, "thread_timings", lambda *args, **kwargs: timings)
    assert training.best_thread_count(None, [], None, None, candidates=tuple(timings)) == expected
    assert f"-> {expected} thread" in capsys.readouterr().out
    with pytest.raises(ValueError, match="min_gain"):
        training.best_thread_count(None, [], None, None, min_gain=1.5)


def test_choose_thread_count_applies_the_rule_to_given_timings():
    assert training.choose_thread_count({1: 1.29, 2: 0.87}) == 2          # chapter 8's printed probe
    assert training.choose_thread_count({2: 1.9e-3, 1: 2.0e-3}) == 1      # order of the dict is not the rule's
    assert training.choose_thread_count({1: 2.0, 2: 1.9}, min_gain=0.0) == 2
    for bad, match in [({}, "non-empty"), ([1.0, 2.0], "non-empty dict"), ({1: 0.0}, "> 0"),
                       ({1: float("nan")}, "> 0"), ({0: 1.0}, "thread count"), ({1: "fast"}, "> 0")]:
        with pytest.raises((TypeError, ValueError), match=match):
            training.choose_thread_count(bad)
    with pytest.raises(TypeError, match="min_gain"):
        training.choose_thread_count({1: 1.0}, min_gain=True)


def _history(accuracy: float, loss: float, seconds: list[float]) -> training.History:
    rows = [{"epoch": e, "valid_accuracy": accuracy, "valid_loss": loss + e, "seconds": s}
            for e, s in enumerate(seconds, start=1)]
    return training.History(rows, best_epoch=1)


def test_precision_summary_names_the_precision_in_every_key():
    summary = training.precision_summary({"bf16": _history(0.88, 0.30, [100.0, 130.0, 110.0]),
                                          "fp32": _history(0.87, 0.31, [150.0, 140.0])})
    assert summary == pytest.approx({
        "precision.bf16_valid_accuracy": 0.88, "precision.bf16_valid_loss": 1.30,
        "precision.bf16_seconds_per_epoch": 110.0, "precision.fp32_valid_accuracy": 0.87,
        "precision.fp32_valid_loss": 1.31, "precision.fp32_seconds_per_epoch": 145.0,
        "precision.bf16_speedup": 145.0 / 110.0})
    alone = training.precision_summary({"fp32": _history(0.87, 0.31, [150.0])})
    assert "precision.bf16_speedup" not in alone and len(alone) == 3


@pytest.mark.parametrize("bad, error, match", [
    ({}, TypeError, "dict of precision"),
    ({"fp16": None}, ValueError, r"'fp32' or 'bf16', got \['fp16'\]"),
    ({"bf16": {"seconds": 1}}, TypeError, "bf16 must be a History"),
    ({"fp32": training.History()}, ValueError, "fp32 History holds no epochs"),
])
def test_precision_summary_rejects_what_it_cannot_compare(bad, error, match):
    with pytest.raises(error, match=match):
        training.precision_summary(bad)


def test_history_best_is_the_restored_row():
    rows = [{"epoch": e, "valid_loss": v} for e, v in enumerate([0.5, 0.3, 0.4], start=1)]
    history = training.History(rows, best_epoch=2)
    assert history.best is history.epochs[history.best_epoch - 1] and history.best["valid_loss"] == 0.3
