"""Scores of predictions: accuracy, RMSE on ordinal labels, and a per-class report."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report as _sklearn_report


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"need two 1-D arrays of equal length, got shapes {y_true.shape} and {y_pred.shape}")
    if len(y_true) == 0:
        raise ValueError("cannot score zero predictions")
    return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the true label."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float((y_true == y_pred).mean())


def rmse(y_true, y_pred) -> float:
    """Root mean squared error, for labels on a scale (e.g. 1-5 stars): being off by 2 costs more than by 1."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true.astype(float) - y_pred.astype(float)) ** 2)))


def classification_report(y_true, y_pred, label_names) -> str:
    """Precision, recall and F1 per class, with the class names."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _sklearn_report(y_true, y_pred, labels=range(len(label_names)), target_names=list(label_names),
                           digits=3, zero_division=0)
