"""The book's datasets: ``load(name, split)`` returns a DataFrame with ``text`` and ``label`` columns.

Raw files come through :mod:`textclf.files` (cache, mirror, download; always checksummed); the
parsed table is cached as parquet so that the second load takes a moment. In quick mode
(``TEXTCLF_QUICK=1``) a small stratified, deterministic subset is returned instead.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from . import settings
from .files import DataError, RemoteFile, atomic_write, fetch, fetch_first

#: Rows per split in quick mode (fewer when a split is smaller).
QUICK_ROWS = 1000
#: Bump when a parser changes, so that stale parquet caches are not reused.
PARSER_VERSION = 1

_KAGGLE = "It is a Kaggle dataset (free account needed): download it from {} and unzip it."

IMDB_FILES = [
    RemoteFile(
        "imdb/aclImdb_v1.tar.gz",
        checksum="md5:7c2ac02c03563afcf9b574c7e56c153a",
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
        checksum="md5:b1a00f826fdfbd249f79597b59e1dc12",
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


def _read_imdb(split: str) -> pd.DataFrame:
    """Read one split straight from the tarball's members (never extracted to disk)."""
    member = re.compile(rf"aclImdb/{split}/(pos|neg)/(\d+)_(\d+)\.txt$")
    rows = []
    with tarfile.open(fetch_first(IMDB_FILES), "r:gz") as archive:
        for info in archive:
            match = member.match(info.name)
            if match:
                review = archive.extractfile(info).read().decode("utf-8")
                sentiment, review_id, rating = match.groups()
                rows.append((review, int(sentiment == "pos"), int(rating), int(review_id)))
    df = pd.DataFrame(rows, columns=["text", "label", "rating", "id"])
    return df.sort_values(["label", "id"], ignore_index=True)


def _read_ag_news(split: str) -> pd.DataFrame:
    """Title and description joined by a space (as torchtext did); classes 1-4 become labels 0-3."""
    df = pd.read_csv(fetch(AG_NEWS_FILES[split]), header=None, names=["label", "title", "description"])
    df["text"] = df["title"] + " " + df["description"]
    df["label"] = df["label"] - 1
    return df[["text", "label", "title", "description"]]


def _read_clothing(split: str) -> pd.DataFrame:
    """Review Text becomes ``text``, Rating 1-5 becomes ``label`` 0-4 (``rating`` keeps the stars)."""
    raw = pd.read_csv(fetch(CLOTHING_FILE), index_col=0)
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


def _read_twitter(split: str) -> pd.DataFrame:
    """Tweets about 32 entities, 4 labels; each tweet id recurs as augmented variants."""
    df = pd.read_csv(fetch(TWITTER_FILES[split]), header=None, names=["id", "entity", "sentiment", "text"])
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


@dataclass(frozen=True)
class DatasetInfo:
    """What the book knows about a dataset: splits, label names, parser, source and terms."""

    name: str
    splits: tuple[str, ...]
    label_names: tuple[str, ...]
    reader: Callable[[str], pd.DataFrame]
    citation: str
    terms: str


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            "imdb", ("train", "test"), ("negative", "positive"), _read_imdb,
            "Maas et al., Learning Word Vectors for Sentiment Analysis, ACL 2011",
            "No license stated; the authors ask users to cite the paper. Research use.",
        ),
        DatasetInfo(
            "ag_news", ("train", "test"), ("World", "Sports", "Business", "Sci/Tech"), _read_ag_news,
            "Zhang, Zhao & LeCun, Character-level Convolutional Networks for Text Classification, NIPS 2015",
            "Research and other non-commercial use (its readme); no license named.",
        ),
        DatasetInfo(
            "clothing_reviews", ("all",), ("1 star", "2 stars", "3 stars", "4 stars", "5 stars"), _read_clothing,
            "nicapotato, Women's E-Commerce Clothing Reviews, Kaggle 2018",
            "CC0: Public Domain.",
        ),
        DatasetInfo(
            "twitter_sentiment", ("training", "validation"), TWITTER_LABELS, _read_twitter,
            "jp797498e, Twitter Entity Sentiment Analysis, Kaggle 2021",
            "CC0: Public Domain.",
        ),
    ]
}


def info(name: str) -> DatasetInfo:
    """The registry entry for ``name``; a clear error lists the known names."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return DATASETS[name]


def label_names(name: str) -> tuple[str, ...]:
    """Human-readable names of the labels 0, 1, ... of dataset ``name``."""
    return info(name).label_names


def load(name: str, split: str, quick: bool | None = None) -> pd.DataFrame:
    """Load one split of a dataset as a DataFrame with at least ``text`` (str) and ``label`` (int).

    ``quick`` defaults to the ``TEXTCLF_QUICK`` setting; quick mode returns a stratified,
    deterministic subset of at most :data:`QUICK_ROWS` rows.
    """
    dataset = info(name)
    if split not in dataset.splits:
        raise ValueError(f"dataset {name!r} has no split {split!r}; its splits are: {', '.join(dataset.splits)}")
    cache = settings.data_dir() / "parsed" / f"{name}-{split}-v{PARSER_VERSION}.parquet"
    if cache.exists():
        df = pd.read_parquet(cache)
    else:
        df = dataset.reader(split)
        with atomic_write(cache) as tmp:
            df.to_parquet(tmp, index=False)
    df.attrs["dataset"], df.attrs["split"] = name, split
    df.attrs["label_names"] = list(dataset.label_names)
    if settings.quick_mode() if quick is None else quick:
        df = stratified_subset(df, QUICK_ROWS)
    return df


def stratified_subset(df: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """At most ``rows`` rows with the label proportions of ``df``, in their original order."""
    if len(df) <= rows:
        return df
    fraction = rows / len(df)
    picked = df.groupby("label", group_keys=False).sample(frac=fraction, random_state=seed)
    return df.loc[picked.index.sort_values()].reset_index(drop=True)


def split_frame(df: pd.DataFrame, second_fraction: float, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``df`` in two, stratified by label, e.g. into train and validation parts."""
    if not 0.0 < second_fraction < 1.0:
        raise ValueError(f"second_fraction must be between 0 and 1 (exclusive), got {second_fraction}")
    second = df.groupby("label", group_keys=False).sample(frac=second_fraction, random_state=seed)
    first = df.drop(index=second.index)
    return first.reset_index(drop=True), second.sort_index().reset_index(drop=True)
