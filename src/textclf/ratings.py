"""Star ratings as ordered labels: decode a model's output into stars, score it, train for it.

A rating model has one of two heads. ``"classes"``: five logits, trained with cross-entropy; its
class probabilities give both the most likely star (arg-max) and the expected rating (their
mean). ``"regression"``: one number, the rating itself, trained with mean squared error. Labels in
the loaders are the dataset's ``0..4``; stars are ``label + 1``. To train a rating model, call
:func:`training.fit` with :class:`RatingLoss` and ``validate=validator(head)``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import f1_score
from torch import nn

from . import settings, training
from .checks import check_int

#: The rating scale: 1 to 5 stars.
STARS = np.arange(1, 6)
HEADS = ("classes", "regression")


def _check_head(head: str) -> str:
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    return head


def _stars(values, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of ratings, got shape {values.shape}")
    return values


def expected_rating(probabilities) -> np.ndarray:
    """The mean star under each row of class probabilities: ``(n, 5) -> (n,)``."""
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(STARS):
        raise ValueError(f"need probabilities of shape (n, {len(STARS)}), got {probabilities.shape}")
    if not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("each row of probabilities must sum to 1 (apply a softmax first)")
    return probabilities @ STARS


def nearest_star(values) -> np.ndarray:
    """Real-valued ratings rounded to the nearest star and kept within 1..5 (ints)."""
    return np.clip(np.rint(_stars(values, "values")), STARS[0], STARS[-1]).astype(int)


def scores(true_stars, predicted) -> dict[str, float]:
    """Accuracy and macro-F1 of the nearest star; RMSE and mean absolute error of ``predicted``.

    ``predicted`` may be whole stars (an arg-max) or real values (an expected rating, a
    regression output): the error measures take it as it is, the class measures round it.
    """
    true_stars, predicted = _stars(true_stars, "true_stars"), _stars(predicted, "predicted")
    if true_stars.shape != predicted.shape:
        raise ValueError(f"{len(true_stars)} true ratings but {len(predicted)} predictions")
    stars = nearest_star(predicted)
    errors = predicted - true_stars
    return {
        "accuracy": float(np.mean(stars == true_stars)),
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
        "macro_f1": float(f1_score(true_stars.astype(int), stars, labels=STARS, average="macro",
                                   zero_division=0)),
    }


def batch_averaged_rmse(true_stars, predicted, batch_size: int) -> float:
    """The RMSE of each consecutive batch, averaged with the batch sizes as weights.

    This is *not* the RMSE of all predictions: a square root of a mean is at least the mean of
    square roots, so the average is lower whenever the batches' errors differ, and it is the
    RMSE only when everything fits in one batch.
    """
    true_stars, predicted = _stars(true_stars, "true_stars"), _stars(predicted, "predicted")
    if true_stars.shape != predicted.shape:
        raise ValueError(f"{len(true_stars)} true ratings but {len(predicted)} predictions")
    batch_size = check_int(batch_size, "batch_size", 1)
    total = 0.0
    for start in range(0, len(true_stars), batch_size):
        errors = predicted[start : start + batch_size] - true_stars[start : start + batch_size]
        total += np.sqrt(np.mean(errors**2)) * len(errors)
    return float(total / len(true_stars))


def loss_function(head: str) -> nn.Module:
    """Cross-entropy for the five-class head, mean squared error for the regression head."""
    return nn.CrossEntropyLoss() if _check_head(head) == "classes" else nn.MSELoss()


def _loss(outputs: torch.Tensor, labels: torch.Tensor, head: str, loss_fn: nn.Module) -> torch.Tensor:
    if head == "classes":
        return loss_fn(outputs, labels)                    # outputs (batch, 5), labels 0..4
    return loss_fn(outputs.reshape(-1), labels.float() + 1)  # outputs (batch,) in stars


@torch.no_grad()
def predict(model: nn.Module, loader, device: torch.device, head: str, max_batches: int | None = None):
    """Outputs of ``model`` for every batch of ``loader``, decoded to stars.

    Returns ``(true_stars, argmax_stars, expected, probabilities)``. For the regression head,
    ``argmax_stars`` is the nearest star, ``expected`` the predicted rating itself and
    ``probabilities`` is None.
    """
    _check_head(head)
    model.eval().to(device)
    outputs, labels = [], []
    for i, (ids, lengths, y) in enumerate(loader):
        if max_batches is not None and i >= max_batches:
            break
        outputs.append(training.forward(model, ids.to(device), lengths, device).cpu())
        labels.append(y)
    outputs, true_stars = torch.cat(outputs), torch.cat(labels).numpy() + 1
    if head == "classes":
        probabilities = torch.softmax(outputs, dim=1).numpy()
        return true_stars, probabilities.argmax(axis=1) + 1, expected_rating(probabilities), probabilities
    rating = outputs.reshape(-1).numpy().astype(float)
    return true_stars, nearest_star(rating), rating, None


class RatingLoss(nn.Module):
    """The loss a rating head trains: cross-entropy of five logits against labels 0..4, or squared
    error of one output against the stars (label + 1). For :func:`training.fit`."""

    def __init__(self, head: str):
        super().__init__()
        self.head = _check_head(head)
        self.loss_fn = loss_function(head)

    def forward(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return _loss(outputs, labels, self.head, self.loss_fn)   # a scalar

    def loss_and_predictions(self, outputs: torch.Tensor, labels: torch.Tensor):
        """The loss, and no predictions: training counts no accuracy (validation scores stars)."""
        return self(outputs, labels), None


def validator(head: str) -> training.Validator:
    """The validation for :func:`training.fit` to run after each epoch: the loss trained (cross-entropy
    or squared error), the accuracy of the arg-max (nearest) star and the RMSE of the expected
    (predicted) rating. "Best" is then the lowest of that validation loss."""
    _check_head(head)

    def validate(model: nn.Module, loader, device: torch.device, max_batches: int | None) -> dict:
        true_stars, argmax, expected, probabilities = predict(model, loader, device, head, max_batches)
        squared_errors = (expected - true_stars) ** 2                    # (n,)
        if head == "classes":
            picked = probabilities[np.arange(len(true_stars)), true_stars - 1]
            loss = float(np.mean(-np.log(np.maximum(picked, 1e-12))))
        else:
            loss = float(np.mean(squared_errors))
        return {"loss": loss, "accuracy": float(np.mean(argmax == true_stars)),
                "rmse": float(np.sqrt(np.mean(squared_errors)))}

    return validate


def epochs_to_run(epochs: int) -> int:
    """``epochs``, or at most :data:`training.QUICK_EPOCHS` in quick mode (for hand-written loops)."""
    epochs = check_int(epochs, "epochs", 1)
    return min(epochs, training.QUICK_EPOCHS) if settings.quick_mode() else epochs
