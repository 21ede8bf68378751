"""The book's datasets: ``load(name, split)`` returns a DataFrame with ``text`` and ``label`` columns.

Raw files come through :mod:`textclf.files` (cache, mirror, download; always checksummed); the
parsed table is cached as parquet so that the second load takes a moment. The parquet file
records the raw file's checksum and the parser version and carries page checksums; it is checked
on every read (columns, kinds, known row count) and rebuilt when anything is off. In quick mode
(``TEXTCLF_QUICK=1``) a small stratified, deterministic subset is returned instead.
"""

from __future__ import annotations

import re
import tarfile
import warnings
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import settings
from .checks import DataError, check_int, check_real
from .files import CacheWriteError, RemoteFile, atomic_write, cache_write_error, glob_escape, locate

#: Rows per split in quick mode (fewer when a split is smaller).
QUICK_ROWS = 1000
#: Bump when a parser changes, so that stale parquet caches are not reused.
PARSER_VERSION = 2

_KAGGLE = "It is a Kaggle dataset (free account needed): download it from {} and unzip it."

IMDB_FILES = [
    RemoteFile(
        "imdb/aclImdb_v1.tar.gz",
        checksum="md5:7c2ac02c03563afcf9b574c7e56c153a",
        size=84_125_825,  # the Content-Length ai.stanford.edu serves, as download logs show
        url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
    ),
    # The offline mirror holds a repack of the labelled reviews (members byte-identical to the original).
    RemoteFile(
        "imdb/aclImdb_v1_labeled.tar.gz",
        checksum="sha256:fc132c2a23a4d23eec474b518907765dbc9c59e648c1e57ac8010670238ed697",
        size=28_630_965,
    ),
]
_AG_NEWS_URL = "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/{}.csv"
AG_NEWS_FILES = {
    "train": RemoteFile(
        "ag_news_csv/train.csv",
        checksum="md5:b1a00f826fdfbd249f79597b59e1dc12",  # torchtext's; 120,000 lines
        size=29_470_338,  # as recorded beside test.csv's 1,857,427 by a torchtext user's cache listing
        url=_AG_NEWS_URL.format("train"),
        how_to_get=(
            "The AG News training file (120,000 rows) is NOT part of this book's offline data mirror: "
            "only the 7,600-row test file is. It downloads by itself when you are online."
        ),
    ),
    "test": RemoteFile(
        "ag_news_csv/test.csv",
        checksum="sha256:521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
        size=1_857_427,
        url=_AG_NEWS_URL.format("test"),
    ),
}
CLOTHING_FILE = RemoteFile(
    "womens_clothing_reviews/Womens Clothing E-Commerce Reviews.csv",
    checksum="sha256:bd93cc515747ad1f87b8bc863c9e40da758509e6db6506a96d06976e61e36ee0",
    size=8_483_448,
    how_to_get=_KAGGLE.format("https://www.kaggle.com/datasets/nicapotato/womens-ecommerce-clothing-reviews"),
)
_TWITTER_PAGE = "https://www.kaggle.com/datasets/jp797498e/twitter-entity-sentiment-analysis"
TWITTER_FILES = {
    "training": RemoteFile(
        "twitter_entity_sentiment/twitter_training.csv",
        checksum="sha256:68ebaee4f44bda5de49b96b5e5630184f1af894970b994aa6bb0aa5e1dbfe9a0",
        size=10_325_088,
        how_to_get=_KAGGLE.format(_TWITTER_PAGE),
    ),
    "validation": RemoteFile(
        "twitter_entity_sentiment/twitter_validation.csv",
        checksum="sha256:f06b0791cca4c977bdf5093678a704ba97fcb7fc592c963c45424346f80136f1",
        size=164_351,
        how_to_get=_KAGGLE.format(_TWITTER_PAGE),
    ),
}


def _read_imdb(path: Path, split: str) -> pd.DataFrame:
    """Read one split straight from the tarball's members (never extracted to disk)."""
    member = re.compile(rf"aclImdb/{split}/(pos|neg)/(\d+)_(\d+)\.txt$")
    rows = []
    with tarfile.open(path, "r:gz") as archive:
        for info in archive:
            match = member.match(info.name)
            if match:
                review = archive.extractfile(info).read().decode("utf-8")
                sentiment, review_id, rating = match.groups()
                rows.append((review, int(sentiment == "pos"), int(rating), int(review_id)))
    df = pd.DataFrame(rows, columns=["text", "label", "rating", "id"])
    return df.sort_values(["label", "id"], ignore_index=True)


def _read_ag_news(path: Path, split: str) -> pd.DataFrame:
    """Title and description joined by a space (as torchtext did); classes 1-4 become labels 0-3."""
    df = pd.read_csv(path, header=None, names=["label", "title", "description"])
    df["text"] = df["title"] + " " + df["description"]
    df["label"] = df["label"] - 1
    return df[["text", "label", "title", "description"]]


def _read_clothing(path: Path, split: str) -> pd.DataFrame:
    """Review Text becomes ``text``, Rating 1-5 becomes ``label`` 0-4 (``rating`` keeps the stars)."""
    raw = pd.read_csv(path, index_col=0)
    df = pd.DataFrame(
        {
            "text": raw["Review Text"],
            "label": raw["Rating"] - 1,
            "rating": raw["Rating"],
            "title": raw["Title"],
            "recommended": raw["Recommended IND"],
            "department": raw["Department Name"],
            "clothing_id": raw["Clothing ID"],
        }
    )
    return _drop_empty_texts(df, "clothing_reviews")


TWITTER_LABELS = ("Negative", "Neutral", "Positive", "Irrelevant")


def _read_twitter(path: Path, split: str) -> pd.DataFrame:
    """Tweets about 32 entities, 4 labels; each tweet id recurs as augmented variants."""
    df = pd.read_csv(path, header=None, names=["id", "entity", "sentiment", "text"])
    df["label"] = df["sentiment"].map({name: i for i, name in enumerate(TWITTER_LABELS)})
    if df["label"].isna().any():
        raise DataError(f"twitter_sentiment {split}: unknown sentiment values {set(df.sentiment) - set(TWITTER_LABELS)}")
    df["label"] = df["label"].astype(int)
    return _drop_empty_texts(df[["text", "label", "sentiment", "entity", "id"]], "twitter_sentiment")


def _drop_empty_texts(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Rows without text cannot be classified; drop them and record how many in ``attrs``."""
    empty = df["text"].isna() | (df["text"].astype(str).str.strip() == "")
    kept = df[~empty].reset_index(drop=True)
    kept.attrs["dropped_empty_texts"] = int(empty.sum())
    return kept


_STR, _INT = "str", "int"


@dataclass(frozen=True)
class DatasetInfo:
    """What the book knows about a dataset: splits, label names, parser, source and terms.

    ``files`` lists, per split, the raw files it can be parsed from (the first one found is
    used), ``rows`` the number of rows each split has once parsed, and ``columns`` the parsed
    table's columns with their kind (``"str"`` or ``"int"``): a parsed table that differs is
    never returned.
    """

    name: str
    splits: tuple[str, ...]
    label_names: tuple[str, ...]
    reader: Callable[[Path, str], pd.DataFrame]
    citation: str
    terms: str
    files: Mapping[str, tuple[RemoteFile, ...]]
    rows: Mapping[str, int]
    columns: Mapping[str, str]


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            "imdb", ("train", "test"), ("negative", "positive"), _read_imdb,
            "Maas et al., Learning Word Vectors for Sentiment Analysis, ACL 2011",
            "No license stated; the authors ask users to cite the paper. Research use.",
            files={"train": tuple(IMDB_FILES), "test": tuple(IMDB_FILES)},
            rows={"train": 25_000, "test": 25_000},
            columns={"text": _STR, "label": _INT, "rating": _INT, "id": _INT},
        ),
        DatasetInfo(
            "ag_news", ("train", "test"), ("World", "Sports", "Business", "Sci/Tech"), _read_ag_news,
            "Zhang, Zhao & LeCun, Character-level Convolutional Networks for Text Classification, NIPS 2015",
            "Research and other non-commercial use (its readme); no license named.",
            files={split: (remote,) for split, remote in AG_NEWS_FILES.items()},
            rows={"train": 120_000, "test": 7_600},
            columns={"text": _STR, "label": _INT, "title": _STR, "description": _STR},
        ),
        DatasetInfo(
            "clothing_reviews", ("all",), ("1 star", "2 stars", "3 stars", "4 stars", "5 stars"), _read_clothing,
            "nicapotato, Women's E-Commerce Clothing Reviews, Kaggle 2018",
            "CC0: Public Domain.",
            files={"all": (CLOTHING_FILE,)},
            rows={"all": 22_641},  # 23,486 reviews, 845 of them without text
            columns={"text": _STR, "label": _INT, "rating": _INT, "title": _STR, "recommended": _INT,
                     "department": _STR, "clothing_id": _INT},
        ),
        DatasetInfo(
            "twitter_sentiment", ("training", "validation"), TWITTER_LABELS, _read_twitter,
            "jp797498e, Twitter Entity Sentiment Analysis, Kaggle 2021",
            "CC0: Public Domain.",
            files={split: (remote,) for split, remote in TWITTER_FILES.items()},
            rows={"training": 73_824, "validation": 1_000},  # training: 74,682 tweets, 858 without text
            columns={"text": _STR, "label": _INT, "sentiment": _STR, "entity": _STR, "id": _INT},
        ),
    ]
}


def _check_name(name: object, what: str = "dataset") -> str:
    if not isinstance(name, str):
        raise TypeError(f"the {what} name must be a str, got {type(name).__name__}: {name!r:.60}")
    return name


def info(name: str) -> DatasetInfo:
    """The registry entry for ``name``; a clear error lists the known names."""
    if _check_name(name) not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return DATASETS[name]


def label_names(name: str) -> tuple[str, ...]:
    """Human-readable names of the labels 0, 1, ... of dataset ``name``."""
    return info(name).label_names


def load(name: str, split: str, quick: bool | None = None) -> pd.DataFrame:
    """Load one split of a dataset as a DataFrame with at least ``text`` (str) and ``label`` (int).

    ``quick`` defaults to the ``TEXTCLF_QUICK`` setting; quick mode returns a stratified,
    deterministic subset of at most :data:`QUICK_ROWS` rows. The parsed table is cached; a cached
    table is used only if it was parsed, by this parser version, from the registered raw file and
    has the known columns and row count; otherwise it is rebuilt from the (checksummed) raw file.
    """
    dataset = info(name)
    if _check_name(split, "split") not in dataset.splits:
        raise ValueError(f"dataset {name!r} has no split {split!r}; its splits are: {', '.join(dataset.splits)}")
    if quick is not None and not isinstance(quick, (bool, np.bool_)):
        raise TypeError(f"quick must be True, False or None (the TEXTCLF_QUICK setting), got {quick!r}")
    cache = settings.data_dir() / "parsed" / f"{name}-{split}-v{PARSER_VERSION}.parquet"
    df, problem = _read_parsed(cache, dataset, split) if cache.is_file() else (None, None)
    if df is None:
        try:
            df = _parse(dataset, split)
        except DataError as err:
            if problem is None:
                raise
            raise type(err)(f"{err} (The parsed cache {cache} was not used either: {problem}.)") from err
        try:
            with atomic_write(cache) as tmp:
                try:
                    df.to_parquet(tmp, index=False, write_page_checksum=True)
                except OSError as err:
                    raise cache_write_error(cache, err) from err
        except CacheWriteError as err:
            warnings.warn(f"the parsed table is not cached, so the next load parses again: {err}", stacklevel=2)
        else:
            _remove_other_versions(cache, f"{name}-{split}-v")
        if problem is not None:
            warnings.warn(f"the parsed cache {cache} was not used ({problem}); it was rebuilt", stacklevel=2)
    df.attrs["dataset"], df.attrs["split"] = name, split
    df.attrs["label_names"] = list(dataset.label_names)
    if settings.quick_mode() if quick is None else quick:
        df = stratified_subset(df, QUICK_ROWS)
    return df


def _remove_other_versions(cache: Path, prefix: str) -> None:
    """Delete parsed tables of other parser versions: they are never read again."""
    for old in cache.parent.glob(f"{glob_escape(prefix)}*.parquet"):
        if old != cache and old.name[len(prefix):-len(".parquet")].isdigit():
            old.unlink(missing_ok=True)


def _parse(dataset: DatasetInfo, split: str) -> pd.DataFrame:
    """Parse ``split`` from its checksummed raw file and check the table before it is cached."""
    path, remote = locate(list(dataset.files[split]))
    try:
        df = dataset.reader(path, split)
    except DataError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, UnicodeDecodeError, OSError, ValueError, KeyError) as err:
        raise DataError(f"cannot parse {path} as {dataset.name} {split} ({type(err).__name__}: {err})") from err
    df.attrs["source"] = {"dataset": dataset.name, "split": split, "file": remote.path,
                          "checksum": remote.checksum, "parser_version": PARSER_VERSION}
    problem = _table_problem(df, dataset, split)
    if problem is not None:
        raise DataError(f"{dataset.name} {split} parsed from {path}: {problem}; the parser does not fit this file")
    return df


def _read_parsed(cache: Path, dataset: DatasetInfo, split: str) -> tuple[pd.DataFrame | None, str | None]:
    """The cached table if it is intact and current, else ``(None, what is wrong with it)``."""
    try:
        df = pd.read_parquet(cache, page_checksum_verification=True)
    except (OSError, ValueError, TypeError, KeyError, pa.ArrowException) as err:
        return None, f"it cannot be read ({type(err).__name__}: {err})"
    source = df.attrs.get("source")
    registered = {remote.checksum for remote in dataset.files[split]}
    if not isinstance(source, dict) or source.get("parser_version") != PARSER_VERSION:
        return None, f"it was not written by parser version {PARSER_VERSION}"
    if (source.get("dataset"), source.get("split")) != (dataset.name, split):
        return None, f"it holds {source.get('dataset')} {source.get('split')}, not {dataset.name} {split}"
    if source.get("checksum") not in registered:
        return None, f"it was parsed from a raw file with checksum {source.get('checksum')}, not a registered one"
    problem = _table_problem(df, dataset, split)
    return (None, problem) if problem else (df, None)


def _table_problem(df: pd.DataFrame, dataset: DatasetInfo, split: str) -> str | None:
    """What is wrong with a parsed table (columns, kinds, labels, texts, rows), or None."""
    if list(df.columns) != list(dataset.columns):
        return f"columns {list(df.columns)}, expected {list(dataset.columns)}"
    for column, kind in dataset.columns.items():
        dtype = df[column].dtype
        ok = (pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)) if kind == _INT \
            else pd.api.types.is_string_dtype(dtype)
        if not ok:
            return f"column {column!r} has dtype {dtype}, expected {kind}"
    expected = dataset.rows.get(split)
    if expected is not None and len(df) != expected:
        return f"{len(df):,} rows, expected {expected:,}"
    if len(df) == 0:
        return "no rows"
    if df["text"].isna().any() or df["text"].str.len().min() == 0:
        return "some texts are missing or empty"
    if df["label"].min() < 0 or df["label"].max() >= len(dataset.label_names):
        return f"labels outside 0..{len(dataset.label_names) - 1}"
    return None


def stratified_subset(df: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """At most ``rows`` rows with the label proportions of ``df``, in their original order."""
    _check_frame(df, "stratified_subset")
    rows, seed = check_int(rows, "rows", 1), check_int(seed, "seed", 0)
    if len(df) <= rows:
        return df
    fraction = rows / len(df)
    picked = df.groupby("label", group_keys=False).sample(frac=fraction, random_state=seed)
    excess = len(picked) - rows
    if excess > 0:  # each class's share is rounded; drop one row of the most rounded-up classes
        share = df["label"].value_counts() * fraction
        rounded_up = (picked["label"].value_counts() - share).sort_values(ascending=False, kind="stable")
        drop = [picked.index[picked["label"] == label][-1] for label in rounded_up.index[:excess]]
        picked = picked.drop(index=drop)
    return df.loc[picked.index.sort_values()].reset_index(drop=True)


def split_frame(df: pd.DataFrame, second_fraction: float, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``df`` in two, stratified by label, e.g. into train and validation parts."""
    _check_frame(df, "split_frame")
    check_real(second_fraction, "second_fraction", 0, 1, low_open=True, high_open=True)
    seed = check_int(seed, "seed", 0)
    df = df.reset_index(drop=True)  # rows are told apart by position, even if the index repeats
    second = df.groupby("label", group_keys=False).sample(frac=second_fraction, random_state=seed)
    first = df.drop(index=second.index)
    if len(first) == 0 or len(second) == 0:
        raise ValueError(
            f"splitting {len(df)} rows with second_fraction={second_fraction} leaves a part empty; "
            f"use more rows or a fraction further from 0 and 1"
        )
    return first.reset_index(drop=True), second.sort_index().reset_index(drop=True)


def _check_frame(df: object, caller: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{caller} takes a pandas DataFrame, got {type(df).__name__}")
    if "label" not in df.columns:
        raise ValueError(f"{caller} needs a 'label' column; the columns are {list(df.columns)}")
    if df["label"].isna().any():
        raise ValueError(f"{caller}: {int(df['label'].isna().sum())} rows have no label; drop or fix them first")

