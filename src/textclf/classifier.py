"""A text classifier with scikit-learn's manners, built from the book's parts, that saves to a folder.

``TextClassifier`` tokenizes with ``basic_english``, builds a vocabulary, starts from GloVe 6B 50d,
reads with chapter 6's bidirectional LSTM (fast reader, final + max + mean pooling), trains on
length-bucketed batches and keeps the epoch with the lowest loss on a stratified validation part
(``training.fit``, ``BestWeights``). Labels may be strings or integers, two classes or more.

skorch (a scikit-learn wrapper for PyTorch) is not used: it brings its own training loop,
callbacks and validation split in place of ``training.fit`` and ``BestWeights`` that the book
teaches, its ``batch_size`` fights a bucketing batch sampler, and a model taking ``(ids, lengths)``
needs a custom collate anyway; what is left for it to do here is a few lines.

Usage::

    from textclf.classifier import TextClassifier

    clf = TextClassifier(epochs=5).fit(train_df.text, train_df.department)
    clf.score(test_df.text, test_df.department)          # accuracy
    clf.save("department-model")                         # a folder: config, vocabulary, weights, manifest
    clf = TextClassifier.load("department-model")
    clf.predict(["Lovely soft sweater", "These jeans run small"])     # array of class names
    clf.predict_proba(["Lovely soft sweater"])                        # (1, len(clf.classes_))
    print(clf.explain("Lovely soft sweater").table())                 # LIME's top words

Prediction reads the first ``max_length`` tokens of a text (400 by default, as in training) and
ignores the rest, so a text of any length is predicted. A text that is empty, blank or has no
tokens is read as a single ``<pad>`` step, the model's "no evidence" input (as LIME's perturbed
texts are in :func:`textclf.explain.classifier_fn`).
"""

from __future__ import annotations

import inspect
import io
import json
import math
import numbers
import os
import re
import random
import shutil
import tempfile
import time
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from . import __version__, baselines, models, settings, text, training
from .files import STALE_PART_SECONDS, DataError, file_checksum, glob_escape, read_json, unwritable_reason
from .checks import check_real
from .text import check_int

#: The saved-model layout this code writes; ``load`` refuses a newer one.
FORMAT_VERSION = 1
FILES = ("config.json", "vocab.json", "weights.pt")
MANIFEST = "manifest.json"


class ModelFileError(DataError, ValueError):
    """A saved-model directory is missing, incomplete, damaged or from a newer textclf."""


@dataclass
class ModelConfig:
    """What a saved model needs to be rebuilt: the network's sizes and how texts become ids."""

    vocab_size: int
    embed_dim: int
    hidden_dim: int
    num_layers: int
    num_classes: int
    dropout: float
    tokenizer: str = "basic_english"
    max_length: int = 400
    reader: str = "fast"
    pooling: str = "final+max+mean"

    def __post_init__(self) -> None:  # a hand-edited config.json fails on load, not at predict time
        text.tokenizer(self.tokenizer)
        check_int(self.max_length, "max_length", 1)

    def build(self) -> models.BiLSTMClassifier:
        return models.BiLSTMClassifier(self.vocab_size, self.embed_dim, self.hidden_dim, self.num_classes,
                                       self.num_layers, self.dropout, pad_idx=0, reader=self.reader,
                                       pooling=self.pooling)


# ---------------------------------------------------------------------------------------- input checks

def check_texts(texts: object, name: str = "texts") -> list:
    """``texts`` as a list (pandas Series and arrays too); a single str is a TypeError."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name} must be a list of texts, got a single {type(texts).__name__}: "
                        f"{texts!r:.40}; wrap one text in a list")
    if hasattr(texts, "columns") and hasattr(texts, "iloc"):  # a DataFrame would iterate over its column names
        raise TypeError(f"{name} must be one column of texts (a list or a Series), got a DataFrame with the "
                        f"columns {list(texts.columns)!r:.60}; pass df[column]")
    if hasattr(texts, "tolist") and not isinstance(texts, list):
        texts = texts.tolist()
    if not isinstance(texts, Iterable):
        raise TypeError(f"{name} must be a list of str texts, got {type(texts).__name__}")
    return list(texts)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def check_labels(labels: object, name: str = "labels") -> list:
    """Labels as a list of str or of int (numpy ints become int); a mix, bools, floats or missing
    values are refused with the position of the first offender."""
    labels = check_texts(labels, name)
    kinds = {}
    for position, label in enumerate(labels):
        if _is_missing(label):
            raise ValueError(f"{name}[{position}] is missing ({label!r}); drop such rows first")
        if isinstance(label, str):
            kinds.setdefault("str", (position, label))
        elif isinstance(label, numbers.Integral) and not isinstance(label, (bool, np.bool_)):
            kinds.setdefault("int", (position, label))
            labels[position] = int(label)
        else:
            raise TypeError(f"{name} must be str (class names) or int, got {type(label).__name__} "
                            f"{label!r:.40} at position {position}")
    if len(kinds) > 1:
        (i, a), (j, b) = kinds["int"], kinds["str"]
        raise TypeError(f"{name} mix numbers and strings ({a!r} at position {i}, {b!r} at position {j}); "
                        f"use one kind: all class names (str) or all integers")
    return labels


def unseen_labels(labels: Sequence, classes: Sequence) -> tuple[list, int, str]:
    """The distinct labels that are not among ``classes`` (sorted), how many of ``labels`` are one,
    and a short text naming them, with a hint when some differ from a class only in case, spaces or
    the Unicode encoding of an accent."""
    known = set(classes)
    unseen = sorted(set(labels) - known)
    rows = sum(label not in known for label in labels) if unseen else 0
    shown = ", ".join(map(repr, unseen[:5])) + (", ..." if len(unseen) > 5 else "")
    fold = lambda label: unicodedata.normalize("NFC", str(label).strip()).casefold()  # noqa: E731
    folded = {fold(c) for c in classes}
    if any(isinstance(u, str) and fold(u) in folded for u in unseen):
        shown += ("; labels must match the model's classes exactly, character for character (case, and "
                  "how an accent is encoded, included)")
    return unseen, rows, shown


def validation_split(labels: Sequence, fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a stratified (train, validation) split; every class needs at least 2 examples.

    The validation part holds ``round(fraction * n)`` examples, at least one per class.
    """
    from sklearn.model_selection import train_test_split

    labels = check_labels(labels)
    check_real(fraction, "valid_fraction", 0, 0.5, low_open=True)
    seed = text.check_int(seed, "seed", 0)
    classes, counts = np.unique(np.asarray(labels, dtype=object if labels and isinstance(labels[0], str)
                                           else np.int64), return_counts=True)
    if len(classes) < 2:
        shown = f"only the class {classes.tolist()[0]!r}" if len(classes) else "no examples"
        raise ValueError(f"the labels hold {shown}: a classifier needs at least two classes")
    small = [(c, n) for c, n in zip(classes.tolist(), counts.tolist()) if n < 2]
    if small:
        listed = ", ".join(f"{c!r} ({n} example)" for c, n in small)
        raise ValueError(f"a stratified validation split needs at least 2 examples of each class, "
                         f"but {listed} {'has' if len(small) == 1 else 'have'} fewer: add examples or drop "
                         f"{'that class' if len(small) == 1 else 'those classes'}")
    n_valid = min(len(labels) - len(classes), max(len(classes), round(fraction * len(labels))))
    train, valid = train_test_split(np.arange(len(labels)), test_size=n_valid, stratify=np.asarray(labels),
                                    random_state=seed)
    return np.sort(train), np.sort(valid)


def _stratified_cap(labels: np.ndarray, rows: int, seed: int) -> np.ndarray:
    """At most ``rows`` positions with the classes' proportions (at least one of each), in order."""
    if len(labels) <= rows:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        picked.append(members[: max(1, round(len(members) * rows / len(labels)))])
    return np.sort(np.concatenate(picked))[: max(rows, len(picked))]


# ------------------------------------------------------------------------------------------ the model

@dataclass
class Explanation:
    """LIME's words for the predicted class of one text."""

    label: object                                  # the predicted class, as in ``classes_``
    probability: float                             # the model's probability for it
    words: list[tuple[str, float]] = field(default_factory=list)  # (word, weight), largest |weight| first
    samples: int = 0
    index: int = 0                                 # the predicted class's column in predict_proba
    lime: object = None                            # LIME's own Explanation (for explain.explanation_html)

    def table(self) -> str:
        """A plain-text table: one word per line with its weight (+ towards the class, - away)."""
        width = max([4, *(len(w) for w, _ in self.words)])
        lines = [f"predicted: {self.label} (probability {self.probability:.3f})",
                 f"LIME, {self.samples} samples: + pushes towards {self.label}, - away from it",
                 f"{'word':<{width}}  weight"]
        lines += [f"{w:<{width}}  {v:+.4f}" for w, v in self.words]
        return "\n".join(lines)


class TextClassifier(ClassifierMixin, BaseEstimator):
    """A bidirectional LSTM text classifier: ``fit(texts, labels)``, ``predict``, ``save``, ``load``.

    Hyper-parameters are constructor arguments (scikit-learn style); what fit learns ends in ``_``:
    ``classes_`` (sorted label names), ``vocab_``, ``model_``, ``config_``, ``history_``.
    ``quick=True`` caps the work to seconds (at most 2 epochs of at most 8 batches, as
    ``TEXTCLF_QUICK=1`` does; None follows that variable).
    """

    def __init__(self, hidden_dim: int = 128, num_layers: int = 1, embed_dim: int = 50, glove: bool = True,
                 dropout: float = 0.5, epochs: int = 10, batch_size: int = 64, lr: float = 1e-3,
                 patience: int | None = 2, max_length: int = 400, max_vocab: int | None = 25_000,
                 min_freq: int = 2, valid_fraction: float = 0.1, seed: int = 0, quick: bool | None = None,
                 verbose: bool = True):
        self.hidden_dim, self.num_layers, self.embed_dim, self.glove = hidden_dim, num_layers, embed_dim, glove
        self.dropout, self.epochs, self.batch_size, self.lr = dropout, epochs, batch_size, lr
        self.patience, self.max_length, self.max_vocab, self.min_freq = patience, max_length, max_vocab, min_freq
        self.valid_fraction, self.seed, self.quick, self.verbose = valid_fraction, seed, quick, verbose
        self._check_params()

    def _check_params(self) -> None:
        """A TypeError/ValueError naming the first hyper-parameter that is out of range."""
        for name, minimum in [("hidden_dim", 1), ("num_layers", 1), ("embed_dim", 1), ("epochs", 1),
                              ("batch_size", 1), ("max_length", 1), ("min_freq", 1), ("seed", 0)]:
            text.check_int(getattr(self, name), name, minimum)
        text.check_int(self.patience, "patience", 1, allow_none=True)
        text.check_int(self.max_vocab, "max_vocab", 1, allow_none=True)
        for name in ("glove", "verbose"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r:.40}")
        if self.quick is not None and not isinstance(self.quick, (bool, np.bool_)):
            raise TypeError(f"quick must be True, False or None (follow TEXTCLF_QUICK), got {self.quick!r:.40}")
        if self.glove and self.embed_dim != 50:
            raise ValueError(f"glove=True starts from GloVe 6B 50d, so embed_dim must be 50, got {self.embed_dim}")
        check_real(self.dropout, "dropout", 0, 1, high_open=True)
        check_real(self.lr, "lr", 0, low_open=True)
        check_real(self.valid_fraction, "valid_fraction", 0, 0.5, low_open=True)

    def _quick(self) -> bool:
        """Whether fit caps its work: ``quick`` when given, else ``TEXTCLF_QUICK``."""
        return settings.quick_mode() if self.quick is None else bool(self.quick)

    # ------------------------------------------------------------------------------------- training
    def fit(self, texts, labels, validation: tuple | None = None) -> TextClassifier:
        """Train on ``texts`` and ``labels``; returns ``self``.

        Empty, blank or missing texts are dropped (their count is printed). Early stopping watches a
        stratified ``valid_fraction`` of the data (fixed ``seed``), or ``validation=(texts, labels)``.
        Re-seeds torch's global random generator with ``seed``.
        """
        self._check_params()
        for name in ("model_", "vocab_", "config_", "classes_", "history_"):  # a failed refit leaves none
            self.__dict__.pop(name, None)
        texts, labels = self._clean_pairs(texts, labels, "")
        if validation is None:
            train_at, valid_at = validation_split(labels, self.valid_fraction, self.seed)
            train_texts, valid_texts = [texts[i] for i in train_at], [texts[i] for i in valid_at]
            train_labels, valid_labels = [labels[i] for i in train_at], [labels[i] for i in valid_at]
        else:
            if not isinstance(validation, tuple) or len(validation) != 2:
                raise TypeError("validation must be None or a (texts, labels) pair")
            train_texts, train_labels = texts, labels
            valid_texts, valid_labels = self._clean_pairs(*validation, "validation ")
        if len({type(y) for y in [*train_labels, *valid_labels]}) > 1:
            raise TypeError("the training and validation labels mix numbers and strings; use one kind")
        unseen = sorted(set(valid_labels) - set(train_labels))
        if unseen:
            raise ValueError(f"the validation labels hold class(es) the training labels do not: {unseen!r:.80}; "
                             f"a model can only learn classes it is trained on")
        classes = sorted(set(train_labels) | set(valid_labels))
        if len(classes) < 2:
            raise ValueError(f"the labels hold only the class {classes[0]!r}: a classifier needs at least two")
        index = {c: i for i, c in enumerate(classes)}
        y_train = np.array([index[y] for y in train_labels])
        y_valid = np.array([index[y] for y in valid_labels])

        quick = self._quick()
        epochs = self.epochs
        if quick:  # what training.fit's quick mode trains on, also without TEXTCLF_QUICK
            cap = training.QUICK_BATCHES * self.batch_size
            keep = _stratified_cap(y_train, cap, self.seed)
            train_texts, y_train = [train_texts[i] for i in keep], y_train[keep]
            keep = _stratified_cap(y_valid, cap, self.seed)
            valid_texts, y_valid = [valid_texts[i] for i in keep], y_valid[keep]
            epochs = min(epochs, training.QUICK_EPOCHS)

        random.seed(self.seed), np.random.seed(self.seed), torch.manual_seed(self.seed)
        tokenize = text.tokenizer("basic_english")
        train_tokens = [tokenize(t)[: self.max_length] for t in train_texts]
        self.vocab_ = text.build_vocab(train_tokens, min_freq=self.min_freq, max_size=self.max_vocab)
        self.config_ = ModelConfig(len(self.vocab_), self.embed_dim, self.hidden_dim, self.num_layers,
                                   len(classes), float(self.dropout), max_length=self.max_length)
        model = self.config_.build()
        if self.glove:
            from . import vectors

            weights, coverage = vectors.embedding_matrix(self.vocab_, vectors.glove_6b_50d(), seed=self.seed)
            with torch.no_grad():
                model.embedding.weight.copy_(weights)
            self._say(f"GloVe 6B 50d covers {coverage.fraction:.1%} of the {coverage.total:,} words")
        self._say(f"{len(train_texts):,} training and {len(valid_texts):,} validation texts, "
                  f"{len(classes)} classes, vocabulary of {len(self.vocab_):,}"
                  + (" (quick mode)" if quick else ""))
        train_set = text.EncodedDataset([self._ids(t) for t in train_tokens], y_train)
        valid_set = text.EncodedDataset(self._encode(valid_texts), y_valid)
        device = training.pick_device()
        history = training.fit(
            model, text.data_loader(train_set, self.batch_size, bucket=True, seed=self.seed),
            text.data_loader(valid_set, self.batch_size, bucket=True, seed=self.seed),
            torch.optim.Adam(model.parameters(), lr=self.lr), nn.CrossEntropyLoss(), device,
            epochs=epochs, patience=self.patience, verbose=self.verbose, progress=self.verbose)
        self.classes_, self.history_, self.model_ = np.asarray(classes), history, model.to("cpu").eval()
        return self

    def _say(self, message: str) -> None:
        if self.verbose:
            print(message)

    def _clean_pairs(self, texts, labels, what: str) -> tuple[list[str], list]:
        """Texts and labels of equal length; pairs whose text is empty, blank or missing are dropped."""
        texts = check_texts(texts, f"{what}texts")
        labels = check_labels(labels, f"{what}labels")
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} {what}texts but {len(labels)} {what}labels: give one label per text")
        keep = []
        for position, t in enumerate(texts):
            if _is_missing(t):
                continue
            if not isinstance(t, str):
                raise TypeError(f"{what}texts must be str, got {type(t).__name__} {t!r:.40} at position {position}")
            if t.strip() and text.basic_english(t):
                keep.append(position)
        dropped = len(texts) - len(keep)
        if not keep:
            raise ValueError(f"all {len(texts)} {what}texts are empty, blank or missing: nothing to learn from")
        if dropped:
            self._say(f"dropped {dropped:,} {what}texts that are empty, blank or missing (of {len(texts):,})")
        return [texts[i] for i in keep], [labels[i] for i in keep]

    # ----------------------------------------------------------------------------------- prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("this TextClassifier is not trained yet: call fit(texts, labels) or "
                               "TextClassifier.load(directory) first")

    def _ids(self, tokens: list[str]) -> torch.Tensor:
        """One text's ids, at most ``max_length``; no tokens -> a single ``<pad>`` step."""
        ids = self.vocab_.encode(tokens[: self.config_.max_length])
        return torch.tensor(ids or [self.vocab_.pad_index], dtype=torch.long)

    def _encode(self, texts: list[str]) -> list[torch.Tensor]:
        tokenize = text.tokenizer(self.config_.tokenizer)
        return [self._ids(tokenize(t) if t.strip() else []) for t in texts]

    @torch.no_grad()
    def predict_proba(self, texts, batch_size: int = 128) -> np.ndarray:
        """Probabilities ``(len(texts), len(classes_))``, columns in the order of ``classes_``."""
        self._check_fitted()
        batch_size = text.check_int(batch_size, "batch_size", 1)
        texts = check_texts(texts)
        for position, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"texts must be str, got {type(t).__name__} {t!r:.40} at position {position}; "
                                f"give '' for a missing text")
        out = np.zeros((len(texts), len(self.classes_)), dtype=np.float32)
        if not texts:
            return out
        ids = self._encode(texts)
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # similar lengths share a batch
        self.model_.eval()
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch, lengths, _ = text.collate([(ids[i], torch.tensor(0)) for i in rows])
            out[rows] = torch.softmax(self.model_(batch, lengths), dim=1).numpy()
        return out

    def predict(self, texts) -> np.ndarray:
        """The most probable class of each text, as given in training (str or int)."""
        probabilities = self.predict_proba(texts)
        return self.classes_[probabilities.argmax(axis=1)]

    def score(self, texts, labels, sample_weight=None) -> float:
        """Accuracy of ``predict(texts)`` against ``labels``; a label the model never saw counts as
        wrong and is named in a warning, and labels of which the model knows none are refused."""
        self._check_fitted()
        labels = check_labels(labels)
        classes = self.classes_.tolist()
        if labels and type(labels[0]) is not type(classes[0]):
            raise TypeError(f"labels are {type(labels[0]).__name__} but the model's classes are "
                            f"{type(classes[0]).__name__}: {classes}")
        unseen, rows, shown = unseen_labels(labels, classes)
        if unseen:
            if rows == len(labels):
                raise ValueError(f"none of the labels is a class the model knows ({shown}); "
                                 f"its classes are {classes}")
            warnings.warn(f"{rows:,} of {len(labels):,} labels are classes the model never saw "
                          f"({shown}); they count as wrong", UserWarning, stacklevel=2)
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(np.asarray(labels), self.predict(texts), sample_weight=sample_weight))

    def classifier_fn(self):
        """A function LIME can call: list of texts -> probabilities ``(n, classes)``."""
        self._check_fitted()
        return lambda texts: self.predict_proba(list(texts), batch_size=256)

    def explain(self, text: str, words: int = 10, samples: int = 1000, seed: int = 0) -> Explanation:
        """LIME's ``words`` most important words for the predicted class of ``text``
        (``LimeTextExplainer`` with bag-of-words masking, ``samples`` perturbed texts, fixed seed)."""
        from lime.lime_text import LimeTextExplainer

        self._check_fitted()
        if not isinstance(text, str):
            raise TypeError(f"explain takes one text (str), got {type(text).__name__}")
        if not re.search(r"[^\W_]", text):  # LIME's words are runs of letters, digits (and _)
            raise ValueError(f"cannot explain {text!r:.40}: it has no words (letters or digits) for LIME to weigh")
        words, samples = check_int(words, "words", 1), check_int(samples, "samples", 2)
        seed = check_int(seed, "seed", 0)
        explainer = LimeTextExplainer(class_names=[str(c) for c in self.classes_], random_state=seed)
        lime = explainer.explain_instance(text, self.classifier_fn(), num_features=words,
                                          num_samples=samples, top_labels=1)
        index = int(lime.top_labels[0])
        return Explanation(self.classes_.tolist()[index], float(lime.predict_proba[index]),
                           lime.as_list(label=index), samples, index, lime)

    # --------------------------------------------------------------------------------- save & load
    def save(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write the model to ``directory`` (config.json, vocab.json, weights.pt, manifest.json).

        The files are written into a hidden temporary sibling, which is renamed into place only
        when complete, so an interrupted save never leaves a model-looking folder. An existing
        model there is replaced only with ``overwrite=True`` (the old one is renamed away, the new
        one renamed in, the old one deleted); a folder that holds anything else is never replaced.
        """
        self._check_fitted()
        target = Path(directory)
        _check_target(target, overwrite)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_parts(target)
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
        except OSError as err:
            raise ModelFileError(f"cannot write the model to {target}: {err.strerror or err}") from err
        try:
            config = {
                "format_version": FORMAT_VERSION,
                "textclf_version": __version__,
                "classes": self.classes_.tolist(),
                "model": asdict(self.config_),
                "params": self.get_params(),
                "history": {"epochs": self.history_.epochs, "best_epoch": self.history_.best_epoch},
            }
            _write(tmp / "config.json", json.dumps(config, indent=1, ensure_ascii=False).encode("utf-8"))
            _write(tmp / "vocab.json", json.dumps(self.vocab_.itos, ensure_ascii=False).encode("utf-8"))
            buffer = io.BytesIO()
            torch.save({k: v.detach().cpu() for k, v in self.model_.state_dict().items()}, buffer)
            _write(tmp / "weights.pt", buffer.getvalue())
            manifest = {"format_version": FORMAT_VERSION,
                        "sha256": {name: file_checksum(tmp / name) for name in FILES}}
            _write(tmp / MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))  # last: marks completion
            tmp.chmod(0o777 & ~_umask())
            _move_into_place(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    @classmethod
    def load(cls, directory: str | Path) -> TextClassifier:
        """Read a model written by :meth:`save`; a :class:`ModelFileError` names what is wrong."""
        directory = Path(directory)
        config, vocab, state = _read_model_files(directory)
        known = set(inspect.signature(cls.__init__).parameters) - {"self"}
        params = {k: v for k, v in config["params"].items() if k in known}  # a newer file's extras are ignored
        try:
            clf = cls(**params)
            model_config = ModelConfig(**config["model"])
            model = model_config.build()
        except (TypeError, ValueError) as err:
            raise ModelFileError(f"{directory / 'config.json'} describes no model this code can build: {err}") from err
        if model_config.vocab_size != len(vocab):
            raise ModelFileError(f"{directory / 'vocab.json'} holds {len(vocab):,} tokens, but config.json says "
                                 f"the model has {model_config.vocab_size:,}: the files do not belong together")
        if model_config.num_classes != len(config["classes"]):
            raise ModelFileError(f"{directory / 'config.json'}: {len(config['classes'])} class names for "
                                 f"{model_config.num_classes} outputs")
        expected = model.state_dict()
        problems = [f"{k} is missing" for k in expected if k not in state]
        problems += [f"{k} is not part of this model" for k in state if k not in expected]
        problems += [f"{k} has shape {tuple(state[k].shape)}, expected {tuple(v.shape)}"
                     for k, v in expected.items() if k in state and state[k].shape != v.shape]
        if problems:
            raise ModelFileError(f"{directory / 'weights.pt'} does not fit the vocabulary and config.json: "
                                 + "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else ""))
        model.load_state_dict(state)
        clf.model_, clf.vocab_, clf.config_ = model.eval(), vocab, model_config
        clf.classes_ = np.asarray(config["classes"])
        history = config.get("history") or {}
        clf.history_ = training.History(list(history.get("epochs", [])), history.get("best_epoch"))
        return clf


# ------------------------------------------------------------------------------------- file helpers

def tfidf_baseline(texts, labels, C: float = 1.0):
    """TF-IDF over words and word pairs + logistic regression, fitted on ``texts``: the linear model
    the chapters compare their LSTMs with, as one scikit-learn pipeline (``predict``, ``score``)."""
    texts, labels = check_texts(texts), check_labels(labels)
    if len(texts) != len(labels):
        raise ValueError(f"texts and labels differ in length: {len(texts)} and {len(labels)}")
    return baselines.tfidf_logistic(texts, np.asarray(labels), C=C)


#: The values of C the baseline tries on validation, a factor of 4 apart.
BASELINE_CS = baselines.DEFAULT_CS


def tuned_tfidf_baseline(train_texts, train_labels, valid_texts, valid_labels, Cs=BASELINE_CS):
    """The baseline with C chosen on validation accuracy (the first best on a tie), as the LSTM's
    epoch is: returns the fitted pipeline and ``{C: validation accuracy}``."""
    train_texts, train_labels = check_texts(train_texts), check_labels(train_labels)
    if len(train_texts) != len(train_labels):
        raise ValueError(f"texts and labels differ in length: {len(train_texts)} and {len(train_labels)}")
    return baselines.tuned_tfidf_logistic(train_texts, np.asarray(train_labels), valid_texts,
                                          np.asarray(check_labels(valid_labels)), Cs=Cs)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _is_model_dir(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def _check_target(target: Path, overwrite: bool) -> None:
    """Refuse a target that is a file, a folder holding something other than a model, or an
    existing model without ``overwrite``."""
    if not isinstance(overwrite, (bool, np.bool_)):
        raise TypeError(f"overwrite must be True or False, got {overwrite!r:.40}")
    if target.exists() and not target.is_dir():
        raise ModelFileError(f"{target} is a file, not a folder: choose a new folder name for the model")
    problem = unwritable_reason(target)
    if problem:
        raise ModelFileError(f"cannot save the model: {problem}; choose another folder")
    if target.is_dir() and any(target.iterdir()):
        if not _is_model_dir(target):
            raise ModelFileError(f"{target} is a folder that holds something other than a saved model "
                                 f"(no {MANIFEST}); refusing to replace it: choose a new folder name")
        if not overwrite:
            raise ModelFileError(f"{target} already holds a saved model; pass overwrite=True (--overwrite) "
                                 f"to replace it, or choose a new folder name")


def _move_into_place(tmp: Path, target: Path) -> None:
    """Rename the finished ``tmp`` folder to ``target``, moving an old model aside first."""
    old = None
    if target.is_dir() and any(target.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.replace(target, old)        # an empty folder is replaced, a model moved aside
    try:
        os.replace(tmp, target)
    except BaseException:              # an error, or Ctrl-C between the two renames
        if old is not None:
            os.replace(old, target)    # put the old model back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale_parts(target: Path) -> None:
    """Delete temporary folders of ``target`` that a killed save left behind over an hour ago."""
    now = time.time()
    for pattern in (f".{glob_escape(target.name)}.*.part", f".{glob_escape(target.name)}.*.old"):
        for part in target.parent.glob(pattern):
            try:
                if part.is_dir() and now - part.stat().st_mtime > STALE_PART_SECONDS:
                    shutil.rmtree(part)
            except OSError:
                pass


def _read_model_files(directory: Path) -> tuple[dict, text.Vocab, dict]:
    """config, vocabulary and state dict of a saved model, each checked against the manifest."""
    if not directory.exists():
        raise ModelFileError(f"no saved model at {directory}: the folder does not exist")
    if not directory.is_dir():
        raise ModelFileError(f"{directory} is a file, not a saved-model folder")
    if not (directory / MANIFEST).is_file():
        raise ModelFileError(f"{directory} has no {MANIFEST}: it is not a saved model, or its save was "
                             f"interrupted; train and save it again")
    manifest = read_json(directory / MANIFEST, "a saved model's manifest")
    sums = manifest.get("sha256") if isinstance(manifest, dict) else None
    if not isinstance(sums, dict):
        raise ModelFileError(f"{directory / MANIFEST} is not a saved model's manifest (no sha256 table)")
    version = manifest.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise ModelFileError(f"{directory / MANIFEST}: the model was saved in format {version}, newer than "
                             f"the {FORMAT_VERSION} this textclf {__version__} reads; upgrade textclf")
    for name in FILES:
        path = directory / name
        if name not in sums:
            raise ModelFileError(f"{directory / MANIFEST} lists no checksum for {name}")
        if not path.is_file():
            raise ModelFileError(f"{path} is missing: the saved model is incomplete")
        if file_checksum(path) != sums[name]:
            raise ModelFileError(f"{path} does not match its checksum in {MANIFEST}: the file was changed "
                                 f"or damaged after the model was saved")
    try:
        config = read_json(directory / "config.json", "a saved model's config")
    except DataError as err:
        raise ModelFileError(str(err)) from err
    version = config.get("format_version") if isinstance(config, dict) else None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{directory / 'config.json'} has no valid format_version (a whole number >= 1)")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{directory / 'config.json'}: the model was saved in format {version}, newer than "
                             f"the {FORMAT_VERSION} this textclf {__version__} reads; upgrade textclf")
    for key, kind in [("classes", list), ("model", dict), ("params", dict)]:
        if not isinstance(config.get(key), kind):
            raise ModelFileError(f"{directory / 'config.json'} has no valid {key!r} ({kind.__name__} expected)")
    try:
        classes = check_labels(config["classes"], "classes")
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"{directory / 'config.json'}: {err}") from err
    if len(set(classes)) != len(classes) or classes != sorted(classes):
        raise ModelFileError(f"{directory / 'config.json'}: the class names must be unique and sorted")
    try:
        vocab = text.Vocab.load(directory / "vocab.json")
    except DataError as err:
        raise ModelFileError(str(err)) from err
    try:
        state = torch.load(directory / "weights.pt", map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for a bad file
        raise ModelFileError(f"{directory / 'weights.pt'} is not a state dict that torch.load(weights_only=True) "
                             f"can read ({type(err).__name__})") from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFileError(f"{directory / 'weights.pt'} does not hold a state dict (names -> tensors)")
    return config, vocab, state
