"""Scores of predictions: accuracy, RMSE on ordinal labels, and a per-class report."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report as _sklearn_report


def _as_array(values, name: str) -> np.ndarray:
    """An array of numbers or of str; an object array is converted when it holds only one of them."""
    array = np.asarray(values)
    if array.dtype.kind != "O":
        return array
    kind = pd.api.types.infer_dtype(array, skipna=False)
    if kind in ("integer", "floating", "mixed-integer-float", "boolean"):
        return array.astype(float if kind != "integer" else np.int64)
    if kind == "string":
        return array.astype(str)
    if kind in ("empty",):
        return array.astype(float)
    raise TypeError(f"{name} must hold numbers or strings, not a mix or missing values ({kind}: {values!r:.60})")


def _kind(values: np.ndarray, name: str) -> str:
    """``"number"`` or ``"text"``; anything else (mixed, None, objects) is a TypeError."""
    if values.dtype.kind in "biuf":
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            raise ValueError(f"{name} holds NaN or infinite values; every prediction must be a class")
        return "number"
    if values.dtype.kind == "U":
        return "text"
    raise TypeError(f"{name} must hold numbers or strings, not a mix or other objects (dtype {values.dtype})")


def _pair(y_true, y_pred, classes: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two equally long 1-D arrays of the same kind; with ``classes``, whole numbers only."""
    y_true, y_pred = _as_array(y_true, "y_true"), _as_array(y_pred, "y_pred")
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"need two 1-D arrays of equal length, got shapes {y_true.shape} and {y_pred.shape} "
            f"(for probabilities pass the predicted classes, e.g. probabilities.argmax(axis=1))"
        )
    if len(y_true) == 0:
        raise ValueError("cannot score zero predictions")
    kinds = _kind(y_true, "y_true"), _kind(y_pred, "y_pred")
    if kinds[0] != kinds[1]:
        raise TypeError(f"y_true holds {kinds[0]}s but y_pred {kinds[1]}s; compare labels of one kind")
    if classes and kinds[0] == "number":
        for name, values in [("y_true", y_true), ("y_pred", y_pred)]:
            if values.dtype.kind == "f" and not (values == np.round(values)).all():
                raise ValueError(
                    f"{name} holds fractions, not classes (probabilities?); pass class predictions, "
                    f"e.g. probabilities.argmax(axis=1)"
                )
    return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the true label."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float((y_true == y_pred).mean())


def rmse(y_true, y_pred) -> float:
    """Root mean squared error, for labels on a scale (e.g. 1-5 stars): being off by 2 costs more than by 1."""
    y_true, y_pred = _pair(y_true, y_pred, classes=False)
    if y_true.dtype.kind == "U":
        raise TypeError("rmse needs numbers (labels on a scale), got strings")
    return float(np.sqrt(np.mean((y_true.astype(float) - y_pred.astype(float)) ** 2)))


def check_label_names(label_names) -> list[str]:
    """``label_names`` as a list of distinct strings, or a clear error."""
    if isinstance(label_names, str) or not isinstance(label_names, (Sequence, np.ndarray)):
        raise TypeError(f"label_names must be a list of class names, got {type(label_names).__name__}: {label_names!r:.40}")
    names = list(label_names)
    if not names or not all(isinstance(n, str) for n in names):
        raise TypeError(f"label_names must be a non-empty list of str, got {names!r:.80}")
    if len(set(names)) != len(names):
        raise ValueError(f"label_names must be distinct, got {names}")
    return names


def check_classes(y_true, y_pred, label_names) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels that are indices 0..len(label_names)-1, each with a name; else a clear error."""
    names = check_label_names(label_names)
    y_true, y_pred = _pair(y_true, y_pred)
    if y_true.dtype.kind == "U":
        raise TypeError("labels must be class indices 0, 1, ... (label_names names them), got strings")
    for name, values in [("y_true", y_true), ("y_pred", y_pred)]:
        if values.min() < 0 or values.max() >= len(names):
            bad = values[(values < 0) | (values >= len(names))][0]
            raise ValueError(
                f"{name} holds label {bad:g}, which has no name: label_names has {len(names)} names "
                f"for labels 0..{len(names) - 1}"
            )
    return y_true.astype(int), y_pred.astype(int), names


def classification_report(y_true, y_pred, label_names) -> str:
    """Precision, recall and F1 per class, with the class names."""
    y_true, y_pred, names = check_classes(y_true, y_pred, label_names)
    return _sklearn_report(y_true, y_pred, labels=range(len(names)), target_names=names,
                           digits=3, zero_division=0)
