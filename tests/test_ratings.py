"""Star ratings: decoding, scores, the batch-averaged RMSE and training a rating model (training.fit
with ratings.RatingLoss and ratings.validator, as chapter 8 does)."""

import numpy as np
import pytest
import torch
from torch import nn

from textclf import ratings, text, training


def test_expected_rating_is_the_mean_star_and_checks_its_input():
    probabilities = np.array([[0, 0, 0, 0, 1.0], [0.5, 0, 0, 0, 0.5], [0.1, 0.1, 0.2, 0.3, 0.3]])
    assert ratings.expected_rating(probabilities) == pytest.approx([5.0, 3.0, 3.6])
    with pytest.raises(ValueError, match="shape"):
        ratings.expected_rating(np.ones((2, 4)) / 4)
    with pytest.raises(ValueError, match="sum to 1"):
        ratings.expected_rating(np.ones((1, 5)))


def test_nearest_star_rounds_and_clips():
    assert ratings.nearest_star([0.2, 1.4, 2.6, 4.49, 7.0]).tolist() == [1, 1, 3, 4, 5]


def test_scores_round_for_classes_and_keep_real_values_for_errors():
    got = ratings.scores([5, 4, 1, 3], [4.6, 4.4, 2.0, 3.0])
    assert got["accuracy"] == 0.75  # 4.6 -> 5, 4.4 -> 4 and 3.0 -> 3 are right; 2.0 is not
    assert got["mae"] == pytest.approx((0.4 + 0.4 + 1.0 + 0.0) / 4)
    assert got["rmse"] == pytest.approx(np.sqrt((0.16 + 0.16 + 1.0) / 4))
    assert 0.0 < got["macro_f1"] < 1.0
    with pytest.raises(ValueError, match="3 true ratings but 2"):
        ratings.scores([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="non-empty"):
        ratings.scores([], [])


def test_batch_averaged_rmse_is_below_the_rmse_unless_one_batch():
    true = np.array([5, 5, 5, 5, 1, 1])
    predicted = np.array([5, 5, 5, 5, 5, 3])             # errors only in the last batch
    rmse = ratings.scores(true, predicted)["rmse"]
    assert ratings.batch_averaged_rmse(true, predicted, batch_size=6) == pytest.approx(rmse)
    averaged = ratings.batch_averaged_rmse(true, predicted, batch_size=2)
    assert averaged == pytest.approx((0 + 0 + np.sqrt((16 + 4) / 2)) * 2 / 6)
    assert averaged < rmse
    with pytest.raises(ValueError, match="batch_size"):
        ratings.batch_averaged_rmse(true, predicted, batch_size=0)


def test_unknown_head_is_refused():
    with pytest.raises(ValueError, match="classes"):
        ratings.loss_function("ordinal")


class _BagOfWords(nn.Module):
    def __init__(self, vocab_size, outputs):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, outputs, mode="mean", padding_idx=0)
        self.outputs = outputs

    def forward(self, ids, lengths):
        out = self.embedding(ids)                       # (batch, outputs)
        return out if self.outputs > 1 else out.squeeze(1) + 3.0


def _loader():
    # token 2 means five stars, token 3 means one star (labels 4 and 0)
    ids = [torch.tensor([2, 2]), torch.tensor([3]), torch.tensor([2]), torch.tensor([3, 3])] * 8
    labels = [4, 0, 4, 0] * 8
    return text.data_loader(text.EncodedDataset(ids, labels), batch_size=8)


@pytest.mark.parametrize("head, outputs", [("classes", 5), ("regression", 1)])
def test_training_fit_with_the_rating_loss_learns_a_separable_toy_task_and_restores_the_best_epoch(
        head, outputs, monkeypatch):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    torch.manual_seed(0)
    model = _BagOfWords(4, outputs)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    history = _fit_as_chapter_8(model, _loader(), _loader(), optimizer, torch.device("cpu"), 30, head,
                                verbose=False)
    assert history.best["valid_loss"] == min(history.column("valid_loss"))
    true, argmax, expected, probabilities = ratings.predict(model, _loader(), torch.device("cpu"), head)
    assert (argmax == true).all() and set(true) == {1, 5}
    assert ratings.scores(true, expected)["rmse"] < 0.5
    assert (probabilities is None) == (head == "regression")


def test_epochs_to_run_is_capped_only_in_quick_mode(monkeypatch):
    monkeypatch.setenv("TEXTCLF_QUICK", "1")
    assert ratings.epochs_to_run(30) == 2
    monkeypatch.delenv("TEXTCLF_QUICK")
    assert ratings.epochs_to_run(30) == 30
    with pytest.raises(ValueError, match="epochs must be at least 1, got 0"):
        ratings.epochs_to_run(0)


def _fit_before_training_fit(model, train_loader, valid_loader, optimizer, device, epochs, head, patience=None,
                             clip_norm=None, verbose=True):
    """ratings.fit as it was before it became a wrapper of training.fit (that wrapper has since been
    removed): kept to check that training.fit, called as chapter 8 calls it, still does the same."""
    import time

    from textclf import settings, training

    epochs = min(epochs, training.QUICK_EPOCHS) if settings.quick_mode() else epochs
    max_batches = training.QUICK_BATCHES if settings.quick_mode() else None
    loss_fn = ratings.loss_function(head)
    model.to(device)
    history = training.History()
    best = training.BestWeights(model, history, patience)
    for epoch in range(1, epochs + 1):
        model.train()
        start, total, seen = time.perf_counter(), 0.0, 0
        for i, (ids, lengths, labels) in enumerate(train_loader):
            if max_batches is not None and i >= max_batches:
                break
            loss = ratings._loss(training.forward(model, ids.to(device), lengths, device), labels.to(device), head,
                                 loss_fn)
            optimizer.zero_grad()
            loss.backward()
            if clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            total, seen = total + loss.item() * len(labels), seen + len(labels)
        seconds = time.perf_counter() - start
        true_stars, argmax, expected, probabilities = ratings.predict(model, valid_loader, device, head, max_batches)
        if head == "classes":
            picked = probabilities[np.arange(len(true_stars)), true_stars - 1]
            valid_loss = float(np.mean(-np.log(np.maximum(picked, 1e-12))))
        else:
            valid_loss = float(np.mean((expected - true_stars) ** 2))
        row = {"epoch": epoch, "train_loss": total / seen, "valid_loss": valid_loss,
               "valid_accuracy": float(np.mean(argmax == true_stars)),
               "valid_rmse": float(np.sqrt(np.mean((expected - true_stars) ** 2))), "seconds": seconds}
        history.epochs.append(row)
        improved = best.update(epoch, valid_loss)
        if verbose:
            print(f"epoch {epoch:2d} | train loss {row['train_loss']:.4f} | valid loss {valid_loss:.4f}"
                  f" acc {row['valid_accuracy']:.2%} rmse {row['valid_rmse']:.4f} | {seconds:.1f} s"
                  + (" *" if improved else ""))
        if best.should_stop(epoch):
            break
    best.restore(verbose)
    return history


class _DropoutBag(nn.Module):
    """Dropout and clipping make the comparison sensitive to every random draw and step."""

    def __init__(self, outputs):
        super().__init__()
        self.embedding = nn.Embedding(6, 8, padding_idx=0)
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(8, outputs)

    def forward(self, ids, lengths):
        x = self.dropout(self.embedding(ids)).sum(dim=1) / lengths.unsqueeze(1)   # (batch, 8)
        out = self.head(x)                                                         # (batch, outputs)
        return out if out.shape[1] > 1 else out.squeeze(1)


def _noisy_loader(seed):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 5, (60,), generator=generator)
    ids = [torch.randint(1, 6, (int(n),), generator=generator) for n in torch.randint(1, 7, (60,), generator=generator)]
    return text.data_loader(text.EncodedDataset(ids, labels), batch_size=8, bucket=True, seed=seed)


def _fit_as_chapter_8(model, train_loader, valid_loader, optimizer, device, epochs, head, patience=None,
                      clip_norm=None, verbose=True):
    """training.fit with the rating loss and validation, the arguments as chapter 8 passes them."""
    return training.fit(model, train_loader, valid_loader, optimizer, ratings.RatingLoss(head), device, epochs,
                        clip_norm=clip_norm, patience=patience, verbose=verbose,
                        validate=ratings.validator(head), progress=False)


@pytest.mark.parametrize("quick", [False, True])
@pytest.mark.parametrize("head, outputs", [("classes", 5), ("regression", 1)])
def test_training_fit_with_the_rating_loss_prints_and_returns_what_the_old_rating_loop_did(
        head, outputs, quick, monkeypatch, capsys):
    if quick:
        monkeypatch.setenv("TEXTCLF_QUICK", "1")
    else:
        monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    runs = []
    for fit in (_fit_before_training_fit, _fit_as_chapter_8):
        torch.manual_seed(0)
        model = _DropoutBag(outputs)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        history = fit(model, _noisy_loader(1), _noisy_loader(2), optimizer, torch.device("cpu"), 6, head,
                      patience=2, clip_norm=1.0)
        printed = capsys.readouterr()
        lines = [line.rsplit("|", 1)[0] for line in printed.out.splitlines()]     # without the seconds
        rows = [{k: v for k, v in row.items() if k != "seconds"} for row in history.epochs]
        runs.append((lines, rows, list(history.epochs[0]), history.best_epoch, model.state_dict(), printed.err))
    (lines, rows, keys, best, state, _), (new_lines, new_rows, new_keys, new_best, new_state, err) = runs
    assert new_lines == lines and new_rows == rows and new_keys == keys and new_best == best
    assert all(torch.equal(state[k], new_state[k]) for k in state)
    assert err == ""                                         # no progress bars
    assert lines[0].startswith("epoch  1 | train loss ") and " acc " in lines[0] and " rmse " in lines[0]


def test_rating_loss_trains_with_training_fit_and_counts_no_training_accuracy(monkeypatch):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    loss = ratings.RatingLoss("regression")
    outputs, labels = torch.tensor([5.0, 1.0]), torch.tensor([4, 0])
    assert loss(outputs, labels) == 0.0 and loss.loss_and_predictions(outputs, labels)[1] is None
    torch.manual_seed(0)
    model = _BagOfWords(4, 1)
    history = training.fit(model, _loader(), _loader(), torch.optim.Adam(model.parameters(), lr=0.1), loss,
                           torch.device("cpu"), epochs=3, verbose=False, validate=ratings.validator("regression"))
    assert list(history.best) == ["epoch", "train_loss", "valid_loss", "valid_accuracy", "valid_rmse", "seconds"]
    with pytest.raises(ValueError, match="head must be one of"):
        ratings.RatingLoss("ordinal")
