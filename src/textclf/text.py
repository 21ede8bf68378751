"""From text to tensors: tokenizers, a vocabulary, padding, a collate function and a bucketing sampler."""

from __future__ import annotations

import json
import numbers
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .checks import DataError, check_int  # check_int is re-exported: text.check_int
from .files import atomic_write, read_json

PAD, UNK = "<pad>", "<unk>"

Tokenizer = Callable[[str], list[str]]

# torchtext's "basic_english": lower-case, split off punctuation, turn <br /> and ; : into spaces.
_BASIC_ENGLISH = [
    (re.compile(r"\'"), " '  "),
    (re.compile(r"\""), ""),
    (re.compile(r"\."), " . "),
    (re.compile(r"<br \/>"), " "),
    (re.compile(r","), " , "),
    (re.compile(r"\("), " ( "),
    (re.compile(r"\)"), " ) "),
    (re.compile(r"\!"), " ! "),
    (re.compile(r"\?"), " ? "),
    (re.compile(r"\;"), " "),
    (re.compile(r"\:"), " "),
    (re.compile(r"\s+"), " "),
]


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"a tokenizer takes a str, got {type(text).__name__}: {text!r:.60}")
    if not text.strip():
        raise ValueError(f"cannot tokenize an empty or blank text ({text!r}); drop such rows before tokenizing")
    return text


def basic_english(text: str) -> list[str]:
    """Lower-cased words and punctuation, token for token what torchtext's ``basic_english`` gives."""
    line = _check_text(text).lower()
    for pattern, replacement in _BASIC_ENGLISH:
        line = pattern.sub(replacement, line)
    return line.split()


@lru_cache(maxsize=1)
def _spacy_tokenizer():
    import spacy

    return spacy.blank("en").tokenizer


def spacy_english(text: str) -> list[str]:
    """spaCy's rule-based English tokenizer (no model download), case kept, whitespace dropped."""
    return [token.text for token in _spacy_tokenizer()(_check_text(text)) if not token.is_space]


def characters(text: str) -> list[str]:
    """One token per character, spaces and emoji included."""
    return list(_check_text(text))


def no_html(texts: Iterable[str]) -> list[str]:
    """The texts with IMDb's ``<br />`` line breaks as spaces, for models that see raw text (TF-IDF)."""
    if isinstance(texts, str):
        raise TypeError("no_html takes a sequence of texts (a list or a column), got one str; wrap it in a list")
    cleaned = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"no_html: text {i} is {type(t).__name__}, not str: {t!r:.60}")
        cleaned.append(t.replace("<br />", " "))
    return cleaned


TOKENIZERS: dict[str, Tokenizer] = {"basic_english": basic_english, "spacy": spacy_english, "chars": characters}


def _check_tokens(tokens: object, caller: str) -> list[str]:
    """A list of str tokens (one text's tokens), or a TypeError saying what was given instead."""
    if isinstance(tokens, str):
        raise TypeError(f"{caller} takes a list of tokens, got the str {tokens!r:.40}: tokenize the text first")
    if isinstance(tokens, torch.Tensor) or not isinstance(tokens, Iterable):
        raise TypeError(f"{caller} takes a list of str tokens, got {type(tokens).__name__}")
    tokens = tokens if isinstance(tokens, list) else list(tokens)
    if not set(map(type, tokens)) <= {str}:  # fast path: type() per token, at C speed
        odd = next((t for t in tokens if not isinstance(t, str)), None)
        if odd is not None:
            raise TypeError(f"{caller}: tokens must be str, got {type(odd).__name__}: {odd!r:.40}")
    return tokens


def tokenizer(name: str) -> Tokenizer:
    """Look a tokenizer up by name: ``basic_english``, ``spacy`` or ``chars``."""
    if not isinstance(name, str):
        raise TypeError(f"tokenizer takes a name (str), got {type(name).__name__}; choose one of: {', '.join(TOKENIZERS)}")
    if name not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {name!r}; choose one of: {', '.join(TOKENIZERS)}")
    return TOKENIZERS[name]


class Vocab:
    """A token <-> index mapping with ``<pad>`` = 0 and ``<unk>`` = 1; unknown tokens map to ``<unk>``."""

    def __init__(self, tokens: Sequence[str]):
        if isinstance(tokens, str) or not isinstance(tokens, Sequence):
            raise TypeError(f"a Vocab takes a list of str tokens, got {type(tokens).__name__}")
        odd = [t for t in tokens if not isinstance(t, str)]
        if odd:
            raise TypeError(f"vocabulary tokens must be str, got {type(odd[0]).__name__}: {odd[0]!r:.40}")
        if list(tokens[:2]) != [PAD, UNK]:
            raise ValueError(f"a Vocab starts with {PAD!r} and {UNK!r}, got {list(tokens[:2])}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary tokens must be unique")
        self.itos: list[str] = list(tokens)
        self.stoi: dict[str, int] = {token: i for i, token in enumerate(self.itos)}
        self.pad_index, self.unk_index = 0, 1
        self.default_index = self.unk_index

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return isinstance(token, str) and token in self.stoi

    def __getitem__(self, token: str) -> int:
        """The index of ``token`` (``<unk>``'s for unknown tokens); ``vocab.itos[i]`` goes the other way."""
        if not isinstance(token, str):
            raise TypeError(
                f"vocab[token] takes a str token, got {type(token).__name__}: {token!r:.40}; "
                f"for the token at an index use vocab.itos[i] or vocab.decode([...])"
            )
        return self.stoi.get(token, self.default_index)

    def __repr__(self) -> str:
        return f"Vocab({len(self):,} tokens: {self.itos[:6]}...)"

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Token list -> index list; tokens outside the vocabulary become ``<unk>``."""
        tokens = _check_tokens(tokens, "Vocab.encode")
        return [self.stoi.get(token, self.default_index) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Index list (or 1-D integer tensor or array) -> token list."""
        if isinstance(ids, (torch.Tensor, np.ndarray)):
            ids = _integer_list(ids, "Vocab.decode")
        elif isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
            raise TypeError(f"Vocab.decode takes a list of int ids, got {type(ids).__name__}")
        tokens = []
        for i in ids:
            if isinstance(i, (bool, np.bool_)) or not isinstance(i, numbers.Integral):
                raise TypeError(f"Vocab.decode: ids must be ints, got {type(i).__name__}: {i!r:.40}")
            if not 0 <= i < len(self.itos):
                raise ValueError(f"Vocab.decode: id {i} is outside the vocabulary (0..{len(self.itos) - 1})")
            tokens.append(self.itos[i])
        return tokens

    def save(self, path: str | Path) -> None:
        """Write the tokens, in index order, as JSON (atomically: a failed write keeps the old file)."""
        with atomic_write(Path(path)) as tmp:
            tmp.write_text(json.dumps(self.itos, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        path = Path(path)
        tokens = read_json(path, "a vocabulary written by Vocab.save")
        if not isinstance(tokens, list):
            raise DataError(f"{path} is not a vocabulary written by Vocab.save (it holds a {type(tokens).__name__}, not a list)")
        try:
            return cls(tokens)
        except (TypeError, ValueError) as err:
            raise DataError(f"{path} is not a valid vocabulary: {err}") from err


def build_vocab(token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None) -> Vocab:
    """Count tokens and keep the most frequent ones (ties broken alphabetically, as torchtext does).

    ``max_size`` counts the kept tokens without the two specials, so ``max_size=25_000`` gives a
    vocabulary of 25,002 entries.
    """
    min_freq = check_int(min_freq, "min_freq", 1)
    max_size = check_int(max_size, "max_size", 0, allow_none=True)
    if isinstance(token_lists, str) or not isinstance(token_lists, Iterable):
        raise TypeError(f"build_vocab takes an iterable of token lists, got {type(token_lists).__name__}")
    counts = Counter()
    for number, tokens in enumerate(token_lists):
        if isinstance(tokens, str) or not isinstance(tokens, Iterable):
            raise TypeError(
                f"build_vocab takes token lists (one list of str per text), but item {number} is "
                f"{type(tokens).__name__}: {tokens!r:.40}; tokenize each text, e.g. map(tokenize, texts)"
            )
        counts.update(tokens)
    odd = [token for token in counts if not isinstance(token, str)]
    if odd:
        raise TypeError(f"build_vocab: tokens must be str, got {type(odd[0]).__name__}: {odd[0]!r:.40}")
    counts.pop(PAD, None), counts.pop(UNK, None)
    ranked = [t for t, c in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if c >= min_freq]
    return Vocab([PAD, UNK, *ranked[:max_size]])


def pad_or_truncate(ids: Sequence[int], length: int, pad_index: int = 0) -> list[int]:
    """Cut ``ids`` (a list, or a 1-D integer tensor) to ``length`` or fill it up with ``pad_index``."""
    length, pad_index = check_int(length, "length", 1), check_int(pad_index, "pad_index", 0)
    if isinstance(ids, (torch.Tensor, np.ndarray)):
        ids = _integer_list(ids, "pad_or_truncate")
    elif isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence):
        raise TypeError(f"pad_or_truncate takes a list of int ids, got {type(ids).__name__}: {ids!r:.40}")
    odd = [i for i in ids if isinstance(i, (bool, np.bool_)) or not isinstance(i, numbers.Integral)]
    if odd:
        raise TypeError(f"pad_or_truncate: ids must be ints, got {type(odd[0]).__name__}: {odd[0]!r:.40}")
    return [int(i) for i in ids[:length]] + [pad_index] * max(0, length - len(ids))


def _integer_list(ids, caller: str) -> list[int]:
    """A 1-D integer tensor or array as a list of ints; anything else is a TypeError."""
    integer = ids.dtype != torch.bool and not ids.is_floating_point() and not ids.is_complex() \
        if isinstance(ids, torch.Tensor) else np.issubdtype(ids.dtype, np.integer)
    if ids.ndim != 1 or not integer:
        raise TypeError(f"{caller} takes 1-D integer ids, got shape {tuple(ids.shape)} of {ids.dtype}")
    return ids.tolist()


def encode_texts(
    texts: Iterable[str], tokenize: Tokenizer, vocab: Vocab, max_length: int | None = None
) -> list[torch.Tensor]:
    """Tokenize and index every text; each becomes a 1-D LongTensor of at most ``max_length`` ids."""
    if isinstance(texts, str) or not isinstance(texts, Iterable):
        raise TypeError(f"encode_texts takes a list of texts, got {type(texts).__name__}: {texts!r:.40}")
    max_length = check_int(max_length, "max_length", 1, allow_none=True)
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a textclf.text.Vocab, got {type(vocab).__name__}")
    if not callable(tokenize):
        raise TypeError(f"tokenize must be a function (text.tokenizer(name)), got {type(tokenize).__name__}")
    encoded = []
    for number, text in enumerate(texts):
        try:
            tokens = tokenize(text)
        except (TypeError, ValueError) as err:
            raise type(err)(f"encode_texts: text {number}: {err}") from err
        encoded.append(torch.tensor(vocab.encode(tokens[:max_length]), dtype=torch.long))
    return encoded


class EncodedDataset(Dataset):
    """Pairs of (token ids, label) kept in memory."""

    def __init__(self, ids: Sequence[torch.Tensor], labels: Sequence):
        ids = list(ids)
        labels = labels.tolist() if isinstance(labels, (torch.Tensor, np.ndarray)) else list(labels)
        if len(ids) != len(labels):
            raise ValueError(f"{len(ids)} encoded texts but {len(labels)} labels")
        for number, x in enumerate(ids):
            if isinstance(x, (list, tuple)):  # plain lists of ids are fine too
                if not all(isinstance(i, numbers.Integral) and not isinstance(i, (bool, np.bool_)) for i in x):
                    raise TypeError(f"EncodedDataset: encoded text {number} must hold int ids, got {x!r:.60}")
                ids[number] = x = torch.tensor(x, dtype=torch.long)
            _check_id_tensor(x, f"EncodedDataset: encoded text {number}")
        self.ids, self.labels = ids, _label_tensor(labels, "EncodedDataset")

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.ids[i], self.labels[i]

    def lengths(self) -> list[int]:
        return [len(x) for x in self.ids]


def encode_frame(
    df,
    tokenize: Tokenizer,
    vocab: Vocab,
    max_length: int | None = None,
    text_column: str | Callable = "text",
    label_column: str = "label",
) -> EncodedDataset:
    """A data frame as an :class:`EncodedDataset`: its texts encoded (at most ``max_length`` ids),
    its labels kept. ``text_column`` is a column name or a function ``df -> texts``."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"encode_frame takes a pandas DataFrame, got {type(df).__name__}")
    if callable(text_column):
        texts = text_column(df)
    elif isinstance(text_column, str):
        texts = df[_column(df, text_column, "text_column")]
    else:
        raise TypeError(f"text_column must be a column name or a function df -> texts, got {type(text_column).__name__}")
    labels = df[_column(df, label_column, "label_column")].tolist()
    return EncodedDataset(encode_texts(texts, tokenize, vocab, max_length), labels)


def _column(df, name: object, argument: str) -> str:
    """``name`` if ``df`` has such a column, else a clear error naming ``argument`` and the columns."""
    if not isinstance(name, str):
        raise TypeError(f"{argument} must be a column name (str), got {type(name).__name__}")
    if name not in df.columns:
        raise ValueError(f"{argument}: the frame has no column {name!r}; its columns: {', '.join(map(str, df.columns))}")
    return name


def _check_id_tensor(x: object, what: str) -> None:
    """One text's ids: a non-empty 1-D integer tensor."""
    if not isinstance(x, torch.Tensor) or x.dim() != 1 or x.dtype == torch.bool or x.is_floating_point() \
            or x.is_complex():
        shown = f"{tuple(x.shape)} {x.dtype} tensor" if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"{what} must be a 1-D integer tensor of token ids (text.encode_texts gives them), got {shown}")
    if len(x) == 0:
        raise ValueError(f"{what} has no tokens; every text needs at least one")


def _label_tensor(labels: list, what: str) -> torch.Tensor:
    """Labels as a LongTensor of class indices 0, 1, ...; NaN, fractions, bools and text are refused."""
    odd = [y for y in labels if isinstance(y, (bool, np.bool_)) or not isinstance(y, numbers.Integral)]
    odd = [y for y in odd if not (isinstance(y, torch.Tensor) and y.dim() == 0 and y.dtype in _INT_DTYPES)]
    if odd:
        raise TypeError(f"{what}: labels must be integer class indices 0, 1, ..., got {type(odd[0]).__name__}: {odd[0]!r:.40}")
    tensor = torch.as_tensor([int(y) for y in labels], dtype=torch.long)
    if len(tensor) and tensor.min() < 0:
        raise ValueError(f"{what}: labels must be class indices 0, 1, ..., got {int(tensor.min())}")
    return tensor


_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def collate(batch: Sequence[tuple[torch.Tensor, torch.Tensor]], pad_index: int = 0, length: int | None = None):
    """Pad a list of (ids, label) to one tensor: returns ids (batch, steps), lengths (batch,), labels.

    With ``length`` every batch is padded (or cut) to exactly that many steps, as models with a
    fixed input width (feedforward on a flattened sequence) need.
    """
    length = check_int(length, "length", 1, allow_none=True)
    pad_index = check_int(pad_index, "pad_index", 0)
    batch = list(batch)
    if not batch:
        raise ValueError("collate got an empty batch")
    if not all(isinstance(item, (tuple, list)) and len(item) == 2 for item in batch):
        raise TypeError("collate takes a list of (ids, label) pairs")
    ids, labels = zip(*batch)
    for number, x in enumerate(ids):
        _check_id_tensor(x, f"collate: item {number}'s ids")
    labels = [y if isinstance(y, torch.Tensor) else torch.as_tensor(y) for y in labels]
    kinds = {(y.dtype, tuple(y.shape)) for y in labels}
    if len(kinds) > 1 or next(iter(kinds))[0] not in _INT_DTYPES:
        shown = ", ".join(sorted(f"{dtype} {list(shape)}" for dtype, shape in kinds))
        raise TypeError(f"collate: labels must all be integer tensors of one shape (class indices), got {shown}")
    lengths = torch.tensor([min(len(x), length or len(x)) for x in ids])
    steps = length or int(lengths.max())
    padded = torch.full((len(ids), steps), pad_index, dtype=torch.long)
    for row, (x, n) in enumerate(zip(ids, lengths)):
        padded[row, :n] = x[:n]
    return padded, lengths, torch.stack(labels)


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar length (less padding), in a shuffled order.

    Indices are shuffled, cut into pools of ``batch_size * pool_batches``, sorted by length within
    each pool and cut into batches; the batches are then shuffled. A new shuffle every epoch.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, pool_batches: int = 50, seed: int = 0):
        batch_size = check_int(batch_size, "batch_size", 1)
        pool_batches = check_int(pool_batches, "pool_batches", 1)
        seed = check_int(seed, "seed")
        self.lengths, self.batch_size, self.pool = list(lengths), batch_size, batch_size * pool_batches
        self.rng = random.Random(seed)

    def __iter__(self) -> Iterator[list[int]]:
        order = list(range(len(self.lengths)))
        self.rng.shuffle(order)
        batches = []
        for start in range(0, len(order), self.pool):
            pool = sorted(order[start : start + self.pool], key=self.lengths.__getitem__)
            batches += [pool[i : i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
        self.rng.shuffle(batches)
        return iter(batches)

    def __len__(self) -> int:
        pools, rest = divmod(len(self.lengths), self.pool)
        return pools * -(-self.pool // self.batch_size) + -(-rest // self.batch_size)


def data_loader(
    dataset: EncodedDataset,
    batch_size: int,
    shuffle: bool = False,
    bucket: bool = False,
    length: int | None = None,
    seed: int = 0,
) -> DataLoader:
    """A DataLoader of (ids, lengths, labels) batches; ``bucket=True`` groups similar lengths."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"data_loader takes an EncodedDataset, got {type(dataset).__name__}")
    batch_size, seed = check_int(batch_size, "batch_size", 1), check_int(seed, "seed")
    length = check_int(length, "length", 1, allow_none=True)
    for name, flag in [("shuffle", shuffle), ("bucket", bucket)]:
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {flag!r:.40}")
    pad = lambda batch: collate(batch, length=length)  # noqa: E731
    if bucket:
        if not callable(getattr(dataset, "lengths", None)):
            raise TypeError(
                f"bucket=True needs a dataset with a lengths() method (text.EncodedDataset has one), got "
                f"{type(dataset).__name__}; use bucket=False for other datasets"
            )
        lengths = dataset.lengths()
        if len(lengths) != len(dataset):
            raise ValueError(f"dataset.lengths() gives {len(lengths)} lengths for {len(dataset)} examples")
        sampler = BucketBatchSampler(lengths, batch_size, seed=seed)
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=pad)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=pad, generator=generator)
