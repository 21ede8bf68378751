"""From text to tensors: tokenizers, a vocabulary, padding, a collate function and a bucketing sampler."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

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


TOKENIZERS: dict[str, Tokenizer] = {"basic_english": basic_english, "spacy": spacy_english, "chars": characters}


def tokenizer(name: str) -> Tokenizer:
    """Look a tokenizer up by name: ``basic_english``, ``spacy`` or ``chars``."""
    if name not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {name!r}; choose one of: {', '.join(TOKENIZERS)}")
    return TOKENIZERS[name]


class Vocab:
    """A token <-> index mapping with ``<pad>`` = 0 and ``<unk>`` = 1; unknown tokens map to ``<unk>``."""

    def __init__(self, tokens: Sequence[str]):
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
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.default_index)

    def __repr__(self) -> str:
        return f"Vocab({len(self):,} tokens: {self.itos[:6]}...)"

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Token list -> index list; tokens outside the vocabulary become ``<unk>``."""
        return [self.stoi.get(token, self.default_index) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Index list -> token list."""
        return [self.itos[int(i)] for i in ids]

    def save(self, path: str | Path) -> None:
        """Write the tokens, in index order, as JSON."""
        Path(path).write_text(json.dumps(self.itos, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))


def build_vocab(token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None) -> Vocab:
    """Count tokens and keep the most frequent ones (ties broken alphabetically, as torchtext does).

    ``max_size`` counts the kept tokens without the two specials, so ``max_size=25_000`` gives a
    vocabulary of 25,002 entries.
    """
    if min_freq < 1:
        raise ValueError(f"min_freq must be at least 1, got {min_freq}")
    if max_size is not None and max_size < 0:
        raise ValueError(f"max_size must be None or >= 0, got {max_size}")
    counts = Counter(token for tokens in token_lists for token in tokens)
    counts.pop(PAD, None), counts.pop(UNK, None)
    ranked = [t for t, c in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if c >= min_freq]
    return Vocab([PAD, UNK, *ranked[:max_size]])


def pad_or_truncate(ids: Sequence[int], length: int, pad_index: int = 0) -> list[int]:
    """Cut ``ids`` to ``length`` or fill it up with ``pad_index`` at the end."""
    if length < 1:
        raise ValueError(f"length must be at least 1, got {length}")
    return list(ids[:length]) + [pad_index] * max(0, length - len(ids))


def encode_texts(
    texts: Iterable[str], tokenize: Tokenizer, vocab: Vocab, max_length: int | None = None
) -> list[torch.Tensor]:
    """Tokenize and index every text; each becomes a 1-D LongTensor of at most ``max_length`` ids."""
    return [torch.tensor(vocab.encode(tokenize(text)[:max_length]), dtype=torch.long) for text in texts]


class EncodedDataset(Dataset):
    """Pairs of (token ids, label) kept in memory."""

    def __init__(self, ids: Sequence[torch.Tensor], labels: Sequence):
        if len(ids) != len(labels):
            raise ValueError(f"{len(ids)} encoded texts but {len(labels)} labels")
        if any(len(x) == 0 for x in ids):
            raise ValueError("an encoded text has no tokens; every text needs at least one")
        self.ids, self.labels = list(ids), torch.as_tensor(list(labels))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.ids[i], self.labels[i]

    def lengths(self) -> list[int]:
        return [len(x) for x in self.ids]


def collate(batch: Sequence[tuple[torch.Tensor, torch.Tensor]], pad_index: int = 0, length: int | None = None):
    """Pad a list of (ids, label) to one tensor: returns ids (batch, steps), lengths (batch,), labels.

    With ``length`` every batch is padded (or cut) to exactly that many steps, as models with a
    fixed input width (feedforward on a flattened sequence) need.
    """
    ids, labels = zip(*batch)
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
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
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
    pad = lambda batch: collate(batch, length=length)  # noqa: E731
    if bucket:
        sampler = BucketBatchSampler(dataset.lengths(), batch_size, seed=seed)
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=pad)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=pad, generator=generator)
