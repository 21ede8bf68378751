"""The book's recurring figures: training curves and confusion matrices."""

from __future__ import annotations

import matplotlib.pyplot as plt

from .metrics import check_classes
from .training import History


def training_curves(history: History, title: str = ""):
    """Loss and accuracy per epoch, train against validation, with the restored epoch marked."""
    if not isinstance(history, History):
        raise TypeError(f"training_curves takes the History that training.fit returns, got {type(history).__name__}")
    if not history.epochs:
        raise ValueError("the History holds no epochs to plot")
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
    epochs = history.column("epoch")
    for ax, key in [(loss_ax, "loss"), (acc_ax, "accuracy")]:
        ax.plot(epochs, history.column(f"train_{key}"), "o-", label="train")
        ax.plot(epochs, history.column(f"valid_{key}"), "o-", label="validation")
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch, color="grey", linestyle=":", label="restored")
        ax.set(xlabel="epoch", ylabel=key, title=f"{title} {key}".strip())
        ax.set_xticks(epochs)
        ax.legend()
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, label_names, normalize: bool = False, title: str | None = None, ax=None):
    """A confusion matrix through scikit-plots, with class names on both axes."""
    from scikitplot.api.metrics import plot_confusion_matrix

    y_true, y_pred, label_names = check_classes(y_true, y_pred, label_names)
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 * len(label_names) + 2.5, 1.2 * len(label_names) + 1.5))
    plot_confusion_matrix(
        y_true, y_pred, labels=list(range(len(label_names))), normalize=normalize, title=title,
        ax=ax, show_fig=False, x_tick_rotation=45 if len(label_names) > 3 else 0,
    )
    ticks = range(len(label_names))
    ax.set_xticks(ticks, label_names)
    ax.set_yticks(ticks, label_names)
    ax.figure.tight_layout()
    return ax
