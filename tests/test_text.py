import pandas as pd
import pytest
import torch

from textclf import text


def test_basic_english_matches_torchtext_rules():
    assert text.basic_english("Hello, World! It's <br />a (test): yes; \"quoted\".") == [
        "hello", ",", "world", "!", "it", "'", "s", "a", "(", "test", ")", "yes", "quoted", "."]


def test_spacy_keeps_case_and_splits_contractions():
    assert text.spacy_english("Don't  stop now!") == ["Do", "n't", "stop", "now", "!"]


def test_characters_keep_spaces_and_emoji():
    assert text.characters("hi 😀") == ["h", "i", " ", "😀"]


@pytest.mark.parametrize("name", ["basic_english", "spacy", "chars"])
def test_tokenizers_reject_empty_and_non_text(name):
    tokenize = text.tokenizer(name)
    with pytest.raises(ValueError, match="empty or blank text"):
        tokenize("   ")
    with pytest.raises(TypeError, match="takes a str, got float"):
        tokenize(float("nan"))


def test_unknown_tokenizer_lists_the_choices():
    with pytest.raises(ValueError, match="basic_english, spacy, chars"):
        text.tokenizer("bert")


def test_build_vocab_orders_by_frequency_then_alphabet():
    vocab = text.build_vocab([["b", "a", "c", "c"], ["a", "d", "c"]])
    assert vocab.itos == ["<pad>", "<unk>", "c", "a", "b", "d"]


def test_build_vocab_min_freq_and_max_size():
    tokens = [["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"]]
    assert text.build_vocab(tokens, min_freq=2).itos[2:] == ["a", "b", "c"]
    assert text.build_vocab(tokens, max_size=2).itos == ["<pad>", "<unk>", "a", "b"]
    with pytest.raises(ValueError, match="min_freq"):
        text.build_vocab(tokens, min_freq=0)
    with pytest.raises(ValueError, match="max_size"):
        text.build_vocab(tokens, max_size=-1)


def test_vocab_encode_decode_and_unknowns():
    vocab = text.build_vocab([["the", "cat", "the"]])
    assert vocab.encode(["the", "dog"]) == [2, 1]
    assert vocab["dog"] == vocab.default_index == vocab.unk_index == 1
    assert vocab.pad_index == 0 and "cat" in vocab and "dog" not in vocab
    assert vocab.decode(torch.tensor([2, 3, 0])) == ["the", "cat", "<pad>"]


def test_vocab_save_and_load(tmp_path):
    vocab = text.build_vocab([["ça", "va", "😀"]])
    vocab.save(tmp_path / "vocab.json")
    assert text.Vocab.load(tmp_path / "vocab.json").itos == vocab.itos


def test_vocab_rejects_bad_token_lists():
    with pytest.raises(ValueError, match="starts with '<pad>' and '<unk>'"):
        text.Vocab(["a", "b"])
    with pytest.raises(ValueError, match="unique"):
        text.Vocab(["<pad>", "<unk>", "a", "a"])


def test_pad_or_truncate():
    assert text.pad_or_truncate([5, 6, 7], 5) == [5, 6, 7, 0, 0]
    assert text.pad_or_truncate([5, 6, 7], 2) == [5, 6]
    with pytest.raises(ValueError, match="at least 1"):
        text.pad_or_truncate([1], 0)


def test_encode_texts_truncates():
    vocab = text.build_vocab([["a", "b", "c"]])
    encoded = text.encode_texts(["a b c", "c"], text.basic_english, vocab, max_length=2)
    assert [x.tolist() for x in encoded] == [[2, 3], [4]]


def make_dataset(lengths):
    return text.EncodedDataset([torch.arange(1, n + 1) for n in lengths], [i % 2 for i in range(len(lengths))])


def test_dataset_checks_its_inputs():
    with pytest.raises(ValueError, match="2 encoded texts but 1 labels"):
        text.EncodedDataset([torch.tensor([1]), torch.tensor([2])], [0])
    with pytest.raises(ValueError, match="no tokens"):
        text.EncodedDataset([torch.tensor([], dtype=torch.long)], [0])


def test_collate_pads_to_the_longest_or_a_fixed_length():
    dataset = make_dataset([3, 1])
    ids, lengths, labels = text.collate([dataset[0], dataset[1]])
    assert ids.tolist() == [[1, 2, 3], [1, 0, 0]] and lengths.tolist() == [3, 1] and labels.tolist() == [0, 1]
    ids, lengths, _ = text.collate([dataset[0], dataset[1]], length=2)
    assert ids.tolist() == [[1, 2], [1, 0]] and lengths.tolist() == [2, 1]


def test_bucket_sampler_covers_every_index_once_with_less_padding():
    lengths = [(i * 37) % 200 + 1 for i in range(1000)]
    sampler = text.BucketBatchSampler(lengths, batch_size=32, pool_batches=20)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(i for batch in batches for i in batch) == list(range(1000))

    def padding(batches):
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)

    random_batches = [list(range(i, min(i + 32, 1000))) for i in range(0, 1000, 32)]
    assert padding(batches) < 0.2 * padding(random_batches)
    assert list(sampler) != batches  # a new order every epoch


def test_data_loader_yields_ids_lengths_labels():
    dataset = make_dataset([5, 2, 7, 1, 3])
    for bucket in (False, True):
        seen = 0
        for ids, lengths, labels in text.data_loader(dataset, batch_size=2, shuffle=True, bucket=bucket):
            assert ids.shape == (len(labels), int(lengths.max()))
            seen += len(labels)
        assert seen == 5
    ids, _, _ = next(iter(text.data_loader(dataset, batch_size=5, length=4)))
    assert ids.shape == (5, 4)


def test_encode_frame_is_encode_texts_and_the_labels_of_a_frame():
    import pandas as pd

    df = pd.DataFrame({"text": ["A good film.", "Bad, bad film!", "fine"], "label": [1, 0, 1],
                       "title": ["T1", "T2", None], "stars": [5, 1, 4]})
    tokenize = text.tokenizer("basic_english")
    vocab = text.build_vocab(map(tokenize, df.text))
    dataset = text.encode_frame(df, tokenize, vocab, max_length=3)
    by_hand = text.EncodedDataset(text.encode_texts(df.text, tokenize, vocab, max_length=3), df.label.tolist())
    assert all(torch.equal(a, b) for a, b in zip(dataset.ids, by_hand.ids))
    assert torch.equal(dataset.labels, by_hand.labels) and dataset.lengths() == [3, 3, 1]
    titled = text.encode_frame(df, tokenize, vocab, text_column=lambda d: [f"{t} {x}" if isinstance(t, str) else x
                                                                           for t, x in zip(d.title, d.text)],
                               label_column="stars")
    assert titled.labels.tolist() == [5, 1, 4] and titled.lengths() == [5, 6, 1]
    with pytest.raises(ValueError, match="text_column: the frame has no column 'review'"):
        text.encode_frame(df, tokenize, vocab, text_column="review")
    with pytest.raises(ValueError, match="label_column"):
        text.encode_frame(df, tokenize, vocab, label_column="sentiment")
    with pytest.raises(TypeError, match="pandas DataFrame"):
        text.encode_frame(list(df.text), tokenize, vocab)


def test_no_html_turns_imdb_line_breaks_into_spaces():
    assert text.no_html(["great<br />film", "no tags"]) == ["great film", "no tags"]
    assert text.no_html(pd.Series(["a<br /><br />b"])) == ["a  b"]


def test_no_html_refuses_a_single_string_and_non_text():
    with pytest.raises(TypeError, match="one str"):
        text.no_html("a<br />b")
    with pytest.raises(TypeError, match="text 1 is float"):
        text.no_html(["fine", float("nan")])
