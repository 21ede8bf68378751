import urllib.error

import numpy as np
import pandas as pd
import pytest

from textclf import data, files, vectors
from textclf.files import DataUnavailableError


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown dataset 'imbd'.*imdb, ag_news, clothing_reviews, twitter_sentiment"):
        data.load("imbd", "train")


def test_bad_split_lists_the_splits():
    with pytest.raises(ValueError, match="no split 'valid'.*training, validation"):
        data.load("twitter_sentiment", "valid")


def test_label_names():
    assert data.label_names("ag_news") == ("World", "Sports", "Business", "Sci/Tech")
    assert len(data.label_names("clothing_reviews")) == 5


def test_imdb_official_split(real_data):
    for split in ("train", "test"):
        df = data.load("imdb", split)
        assert len(df) == 25_000
        assert df.label.value_counts().to_dict() == {0: 12_500, 1: 12_500}
        assert df.rating[df.label == 1].between(7, 10).all() and df.rating[df.label == 0].between(1, 4).all()
        assert df.text.str.len().min() > 0


def test_imdb_rating_counts_match_the_manifest(real_data):
    counts = data.load("imdb", "train").rating.value_counts().sort_index().tolist()
    assert counts == [5100, 2284, 2420, 2696, 2496, 3009, 2263, 4732]


def test_ag_news_test(real_data):
    df = data.load("ag_news", "test")
    assert len(df) == 7_600
    assert df.label.value_counts().sort_index().tolist() == [1_900] * 4
    assert df.text[0] == df.title[0] + " " + df.description[0]


def test_ag_news_train_offline_says_so_plainly(real_data, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(files.urllib.request, "urlopen", offline)
    with pytest.raises(DataUnavailableError, match="NOT part of this book's offline data mirror"):
        data.load("ag_news", "train")


def test_clothing_reviews(real_data):
    df = data.load("clothing_reviews", "all")
    assert len(df) == 22_641 and df.attrs["dropped_empty_texts"] == 845
    assert sorted(df.label.unique()) == [0, 1, 2, 3, 4]
    assert (df.rating == df.label + 1).all()
    assert df.text.str.strip().str.len().min() > 0


def test_twitter_sentiment(real_data):
    training = data.load("twitter_sentiment", "training")
    assert len(training) + training.attrs["dropped_empty_texts"] == 74_682
    assert training.attrs["dropped_empty_texts"] == 858
    validation = data.load("twitter_sentiment", "validation")
    assert len(validation) == 1_000
    assert validation.sentiment.value_counts().to_dict() == {"Neutral": 285, "Positive": 277, "Negative": 266, "Irrelevant": 172}
    assert training.entity.nunique() == 32


def test_second_load_comes_from_the_parquet_cache(real_data, monkeypatch):
    first = data.load("ag_news", "test")
    broken = data.DatasetInfo(**{**data.DATASETS["ag_news"].__dict__, "reader": lambda path, split: pytest.fail("re-parsed")})
    monkeypatch.setitem(data.DATASETS, "ag_news", broken)
    pd.testing.assert_frame_equal(data.load("ag_news", "test"), first)


def test_quick_mode_is_a_small_stratified_deterministic_subset(real_data, monkeypatch):
    monkeypatch.setenv("TEXTCLF_QUICK", "1")
    quick = data.load("clothing_reviews", "all")
    assert len(quick) == pytest.approx(data.QUICK_ROWS, abs=5)
    full = data.load("clothing_reviews", "all", quick=False)
    assert np.allclose(quick.label.value_counts(normalize=True).sort_index(),
                       full.label.value_counts(normalize=True).sort_index(), atol=0.01)
    pd.testing.assert_frame_equal(quick, data.load("clothing_reviews", "all"))


def test_stratified_subset_keeps_small_frames_whole():
    df = pd.DataFrame({"text": list("abc"), "label": [0, 1, 0]})
    assert data.stratified_subset(df, 10) is df


def test_split_frame_is_stratified_and_complete():
    df = pd.DataFrame({"text": [str(i) for i in range(1000)], "label": [0] * 800 + [1] * 200})
    first, second = data.split_frame(df, 0.3, seed=0)
    assert (len(first), len(second)) == (700, 300)
    assert second.label.sum() == 60
    assert sorted(first.text.tolist() + second.text.tolist()) == sorted(df.text.tolist())
    with pytest.raises(ValueError, match=r"second_fraction must be a number in \(0, 1\), got 1.0"):
        data.split_frame(df, 1.0)


def test_glove_from_the_package():
    glove = vectors.glove_6b_50d()
    assert glove.vectors.shape == (400_000, 50) and glove.vectors.dtype == np.float32
    assert glove.words[0] == "the" and glove.words[-1] == "sandberger"


def test_glove_text_file_equals_the_package(mirror):
    text = vectors.load_glove_text(mirror / "glove" / "glove.6B.50d.txt.gz", max_words=2_000)
    package = vectors.glove_6b_50d()
    assert text.words == package.words[:2_000]
    assert np.array_equal(text.vectors, package.vectors[:2_000])


def test_glove_text_errors(tmp_path):
    with pytest.raises(files.DataError, match="no GloVe file"):
        vectors.load_glove_text(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("the 0.1 0.2\nof 0.3\n")
    with pytest.raises(files.DataError, match="line 2: 1 values, expected 2"):
        vectors.load_glove_text(bad)
