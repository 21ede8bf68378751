"""Two models together: a weighted average of their probabilities, the weight chosen on
validation, and a count of what each gets right that the other does not."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .checks import check_real

#: The weights on the first model that :func:`choose_weight` tries by default: 0, 0.1, ..., 1.
DEFAULT_WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))


def _probabilities(p: object, name: str) -> np.ndarray:
    """``p`` as a float array (examples, classes) of probabilities, or an error naming ``name``."""
    try:
        array = np.asarray(p, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array (examples, classes) of probabilities, got {type(p).__name__}") from err
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] < 2:
        raise ValueError(f"{name} must have shape (examples, classes) with at least one example and two "
                         f"classes (training.predict gives it), got {array.shape}")
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
        raise ValueError(f"{name} must hold probabilities between 0 and 1")
    return array


def _check_weight(weight: object, name: str = "weight") -> float:
    return check_real(weight, name, 0, 1, meaning=" (the share of p_a)")


def _pair(p_a: object, p_b: object) -> tuple[np.ndarray, np.ndarray]:
    p_a, p_b = _probabilities(p_a, "p_a"), _probabilities(p_b, "p_b")
    if p_a.shape != p_b.shape:
        raise ValueError(f"p_a and p_b must have one shape (examples, classes), got {p_a.shape} and {p_b.shape}")
    return p_a, p_b


def _labels(labels: object, n: int, name: str = "labels") -> np.ndarray:
    """``labels`` as a 1-D integer array of ``n`` class indices, or an error naming ``name``."""
    array = np.asarray(labels)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise TypeError(f"{name} must be a 1-D array of integer class indices, got shape {array.shape} of {array.dtype}")
    if len(array) != n:
        raise ValueError(f"{name} must hold one class per example ({n}), got {len(array)}")
    return array.astype(int)


def blend(p_a: object, p_b: object, weight: float) -> np.ndarray:
    """``weight * p_a + (1 - weight) * p_b``: the two models' probabilities averaged, (examples, classes)."""
    p_a, p_b = _pair(p_a, p_b)
    weight = _check_weight(weight)
    return weight * p_a + (1 - weight) * p_b


def choose_weight(p_a: object, p_b: object, labels: object,
                  weights: Sequence[float] = DEFAULT_WEIGHTS) -> tuple[float, dict[float, float]]:
    """The weight on ``p_a`` whose blend is most accurate on these (validation) labels, the first
    best on a tie, and ``{weight: accuracy}`` for every weight tried."""
    p_a, p_b = _pair(p_a, p_b)
    labels = _labels(labels, len(p_a))
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence) or not weights:
        raise ValueError(f"weights must be a non-empty list of numbers between 0 and 1, got {weights!r:.40}")
    weights = [_check_weight(w, "every weight") for w in weights]
    accuracies = {w: float((blend(p_a, p_b, w).argmax(axis=1) == labels).mean()) for w in weights}
    best = max(accuracies, key=accuracies.get)           # max keeps the first of equals
    return best, accuracies


def disagreements(pred_a: object, pred_b: object, labels: object) -> dict[str, int]:
    """How many examples both models get right, only ``a``, only ``b``, and neither."""
    labels = np.asarray(labels)
    n = len(labels) if labels.ndim == 1 else -1
    if n <= 0:
        raise ValueError(f"labels must be a non-empty 1-D array of class indices, got shape {labels.shape}")
    labels = _labels(labels, n)
    right_a = _labels(pred_a, n, "pred_a") == labels
    right_b = _labels(pred_b, n, "pred_b") == labels
    return {"both_right": int((right_a & right_b).sum()), "only_a": int((right_a & ~right_b).sum()),
            "only_b": int((~right_a & right_b).sum()), "both_wrong": int((~right_a & ~right_b).sum())}
