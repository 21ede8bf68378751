"""Does the test set hold what training already saw? Grouped splits and near-duplicate counts.

A data set with several versions of one example (augmented variants, retweets, quotes) leaks
through a random split: the model meets a copy of a test example during training. Split by the
group instead (:func:`grouped_split`), and measure what is left (:func:`nearest_similarity`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _check_fraction(fraction: float) -> None:
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {fraction!r}")


def grouped_split(df: pd.DataFrame, group_column: str, test_fraction: float, seed: int = 0,
                  text_column: str | None = "text") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``df`` so that no value of ``group_column`` lands on both sides.

    ``test_fraction`` of the *groups* (drawn at random with ``seed``) go to the test part. With a
    ``text_column``, test rows whose text occurs verbatim in the training part are dropped too
    (their number is in ``test.attrs["dropped_verbatim"]``); ``text_column=None`` keeps them.
    Both parts keep the original row order and get a fresh index.
    """
    _check_fraction(test_fraction)
    for column in (group_column, text_column):
        if column is not None and column not in df.columns:
            raise ValueError(f"no column {column!r} in the data frame; its columns are: {', '.join(map(str, df.columns))}")
    if df[group_column].isna().any():
        raise ValueError(f"column {group_column!r} has missing values; every row needs a group")
    groups = df[group_column].unique()
    if len(groups) < 2:
        raise ValueError(f"need at least 2 groups in {group_column!r} to split, got {len(groups)}")
    n_test = min(max(1, round(test_fraction * len(groups))), len(groups) - 1)
    test_groups = np.random.default_rng(seed).permutation(groups)[:n_test]
    in_test = df[group_column].isin(test_groups).to_numpy()
    train, test = df[~in_test].reset_index(drop=True), df[in_test].reset_index(drop=True)
    dropped = 0
    if text_column is not None:
        seen = test[text_column].isin(set(train[text_column]))
        dropped = int(seen.sum())
        test = test[~seen].reset_index(drop=True)
    test.attrs["dropped_verbatim"] = dropped
    return train, test


def nearest_similarity(queries: Sequence[str], references: Sequence[str], ngram_range: tuple[int, int] = (3, 3),
                       chunk_size: int = 1000) -> np.ndarray:
    """For each query text, its cosine similarity to the most similar reference text.

    Texts are compared as TF-IDF vectors of character n-grams (within words, ``char_wb``) fitted
    on ``references``: 1.0 means the same n-grams in the same proportions (a verbatim copy, or
    a reshuffle the n-grams cannot tell apart), values near 0 mean nothing in common. Returns a float array of ``len(queries)`` values in [0, 1].
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    queries, references = list(queries), list(references)
    if not queries or not references:
        raise ValueError(f"need at least one query and one reference text, got {len(queries)} and {len(references)}")
    for name, texts in [("queries", queries), ("references", references)]:
        bad = next((t for t in texts if not isinstance(t, str)), None)
        if bad is not None:
            raise TypeError(f"{name} must be strings, found {type(bad).__name__}: {bad!r:.60}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, lowercase=False)
    reference_vectors = vectorizer.fit_transform(references).T.tocsr()   # (features, references)
    query_vectors = vectorizer.transform(queries)                        # (queries, features)
    best = np.empty(len(queries))
    for start in range(0, len(queries), chunk_size):
        similarities = query_vectors[start:start + chunk_size] @ reference_vectors  # (chunk, references)
        best[start:start + chunk_size] = similarities.max(axis=1).toarray().ravel()
    return np.clip(best, 0.0, 1.0)
