"""The book's recurring figures: training curves, validation curves of several runs, confusion matrices."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

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


def validation_curves(histories: Mapping[str, History], key: str = "valid_accuracy", ax=None, title: str = "",
                      mark_best: bool = False, start_epochs: Mapping[str, int] | None = None,
                      styles: Mapping[str, str] | None = None, ylabel: str | None = None):
    """One line per run of ``histories`` (name -> History): ``key`` per epoch. ``mark_best`` adds a
    dotted line at each run's restored epoch; ``start_epochs`` draws a run that continued another
    after that many epochs; ``styles`` gives a run a line style (":"). Returns the axes."""
    if not isinstance(histories, Mapping):
        raise TypeError(f"histories must be a dict of name -> History, got {type(histories).__name__}")
    if not histories:
        raise ValueError("histories is empty: give at least one run")
    for name, history in histories.items():
        if not isinstance(history, History) or not history.epochs:
            raise TypeError(f"histories[{name!r}] must be a History with epochs (what training.fit returns), "
                            f"got {type(history).__name__}")
        if any(key not in row for row in history.epochs):
            raise ValueError(f"histories[{name!r}] has no column {key!r}; it has {', '.join(history.epochs[0])}")
    start_epochs, styles = dict(start_epochs or {}), dict(styles or {})
    unknown = (set(start_epochs) | set(styles)) - set(histories)
    if unknown:
        raise ValueError(f"start_epochs and styles name runs that are not in histories: {sorted(unknown)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.4))
    for name, history in histories.items():
        offset = start_epochs.get(name, 0)
        epochs = [offset + epoch for epoch in history.column("epoch")]
        (line,) = ax.plot(epochs, history.column(key), styles.get(name, "-"), marker="o", ms=4, label=name)
        if mark_best and history.best_epoch is not None:
            ax.axvline(offset + history.best_epoch, color=line.get_color(), linestyle=":")
    shown = ylabel or key.replace("valid_", "validation ").replace("train_", "training ").replace("_", " ")
    ax.set(xlabel="epoch", ylabel=shown, title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize="small")
    return ax


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
