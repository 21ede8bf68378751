"""Our tokenizer and vocabulary against torchtext's, on every AG News test text.

Runs only in the separate torch 2.3 + torchtext 0.18 environment that `make compat` builds
(torchtext does not work with the book's torch); the main test run does not collect this folder.
"""

import torchtext
from torchtext.data.utils import get_tokenizer
from torchtext.vocab import build_vocab_from_iterator

from textclf import data, results, text, training


def test_basic_english_and_vocab_equal_torchtext():
    training.setup(seed=0)
    texts = data.load("ag_news", "test", quick=False).text.tolist()
    theirs = get_tokenizer("basic_english")
    ours_tokens = [text.basic_english(t) for t in texts]
    their_tokens = [theirs(t) for t in texts]
    differing_texts = sum(a != b for a, b in zip(ours_tokens, their_tokens))

    checks = {}
    for min_freq, max_size in [(1, None), (3, None), (1, 5_000)]:
        ours = text.build_vocab(ours_tokens, min_freq=min_freq, max_size=max_size)
        vocab = build_vocab_from_iterator(
            their_tokens, min_freq=min_freq, specials=["<pad>", "<unk>"], special_first=True,
            max_tokens=None if max_size is None else max_size + 2,
        )
        vocab.set_default_index(vocab["<unk>"])
        same_order = ours.itos == vocab.get_itos()
        same_ids = all(ours.encode(tokens) == vocab(tokens) for tokens in ours_tokens)
        checks[(min_freq, max_size)] = (same_order and same_ids, len(ours), len(vocab))

    results.save("torchtext_compat", {
        "ag_news_test.texts": len(texts),
        "texts_with_different_tokens": differing_texts,
        "vocab_configs_checked": len(checks),
        "vocab_configs_equal": sum(equal for equal, _, _ in checks.values()),
        "vocab_size.min_freq_1": checks[(1, None)][1],
        "torchtext_vocab_size.min_freq_1": checks[(1, None)][2],
    })
    print(f"torchtext {torchtext.__version__}")
    assert differing_texts == 0
    assert all(equal for equal, _, _ in checks.values()), checks
