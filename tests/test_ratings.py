"""Star ratings: decoding, scores, the batch-averaged RMSE and a rating model's training loop."""

import numpy as np
import pytest
import torch
from torch import nn

from textclf import ratings, text


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
def test_fit_learns_a_separable_toy_task_and_restores_the_best_epoch(head, outputs, monkeypatch):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    torch.manual_seed(0)
    model = _BagOfWords(4, outputs)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    history = ratings.fit(model, _loader(), _loader(), optimizer, torch.device("cpu"), epochs=30,
                          head=head, verbose=False)
    best = history.epochs[history.best_epoch - 1]
    assert best["valid_loss"] == min(history.column("valid_loss"))
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
