"""The shared TF-IDF + logistic regression baseline, against the code the chapters write by hand."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from textclf import baselines, text

TEXTS = ["good great fine film", "great fine day out", "bad awful poor plot", "awful poor night in",
         "a fine, good story", "poor acting, bad end", "great fun", "awful and bad"] * 4
LABELS = [1, 1, 0, 0, 1, 0, 1, 0] * 4
VALID = ["fine great story", "poor awful acting", "good fun day", "bad night"]
VALID_LABELS = [1, 0, 1, 0]


def _by_hand(vectorizer, Cs, max_iter=2000):
    """The chapters' loop (chapters 6, 7 and 9): fit the vectorizer once, one classifier per C,
    keep the first best on validation."""
    X_train, X_valid = vectorizer.fit_transform(TEXTS), vectorizer.transform(VALID)
    scores = {C: LogisticRegression(C=C, max_iter=max_iter).fit(X_train, LABELS).score(X_valid, VALID_LABELS)
              for C in Cs}
    best = max(scores, key=scores.get)
    return LogisticRegression(C=best, max_iter=max_iter).fit(X_train, LABELS), X_valid, scores


@pytest.mark.parametrize("options,vectorizer", [
    # chapter 6 (IMDb) and chapter 8: words and word pairs seen in two texts or more
    ({"min_df": 2}, TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
    # chapter 7 (AG News): the book's tokenizer, every token kept
    ({"min_df": 1, "tokenizer": text.tokenizer("basic_english"), "lowercase": False},
     TfidfVectorizer(tokenizer=text.tokenizer("basic_english"), lowercase=False, token_pattern=None,
                     ngram_range=(1, 2), sublinear_tf=True)),
    # chapter 9 (tweets): character 1- to 5-grams within words
    ({"features": "chars", "min_df": 2},
     TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), min_df=2, sublinear_tf=True)),
])
def test_tuned_baseline_equals_the_chapters_hand_written_loop(options, vectorizer):
    Cs = (0.5, 4.0, 16.0)
    classifier, X_valid, scores = _by_hand(vectorizer, Cs)
    model, got = baselines.tuned_tfidf_logistic(TEXTS, LABELS, VALID, VALID_LABELS, Cs=Cs, **options)
    assert got == scores
    fitted = model.named_steps["logisticregression"]
    assert fitted.C == classifier.C and np.array_equal(fitted.coef_, classifier.coef_)
    assert np.array_equal(model.predict_proba(VALID), classifier.predict_proba(X_valid))


def test_baseline_is_what_classifier_tuned_tfidf_baseline_gives():
    from textclf.classifier import tuned_tfidf_baseline

    labels = ["pos" if y else "neg" for y in LABELS]
    valid = ["pos" if y else "neg" for y in VALID_LABELS]
    old, old_scores = tuned_tfidf_baseline(TEXTS, labels, VALID, valid, Cs=(0.25, 1.0, 4.0))
    new, new_scores = baselines.tuned_tfidf_logistic(TEXTS, labels, VALID, valid, Cs=(0.25, 1.0, 4.0))
    assert new_scores == old_scores and list(new.named_steps) == list(old.named_steps)
    assert np.array_equal(new.predict_proba(VALID), old.predict_proba(VALID))
    single = baselines.tfidf_logistic(TEXTS, labels, C=4.0)
    assert single.named_steps["logisticregression"].C == 4.0 and single.score(TEXTS, labels) == 1.0


def test_verbose_prints_the_scores_and_the_choice(capsys):
    baselines.tuned_tfidf_logistic(TEXTS, LABELS, VALID, VALID_LABELS, Cs=(1.0, 4.0), verbose=True)
    line = capsys.readouterr().out.strip()
    assert line.endswith("chosen C=1") and "features; validation accuracy by C: 1: 100.00%, 4: 100.00%" in line


@pytest.mark.parametrize("call,error,message", [
    (lambda: baselines.tuned_tfidf_logistic(TEXTS, LABELS, VALID, VALID_LABELS, Cs=()), ValueError, "at least one"),
    (lambda: baselines.tuned_tfidf_logistic(TEXTS, LABELS, VALID, VALID_LABELS, Cs=(0,)), ValueError, "every C must be a finite number > 0"),
    (lambda: baselines.tfidf_logistic("one text", [1]), TypeError, "train_texts must be a list"),
    (lambda: baselines.tfidf_logistic([1, 2], [1, 0]), TypeError, "hold str texts"),
    (lambda: baselines.tfidf_logistic(TEXTS, LABELS[:-1]), ValueError, "one length"),
    (lambda: baselines.tuned_tfidf_logistic(TEXTS, LABELS, VALID, [1]), ValueError, "valid_texts and valid_labels"),
    (lambda: baselines.tfidf_vectorizer("bytes"), ValueError, "features must be one of"),
    (lambda: baselines.tfidf_vectorizer(min_df=0), ValueError, "min_df"),
    (lambda: baselines.tfidf_vectorizer(ngram_range=(2, 1)), ValueError, "ngram_range"),
    (lambda: baselines.tfidf_vectorizer("chars", tokenizer=str.split), ValueError, "features='words'"),
    (lambda: baselines.tfidf_vectorizer(tokenizer="spacy"), TypeError, "tokenizer must be a function"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
