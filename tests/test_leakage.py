import numpy as np
import pandas as pd
import pytest

from textclf import leakage


def tweets() -> pd.DataFrame:
    """Ten ids, three variants each; id 7's variants repeat a text of id 1 verbatim."""
    rows = []
    for tweet_id in range(10):
        for variant in range(3):
            rows.append({"id": tweet_id, "text": f"tweet {tweet_id} variant {variant}", "label": tweet_id % 2})
    rows[7 * 3]["text"] = "tweet 1 variant 0"
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", range(5))
def test_grouped_split_keeps_every_group_on_one_side(seed):
    df = tweets()
    train, test = leakage.grouped_split(df, "id", 0.3, seed=seed, text_column=None)
    assert set(train.id).isdisjoint(test.id)
    assert set(train.id) | set(test.id) == set(df.id)
    assert test.id.nunique() == 3  # 30 % of the 10 groups
    assert len(train) + len(test) == len(df)
    assert list(train.index) == list(range(len(train)))


def test_grouped_split_is_deterministic_and_seed_dependent():
    df = tweets()
    first = leakage.grouped_split(df, "id", 0.3, seed=1)[1]
    assert first.equals(leakage.grouped_split(df, "id", 0.3, seed=1)[1])
    others = {tuple(sorted(leakage.grouped_split(df, "id", 0.3, seed=s)[1].id.unique())) for s in range(10)}
    assert len(others) > 1


def test_grouped_split_drops_test_texts_seen_verbatim_in_training():
    df = tweets()
    for seed in range(20):  # find a seed that puts id 7 in test and id 1 in training
        train, test = leakage.grouped_split(df, "id", 0.3, seed=seed)
        kept = leakage.grouped_split(df, "id", 0.3, seed=seed, text_column=None)[1]
        if 7 in set(kept.id) and 1 in set(train.id):
            break
    else:
        pytest.fail("no seed separated ids 1 and 7")
    assert "tweet 1 variant 0" not in set(test.text)
    assert test.attrs["dropped_verbatim"] == 1
    assert len(test) == len(kept) - 1
    assert not test.text.isin(set(train.text)).any()


def test_grouped_split_rejects_bad_input():
    df = tweets()
    with pytest.raises(ValueError, match="between 0 and 1"):
        leakage.grouped_split(df, "id", 1.0)
    with pytest.raises(ValueError, match="no column 'tweet_id'.*id, text, label"):
        leakage.grouped_split(df, "tweet_id", 0.2)
    with pytest.raises(ValueError, match="at least 2 groups"):
        leakage.grouped_split(df.assign(id=1), "id", 0.2)
    with pytest.raises(ValueError, match="missing values"):
        leakage.grouped_split(df.assign(id=np.nan), "id", 0.2)


def test_nearest_similarity_finds_copies_and_near_copies():
    references = ["I love this game so much", "the servers are down again, terrible", "what a match"]
    queries = ["I love this game so much", "I love this game so so much", "completely unrelated words here"]
    best = leakage.nearest_similarity(queries, references)
    assert best.shape == (3,)
    assert best[0] == pytest.approx(1.0)
    assert 0.6 < best[1] < 1.0
    assert best[2] < 0.3


def test_nearest_similarity_does_not_depend_on_the_chunk_size():
    references = [f"text number {i} about topic {i % 7}" for i in range(50)]
    queries = [f"number {i} about the topic {i % 5}" for i in range(23)]
    whole = leakage.nearest_similarity(queries, references, chunk_size=1000)
    np.testing.assert_allclose(leakage.nearest_similarity(queries, references, chunk_size=4), whole)


def test_nearest_similarity_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one query"):
        leakage.nearest_similarity([], ["a text"])
    with pytest.raises(TypeError, match="queries must be strings, found float"):
        leakage.nearest_similarity([float("nan")], ["a text"])
    with pytest.raises(ValueError, match="chunk_size"):
        leakage.nearest_similarity(["a"], ["a text"], chunk_size=0)
