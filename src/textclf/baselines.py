"""The linear baseline every chapter compares its networks with: TF-IDF features and logistic
regression, its C chosen on validation accuracy.

Word unigrams and pairs (``features="words"``) for reviews and news, character 1- to 5-grams
within word boundaries (``features="chars"``) for tweets. The vectorizer is fitted once and each
C trains one classifier on the same features; the result is one scikit-learn pipeline
(``predict``, ``predict_proba``, ``score`` on raw texts).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from .checks import check_real

#: Feature kinds: sklearn analyzer and n-gram range.
FEATURES = {"words": ("word", (1, 2)), "chars": ("char_wb", (1, 5))}
#: The values of C tried on validation by default, a factor of 4 apart.
DEFAULT_CS = (0.25, 1.0, 4.0, 16.0, 64.0)


def tfidf_vectorizer(features: str = "words", ngram_range: tuple[int, int] | None = None, min_df: int = 1,
                     tokenizer: Callable[[str], list[str]] | None = None, lowercase: bool = True,
                     sublinear_tf: bool = True) -> TfidfVectorizer:
    """An unfitted TF-IDF vectorizer of ``features`` ("words" or "chars"); ``tokenizer`` replaces
    scikit-learn's word pattern (e.g. ``text.tokenizer("basic_english")``)."""
    if features not in FEATURES:
        raise ValueError(f"features must be one of {tuple(FEATURES)}, got {features!r:.40}")
    analyzer, default_range = FEATURES[features]
    if tokenizer is not None and not callable(tokenizer):
        raise TypeError(f"tokenizer must be a function str -> list of str, got {type(tokenizer).__name__}")
    if tokenizer is not None and features != "words":
        raise ValueError("a tokenizer makes word features: use it with features='words'")
    if isinstance(min_df, bool) or not isinstance(min_df, numbers.Integral) or min_df < 1:
        raise ValueError(f"min_df must be an int of at least 1 (texts a feature must occur in), got {min_df!r:.40}")
    ngram_range = tuple(ngram_range or default_range)
    if len(ngram_range) != 2 or not 1 <= ngram_range[0] <= ngram_range[1]:
        raise ValueError(f"ngram_range must be (smallest, largest) with 1 <= smallest <= largest, got {ngram_range}")
    options = {"tokenizer": tokenizer, "token_pattern": None} if tokenizer is not None else {}
    return TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, min_df=int(min_df), lowercase=lowercase,
                           sublinear_tf=sublinear_tf, **options)


def _texts_and_labels(texts: object, labels: object, which: str) -> tuple[list[str], np.ndarray]:
    """A list of str texts and an array of as many labels, or a TypeError/ValueError naming ``which``."""
    if isinstance(texts, (str, bytes)) or not (isinstance(texts, (Sequence, np.ndarray)) or hasattr(texts, "tolist")):
        raise TypeError(f"{which}_texts must be a list of texts, got {type(texts).__name__}")
    texts = texts.tolist() if hasattr(texts, "tolist") else list(texts)
    odd = next((t for t in texts if not isinstance(t, str)), None)
    if odd is not None:
        raise TypeError(f"{which}_texts must hold str texts, got {type(odd).__name__}: {odd!r:.40}")
    labels = np.asarray(labels.tolist() if hasattr(labels, "tolist") else list(labels))
    if len(texts) != len(labels) or not texts:
        raise ValueError(f"{which}_texts and {which}_labels must be non-empty and of one length, "
                         f"got {len(texts)} and {len(labels)}")
    return texts, labels


def _default_min_df(min_df: int | None, texts: list[str]) -> int:
    """``min_df``, or the package's rule when None: 2 from 1,000 training texts on, else 1."""
    return (2 if len(texts) >= 1000 else 1) if min_df is None else min_df


def tfidf_logistic(texts, labels, C: float = 1.0, *, features: str = "words", min_df: int | None = None,
                   max_iter: int = 2000, **vectorizer_options) -> Pipeline:
    """TF-IDF + logistic regression with one ``C``, fitted on ``texts``: a scikit-learn pipeline.
    ``min_df=None`` keeps a feature seen in 2 texts from 1,000 texts on, in 1 below."""
    model, _ = tuned_tfidf_logistic(texts, labels, None, None, Cs=(C,), features=features, min_df=min_df,
                                    max_iter=max_iter, **vectorizer_options)
    return model


def tuned_tfidf_logistic(train_texts, train_labels, valid_texts, valid_labels, Cs: Sequence[float] = DEFAULT_CS,
                         *, features: str = "words", min_df: int | None = None, max_iter: int = 2000,
                         verbose: bool = False, **vectorizer_options) -> tuple[Pipeline, dict[float, float]]:
    """The baseline with C chosen on validation accuracy (the first best on a tie): returns the
    fitted pipeline and ``{C: validation accuracy}``. Options as :func:`tfidf_vectorizer`."""
    if isinstance(Cs, (str, bytes)) or not isinstance(Cs, Sequence) or not Cs:
        raise ValueError(f"Cs must hold at least one value of C, got {Cs!r:.40}")
    for C in Cs:
        check_real(C, "every C", 0, low_open=True)
    train_texts, train_labels = _texts_and_labels(train_texts, train_labels, "train")
    tuned = valid_texts is not None
    if tuned:
        valid_texts, valid_labels = _texts_and_labels(valid_texts, valid_labels, "valid")
    vectorizer = tfidf_vectorizer(features, min_df=_default_min_df(min_df, train_texts), **vectorizer_options)
    features_train = vectorizer.fit_transform(train_texts)             # (texts, features), sparse
    features_valid = vectorizer.transform(valid_texts) if tuned else None
    scores, best = {}, None
    for C in Cs:
        classifier = LogisticRegression(C=C, max_iter=max_iter).fit(features_train, train_labels)
        scores[C] = float(classifier.score(features_valid, valid_labels)) if tuned else float("nan")
        if best is None or scores[C] > scores[best[0]]:
            best = (C, classifier)
    if verbose and tuned:
        print(f"{features_train.shape[1]:,} features; validation accuracy by C: "
              + ", ".join(f"{C:g}: {a:.2%}" for C, a in scores.items()) + f"; chosen C={best[0]:g}")
    return make_pipeline(vectorizer, best[1]), (scores if tuned else {})
