"""Inputs that used to give silently wrong results, or errors from deep inside, now give a clear
TypeError or ValueError naming what was wrong (or the correct result)."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from textclf import data, explain, metrics, plots, results, settings, text, training, vectors
from textclf.files import DataError

CPU = torch.device("cpu")


@pytest.fixture
def vocab():
    return text.build_vocab([["the", "cat", "sat"]])


# --- Vocab -------------------------------------------------------------------------------------


@pytest.mark.parametrize("ids,error,message", [
    ([2, -1], ValueError, "id -1 is outside the vocabulary"),
    ([2, 99], ValueError, "id 99 is outside the vocabulary"),
    ([2, 2.5], TypeError, "ids must be ints, got float"),
    ([2.0], TypeError, "ids must be ints, got float"),
    (torch.tensor([2.0, 3.0]), TypeError, "1-D integer ids"),
    (torch.tensor([[2, 3]]), TypeError, "1-D integer ids"),
    ("23", TypeError, "list of int ids"),
])
def test_decode_refuses_ids_that_are_not_in_the_vocabulary(vocab, ids, error, message):
    with pytest.raises(error, match=message):
        vocab.decode(ids)


def test_decode_accepts_integer_tensors_and_numpy_ints(vocab):
    assert vocab.decode(torch.tensor([2, 0])) == vocab.decode(np.array([2, 0])) == vocab.decode([np.int64(2), 0])


def test_encode_refuses_a_string(vocab):
    with pytest.raises(TypeError, match="takes a list of tokens, got the str 'the cat'.*tokenize"):
        vocab.encode("the cat")


def test_encode_refuses_tokens_that_are_not_strings(vocab):
    with pytest.raises(TypeError, match="tokens must be str, got int"):
        vocab.encode(["the", 3])


def test_vocab_lookup_by_index_is_refused(vocab):
    with pytest.raises(TypeError, match=r"vocab\[token\] takes a str token, got int.*itos"):
        vocab[3]
    assert 3 not in vocab


def test_vocab_refuses_non_string_tokens():
    with pytest.raises(TypeError, match="tokens must be str, got int"):
        text.Vocab(["<pad>", "<unk>", 7])
    with pytest.raises(TypeError, match="list of str tokens, got str"):
        text.Vocab("<pad><unk>")


def test_build_vocab_refuses_strings_instead_of_token_lists():
    with pytest.raises(TypeError, match="item 0 is str.*tokenize each text"):
        text.build_vocab(["a good film", "a bad film"])
    with pytest.raises(TypeError, match="tokens must be str, got int"):
        text.build_vocab([["a", 1]])
    with pytest.raises(TypeError, match="iterable of token lists, got str"):
        text.build_vocab("a good film")


@pytest.mark.parametrize("kwargs,error,message", [
    ({"min_freq": "2"}, TypeError, "min_freq must be an int, got str"),
    ({"min_freq": 1.5}, TypeError, "min_freq must be an int, got float"),
    ({"max_size": 2.5}, TypeError, "max_size must be an int or None"),
    ({"max_size": True}, TypeError, "max_size must be an int or None"),
])
def test_build_vocab_names_a_wrongly_typed_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        text.build_vocab([["a"]], **kwargs)


# --- encoding, padding, batching -----------------------------------------------------------------


@pytest.mark.parametrize("max_length,error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), ("5", TypeError)])
def test_encode_texts_refuses_a_bad_max_length(vocab, max_length, error):
    with pytest.raises(error, match="max_length"):
        text.encode_texts(["the cat"], text.basic_english, vocab, max_length=max_length)


def test_encode_texts_refuses_one_string(vocab):
    with pytest.raises(TypeError, match="takes a list of texts, got str"):
        text.encode_texts("the cat", text.basic_english, vocab)


def test_pad_or_truncate_takes_a_tensor_and_returns_ints():
    assert text.pad_or_truncate(torch.tensor([5, 6, 7]), 5) == [5, 6, 7, 0, 0]
    assert all(type(i) is int for i in text.pad_or_truncate(torch.tensor([5, 6, 7]), 2))


@pytest.mark.parametrize("ids,length,error,message", [
    (None, 3, TypeError, "list of int ids, got NoneType"),
    ([1, 2], 2.5, TypeError, "length must be an int"),
    ([1, 2], "3", TypeError, "length must be an int"),
    ([1.5, 2], 3, TypeError, "ids must be ints, got float"),
    (torch.tensor([1.0, 2.0]), 3, TypeError, "1-D integer ids"),
    ("12", 3, TypeError, "list of int ids, got str"),
])
def test_pad_or_truncate_refuses_bad_input(ids, length, error, message):
    with pytest.raises(error, match=message):
        text.pad_or_truncate(ids, length)


def test_collate_refuses_float_ids():
    with pytest.raises(TypeError, match="1-D integer tensor of token ids"):
        text.collate([(torch.tensor([1.0, 2.0]), torch.tensor(0))])


def test_collate_refuses_mixed_labels():
    with pytest.raises(TypeError, match="labels must all be integer tensors of one shape"):
        text.collate([(torch.tensor([1, 2]), torch.tensor(0)), (torch.tensor([3]), torch.tensor(0.5))])


def test_collate_refuses_length_zero_and_an_empty_batch():
    with pytest.raises(ValueError, match="length must be at least 1"):
        text.collate([(torch.tensor([1, 2]), torch.tensor(0))], length=0)
    with pytest.raises(ValueError, match="empty batch"):
        text.collate([])


def test_collate_refuses_an_empty_sequence():
    with pytest.raises(ValueError, match="has no tokens"):
        text.collate([(torch.tensor([], dtype=torch.long), torch.tensor(0))])


@pytest.mark.parametrize("labels,message", [
    ([0.0, float("nan")], "labels must be integer class indices"),
    ([0.5, 1.0], "labels must be integer class indices"),
    (["pos", "neg"], "labels must be integer class indices"),
    ([True, False], "labels must be integer class indices"),
])
def test_dataset_refuses_labels_that_are_not_class_indices(labels, message):
    with pytest.raises(TypeError, match=message):
        text.EncodedDataset([torch.tensor([1]), torch.tensor([2])], labels)


def test_dataset_takes_a_pandas_series_of_labels():
    dataset = text.EncodedDataset([torch.tensor([1]), torch.tensor([2])], pd.Series([0, 1], index=[5, 9]))
    assert dataset.labels.tolist() == [0, 1] and dataset.labels.dtype == torch.long


@pytest.mark.parametrize("kwargs,error,message", [
    ({"batch_size": 2.5}, TypeError, "batch_size must be an int"),
    ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
    ({"batch_size": 2, "pool_batches": 0}, ValueError, "pool_batches must be at least 1"),
])
def test_bucket_sampler_names_a_bad_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        text.BucketBatchSampler([3, 1, 2], **kwargs)


def test_data_loader_names_a_bad_batch_size():
    dataset = text.EncodedDataset([torch.tensor([1])], [0])
    with pytest.raises(TypeError, match="batch_size must be an int"):
        text.data_loader(dataset, batch_size=2.5)


def test_tokenizer_refuses_a_non_string_name():
    with pytest.raises(TypeError, match="takes a name"):
        text.tokenizer(["spacy"])


# --- LIME ---------------------------------------------------------------------------------------


class Count(nn.Module):
    def forward(self, ids, lengths):
        return lengths.float().unsqueeze(1) - 2.0  # (batch, 1)


def test_classifier_fn_refuses_one_string(vocab):
    predict = explain.classifier_fn(Count(), text.basic_english, vocab, CPU)
    with pytest.raises(TypeError, match="takes a list of texts, got str"):
        predict("the cat sat")
    with pytest.raises(TypeError, match="texts \\(str\\), got int"):
        predict(["the cat", 3])
    assert predict(["the cat", "sat"]).shape == (2, 2)


# --- training ------------------------------------------------------------------------------------


class Mean(nn.Module):
    def __init__(self, outputs):
        super().__init__()
        self.embedding, self.head = nn.Embedding(8, 4), nn.Linear(4, outputs)

    def forward(self, ids, lengths):
        return self.head(self.embedding(ids).mean(dim=1))  # (batch, outputs)


def loader(labels, n=None):
    ids = [torch.tensor([2 + i % 3, 4]) for i in range(len(labels))]
    return text.data_loader(text.EncodedDataset(ids, labels), batch_size=4)


def fit(model, train, valid, **kwargs):
    optimizer = torch.optim.SGD(model.parameters(), lr=kwargs.pop("lr", 0.1))
    loss_fn = kwargs.pop("loss_fn", nn.CrossEntropyLoss())
    return training.fit(model, train, valid, optimizer, loss_fn, CPU, **{"epochs": 1, "verbose": False, **kwargs})


@pytest.fixture(autouse=True)
def full_mode(monkeypatch):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)


def test_one_logit_model_refuses_labels_other_than_0_and_1():
    data_ = loader([0, 1, 2, 1])
    with pytest.raises(ValueError, match="one output is a binary classifier and needs labels 0 and 1, got 2"):
        fit(Mean(1), data_, data_, loss_fn=nn.BCEWithLogitsLoss())


def test_several_logits_refuse_a_label_without_an_output():
    data_ = loader([0, 1, 3, 1])
    with pytest.raises(ValueError, match="label 3 is out of range for a model with 3 outputs"):
        fit(Mean(3), data_, data_)


def test_float_or_nan_labels_reaching_fit_are_refused():
    batches = [(torch.tensor([[2, 3]]), torch.tensor([2]), torch.tensor([float("nan")]))]
    with pytest.raises(TypeError, match="labels must be an integer tensor of class indices"):
        fit(Mean(1), batches, batches, loss_fn=nn.BCEWithLogitsLoss())


@pytest.mark.parametrize("kwargs,error,message", [
    ({"epochs": "3"}, TypeError, "epochs must be an int, got str"),
    ({"epochs": 2.5}, TypeError, "epochs must be an int"),
    ({"patience": 0}, ValueError, "patience must be at least 1"),
    ({"patience": 1.5}, TypeError, "patience must be an int or None"),
    ({"clip_norm": -1.0}, ValueError, "clip_norm must be None or a finite number > 0"),
    ({"clip_norm": float("nan")}, ValueError, "clip_norm"),
])
def test_fit_names_a_bad_argument(kwargs, error, message):
    data_ = loader([0, 1])
    with pytest.raises(error, match=message):
        fit(Mean(2), data_, data_, **kwargs)


def test_fit_refuses_empty_loaders():
    data_ = loader([0, 1])
    with pytest.raises(ValueError, match="training loader yielded no examples"):
        fit(Mean(2), [], data_)
    with pytest.raises(ValueError, match="evaluation loader yielded no examples"):
        fit(Mean(2), data_, [])


@pytest.mark.parametrize("patience,epochs_run", [(None, 2), (1, 1)])
def test_fit_with_only_nan_validation_losses_says_training_diverged(patience, epochs_run):
    # with patience, no finite loss means no best epoch: that used to fail on None
    data_ = loader([0, 1, 0, 1])
    model = Mean(2)
    with torch.no_grad():
        model.head.bias.fill_(float("nan"))
    message = f"validation loss was not a finite number in any of the {epochs_run} epochs"
    with pytest.raises(FloatingPointError, match=message):
        fit(model, data_, data_, epochs=2, patience=patience)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_training_fit_with_the_rating_loss_and_only_nan_losses_says_training_diverged():
    from textclf import ratings

    class NanRegressor(nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(torch.tensor(float("nan")))

        def forward(self, ids, lengths):
            return ids.float().mean(dim=1) * 0 + self.bias  # (batch,)

    data_ = text.data_loader(text.EncodedDataset([torch.tensor([2])] * 4, [0, 4, 0, 4]), 2)
    model = NanRegressor()
    with pytest.raises(FloatingPointError, match="training diverged"):
        training.fit(model, data_, data_, torch.optim.SGD(model.parameters(), 0.1), ratings.RatingLoss("regression"),
                     CPU, epochs=2, patience=1, verbose=False, validate=ratings.validator("regression"),
                     progress=False)


def test_predict_refuses_an_empty_loader():
    with pytest.raises(ValueError, match="loader yielded no batches"):
        training.predict(Mean(2), [], CPU)


@pytest.mark.parametrize("kwargs,error,message", [
    ({"seed": 10**400}, ValueError, "seed must be below 2\\*\\*32"),
    ({"seed": -1}, ValueError, "seed must be at least 0"),
    ({"seed": "0"}, TypeError, "seed must be an int"),
    ({"threads": 0}, ValueError, "threads must be at least 1"),
    ({"threads": 1.5}, TypeError, "threads must be an int or None"),
])
def test_setup_names_a_bad_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        training.setup(**kwargs)


# --- metrics and plots ---------------------------------------------------------------------------


def test_nan_predictions_are_refused():
    with pytest.raises(ValueError, match="y_pred holds NaN"):
        metrics.accuracy([0, 1], [0, float("nan")])


def test_integer_and_string_labels_are_not_compared():
    with pytest.raises(TypeError, match="y_true holds numbers but y_pred texts"):
        metrics.accuracy([0, 1], ["0", "1"])


def test_probabilities_instead_of_classes_are_refused():
    with pytest.raises(ValueError, match="y_pred holds fractions.*argmax"):
        metrics.accuracy([0, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match="argmax"):
        metrics.accuracy([0, 1], np.array([[0.8, 0.2], [0.1, 0.9]]))


def test_rmse_allows_fractional_predictions_but_not_text():
    assert metrics.rmse([1, 2], [1.5, 2.5]) == pytest.approx(0.5)
    with pytest.raises(TypeError, match="rmse needs numbers"):
        metrics.rmse(["a"], ["b"])


def test_classification_report_refuses_labels_without_a_name():
    with pytest.raises(ValueError, match="y_true holds label 3, which has no name: label_names has 2 names"):
        metrics.classification_report([0, 1, 3], [0, 1, 1], ["neg", "pos"])
    with pytest.raises(TypeError, match="label_names must be a list of class names, got str"):
        metrics.classification_report([0, 1], [0, 1], "np")


def test_confusion_matrix_refuses_labels_without_a_name():
    with pytest.raises(ValueError, match="y_pred holds label 2, which has no name"):
        plots.confusion_matrix([0, 1, 1], [0, 1, 2], ["neg", "pos"])


def test_training_curves_refuse_what_fit_did_not_return():
    with pytest.raises(TypeError, match="History"):
        plots.training_curves({"epochs": []})
    with pytest.raises(ValueError, match="no epochs"):
        plots.training_curves(training.History())


# --- data helpers ----------------------------------------------------------------------------------


def test_split_frame_keeps_every_row_when_the_index_repeats():
    df = pd.DataFrame({"text": [str(i) for i in range(100)], "label": [0, 1] * 50}, index=[0, 1] * 50)
    first, second = data.split_frame(df, 0.2)
    assert (len(first), len(second)) == (80, 20)
    assert sorted(first.text.tolist() + second.text.tolist()) == sorted(df.text.tolist())


def test_split_frame_refuses_a_split_that_leaves_a_part_empty():
    with pytest.raises(ValueError, match="leaves a part empty"):
        data.split_frame(pd.DataFrame({"text": ["a", "b"], "label": [0, 1]}), 0.1)


@pytest.mark.parametrize("rows", [7, 10, 99, 100, 333])
def test_stratified_subset_never_returns_more_rows_than_asked(rows):
    df = pd.DataFrame({"text": [str(i) for i in range(1001)], "label": [i % 7 for i in range(1001)]})
    subset = data.stratified_subset(df, rows)
    assert rows - 7 <= len(subset) <= rows


def test_load_refuses_a_quick_that_is_not_a_bool():
    with pytest.raises(TypeError, match="quick must be True, False or None"):
        data.load("imdb", "train", quick="false")


def test_load_names_a_wrongly_typed_dataset_or_split():
    with pytest.raises(TypeError, match="dataset name must be a str, got list"):
        data.load(["imdb"], "train")
    with pytest.raises(TypeError, match="split name must be a str"):
        data.load("imdb", 0)


# --- GloVe -------------------------------------------------------------------------------------------


def glove_lines(n, dim=3):
    return "".join(f"w{i} " + " ".join(f"{0.1 * (i + j):.3f}" for j in range(dim)) + "\n" for i in range(n))


def test_known_glove_file_cut_at_a_line_boundary_is_refused(tmp_path):
    path = tmp_path / "glove.6B.50d.txt.gz"
    path.write_bytes(gzip.compress(glove_lines(10, dim=50).encode()))
    with pytest.raises(DataError, match="has 10 lines, but glove.6B.50d.txt.gz has 400,000: the file is truncated"):
        vectors.load_glove_text(path)
    assert len(vectors.load_glove_text(path, max_words=10).words) == 10  # the first 10 are there


def test_known_glove_file_cut_mid_line_is_refused(tmp_path):
    path = tmp_path / "glove.6B.50d.txt"
    path.write_text(glove_lines(3, dim=50)[:-3])
    with pytest.raises(DataError, match="last line .* is cut off"):
        vectors.load_glove_text(path)


def test_glove_file_of_words_only_is_refused(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("the\nof\nand\n")
    with pytest.raises(DataError, match="line 1: the word 'the' has no vector"):
        vectors.load_glove_text(path)


def test_glove_file_with_text_or_nan_values_is_refused(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("the 0.1 0.2\nof 0.3 x\n")
    with pytest.raises(DataError, match="line 2: a value is not a number"):
        vectors.load_glove_text(path)
    path.write_text("the 0.1 0.2\nof 0.3 nan\n")
    with pytest.raises(DataError, match="'of' \\(row 1\\) holds NaN"):
        vectors.load_glove_text(path)


def test_corrupted_gz_glove_file_names_the_file(tmp_path):
    path = tmp_path / "vectors.txt.gz"
    path.write_bytes(gzip.compress(glove_lines(2000).encode())[:-100])
    with pytest.raises(DataError, match="vectors.txt.gz after line .* corrupted or truncated"):
        vectors.load_glove_text(path)


def test_empty_vectors_cannot_make_nan_embeddings():
    with pytest.raises(DataError, match="at least one word and one dimension"):
        vectors.WordVectors(["the"], np.zeros((1, 0), dtype=np.float32))
    with pytest.raises(DataError, match="at least one word and one dimension"):
        vectors.WordVectors([], np.zeros((0, 5), dtype=np.float32))


def test_embedding_matrix_names_wrong_arguments(vocab):
    glove = vectors.WordVectors(["the"], np.ones((1, 2), dtype=np.float32))
    with pytest.raises(TypeError, match="vocab must be a textclf.text.Vocab"):
        vectors.embedding_matrix(["the"], glove)
    with pytest.raises(TypeError, match="pretrained must be WordVectors"):
        vectors.embedding_matrix(vocab, {"the": [1, 1]})


# --- results ---------------------------------------------------------------------------------------


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "results_dir", lambda: tmp_path)
    training.setup(seed=0)
    return tmp_path


@pytest.mark.parametrize("metrics_,error,message", [
    ([("accuracy", 0.5)], TypeError, "metrics must be a dict"),
    ({}, ValueError, "metrics is empty"),
    ({"n": 10**400}, ValueError, "'n' is an integer too large"),
    ({"x": np.float64("inf")}, ValueError, "'x' must be a finite number"),
    ({"x": np.bool_(True)}, ValueError, "'x' must be a finite number"),
])
def test_results_save_names_bad_metrics(results_dir, metrics_, error, message):
    with pytest.raises(error, match=message):
        results.save("99_demo", metrics_)
    assert not list(results_dir.rglob("*.json"))


def test_results_save_refuses_a_device_that_is_not_one(results_dir):
    with pytest.raises(TypeError, match="device must be a torch.device"):
        results.save("99_demo", {"x": 1.0}, device="gpu please")


def test_results_save_records_the_threads_and_precision_a_chapter_names(results_dir, monkeypatch):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    with training.using_threads(1):
        results.save("99_demo", {"x": 1.0}, threads="1 and 2", precision="fp32 and bf16")
    run = json.loads((results_dir / "99_demo.json").read_text())["run"]
    assert (run["threads"], run["precision"]) == ("1 and 2", "fp32 and bf16")
    results.save("99_demo", {"x": 1.0})
    run = json.loads((results_dir / "99_demo.json").read_text())["run"]
    assert run["threads"] == torch.get_num_threads() and run["precision"] == training.precision()
    results.save("99_demo", {"x": 1.0}, threads=" 2 ")  # what " and ".join gives for one choice
    assert json.loads((results_dir / "99_demo.json").read_text())["run"]["threads"] == 2


@pytest.mark.parametrize("options,error,message", [
    ({"threads": 0}, ValueError, "threads must be at least 1"),
    ({"threads": 2.5}, TypeError, "threads must be a short text or int"),
    ({"threads": "0"}, ValueError, "threads must be at least 1"),
    ({"precision": ""}, ValueError, "precision must be a non-empty text"),
    ({"precision": 16}, TypeError, "precision must be a short text"),
])
def test_results_save_refuses_bad_run_notes(results_dir, options, error, message):
    with pytest.raises(error, match=message):
        results.save("99_demo", {"x": 1.0}, **options)
    assert not list(results_dir.rglob("*.json"))


# --- found while looking for more of the same kind --------------------------------------------------


def test_one_logit_model_with_cross_entropy_is_refused():
    # CrossEntropyLoss on (batch,) logits reads the batch as one example's class scores: silently wrong
    data_ = loader([0, 1, 0, 1])
    with pytest.raises(ValueError, match="one output \\(binary\\) needs nn.BCEWithLogitsLoss"):
        fit(Mean(1), data_, data_, loss_fn=nn.CrossEntropyLoss())


def test_several_logits_with_binary_cross_entropy_are_refused():
    data_ = loader([0, 1, 0, 1])
    with pytest.raises(ValueError, match="BCEWithLogitsLoss takes one output per example, but the model has 2"):
        fit(Mean(2), data_, data_, loss_fn=nn.BCEWithLogitsLoss())


def test_logits_of_a_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="logits must have shape"):
        training.logits_to_probabilities(torch.zeros(2, 3, 4))


def test_count_parameters_names_what_it_got():
    with pytest.raises(TypeError, match="takes a torch.nn.Module, got NoneType"):
        training.count_parameters(None)


def test_encode_texts_names_the_text_that_cannot_be_tokenized(vocab):
    with pytest.raises(TypeError, match="encode_texts: text 1: a tokenizer takes a str, got float"):
        text.encode_texts(["the cat", float("nan")], text.basic_english, vocab)


def test_dataset_takes_plain_lists_of_ids():
    dataset = text.EncodedDataset([[1, 2], (3,)], [0, 1])
    assert [x.tolist() for x in dataset.ids] == [[1, 2], [3]]
    with pytest.raises(TypeError, match="must hold int ids"):
        text.EncodedDataset([[1.5, 2]], [0])


def test_metrics_accept_object_arrays_of_one_kind_only():
    assert metrics.accuracy(pd.Series([0, 1], dtype=object), [0, 0]) == 0.5
    with pytest.raises(TypeError, match="y_pred must hold numbers or strings"):
        metrics.accuracy([0, 1], np.array([0, None], dtype=object))


def test_explanation_html_names_a_label_the_explanation_lacks():
    class Explanation:
        def as_list(self, label):
            raise KeyError(label)

    with pytest.raises(ValueError, match="no weights for label 3"):
        explain.explanation_html(Explanation(), label=3)


def test_a_misspelt_quick_setting_is_refused(monkeypatch):
    monkeypatch.setenv("TEXTCLF_QUICK", "ture")
    with pytest.raises(ValueError, match="TEXTCLF_QUICK='ture' is not understood"):
        settings.quick_mode()


def test_split_frame_refuses_rows_without_a_label():
    df = pd.DataFrame({"text": list("abcdef"), "label": [0, 1, None, 0, 1, 0]})
    with pytest.raises(ValueError, match="1 rows have no label"):
        data.split_frame(df, 0.5)


def test_data_loader_refuses_a_flag_that_is_not_a_bool():
    dataset = text.EncodedDataset([torch.tensor([1])], [0])
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        text.data_loader(dataset, 1, shuffle="no")


def test_explanation_html_refuses_label_names_given_as_one_string():
    with pytest.raises(TypeError, match="label_names must be a list of class names, got str"):
        explain.explanation_html(object(), label=1, label_names="np")


def test_embedding_matrix_names_bad_options(vocab):
    glove = vectors.WordVectors(["the"], np.ones((1, 2), dtype=np.float32))
    with pytest.raises(TypeError, match="unknown_std must be None or a finite number >= 0, got str"):
        vectors.embedding_matrix(vocab, glove, unknown_std="1")
    with pytest.raises(ValueError, match="unknown_std must be None or a finite number >= 0"):
        vectors.embedding_matrix(vocab, glove, unknown_std=float("inf"))
    with pytest.raises(TypeError, match="lowercase_fallback must be True or False"):
        vectors.embedding_matrix(vocab, glove, lowercase_fallback="no")


def test_median_step_seconds_names_a_bad_warmup():
    model = Mean(2)
    with pytest.raises(TypeError, match="warmup must be an int"):
        training.median_step_seconds(model, [], torch.optim.SGD(model.parameters(), 0.1), nn.CrossEntropyLoss(), warmup=0.5)


# --- the package's edges: tensors where tensors are needed, empty inputs ------------------------

from textclf import checks, files, models, ratings  # noqa: E402


def test_one_integer_check_serves_every_module():
    assert text.check_int is checks.check_int  # text.check_int stays importable for older code
    assert files.DataError is text.DataError is results.DataError is vectors.DataError is checks.DataError
    assert checks.check_int(np.int64(3), "n", 1) == 3 and type(checks.check_int(np.int64(3), "n", 1)) is int
    for call, error, message in [
        (lambda: checks.check_int(np.bool_(True), "flag"), TypeError, "flag must be an int, got bool"),
        (lambda: checks.check_int(None, "n"), TypeError, "n must be an int, got NoneType"),
        (lambda: models.BiLSTMClassifier(10, 4.0, 4), TypeError, "embed_dim must be an int, got float"),
        (lambda: models.RecurrentClassifier(0), ValueError, "vocab_size must be at least 1, got 0"),
        (lambda: settings.full_or_quick(2.5, 1), TypeError, "full must be an int, got float"),
        (lambda: ratings.batch_averaged_rmse([1, 2], [1, 2], True), TypeError, "batch_size must be an int, got bool"),
        (lambda: ratings.epochs_to_run("3"), TypeError, "epochs must be an int, got str"),
        (lambda: data.stratified_subset(pd.DataFrame({"label": [0]}), 0), ValueError, "rows must be at least 1"),
        (lambda: files.RemoteFile("a/b.csv", "md5:" + "0" * 32, size=0), ValueError, "RemoteFile a/b.csv: size must be at least 1"),
        (lambda: files.RemoteFile("a/b.csv", "md5:" + "0" * 32, size=2.0), TypeError, "RemoteFile a/b.csv: size must be an int or None"),
    ]:
        with pytest.raises(error, match=message):
            call()



def test_one_range_check_serves_every_module():
    """checks.check_real: a TypeError for a non-number, a ValueError outside the range, NaN or infinity."""
    from textclf import baselines, classifier, ensemble, language_model

    assert checks.check_real(np.float32(0.5), "w", 0, 1) == 0.5 and type(checks.check_real(1, "w", 0, 1)) is float
    assert checks.check_real(None, "clip", 0, allow_none=True) is None
    assert checks.check_real(0, "w", 0, 1) == 0.0 and checks.check_real(1, "w", 0, 1) == 1.0  # closed ends
    for call, error, message in [
        (lambda: checks.check_real(0, "lr", 0, low_open=True), ValueError, r"lr must be a finite number > 0, got 0"),
        (lambda: checks.check_real(float("inf"), "lr", 0), ValueError, r"lr must be a finite number >= 0, got inf"),
        (lambda: checks.check_real(float("nan"), "d", 0, 1), ValueError, r"d must be a number in \[0, 1\], got nan"),
        (lambda: checks.check_real(1, "d", 0, 1, high_open=True), ValueError, r"d must be a number in \[0, 1\), got 1"),
        (lambda: checks.check_real(np.bool_(True), "w", 0, 1), TypeError, "w must be a number in .* got bool: "),
        (lambda: checks.check_real(None, "c", 0, allow_none=True, meaning="!") or checks.check_real("2", "c", 0),
         TypeError, "c must be a finite number >= 0, got str"),
        (lambda: training.choose_thread_count({1: 1.0}, min_gain=1), ValueError,
         r"min_gain must be a number in \[0, 1\) \(a share of a step\), got 1"),
        (lambda: training.choose_thread_count({1: 0.0}), ValueError, r"timings\[1\] must be a finite number > 0"),
        (lambda: ensemble.blend([[1.0, 0.0]], [[0.0, 1.0]], 1.5), ValueError, r"weight must be a number in \[0, 1\]"),
        (lambda: language_model.LSTMLanguageModel(10, 4, 4, dropout=1.0), ValueError, "dropout must be a number in"),
        (lambda: classifier.validation_split([0, 1] * 5, 0.6), ValueError, r"valid_fraction must be a number in \(0, 0.5\]"),
        (lambda: classifier.TextClassifier(lr=0).fit(["a b", "c d"], [0, 1]), ValueError, "lr must be a finite number > 0"),
        (lambda: baselines.tuned_tfidf_logistic(["a"], [0], ["a"], [0], Cs=(1.0, -1.0)), ValueError, "every C must be a finite number > 0"),
        (lambda: data.split_frame(pd.DataFrame({"label": [0, 1]}), 1.0), ValueError, r"second_fraction must be a number in \(0, 1\)"),
        (lambda: training.fit(nn.Linear(1, 1), [], [], torch.optim.SGD(nn.Linear(1, 1).parameters(), 0.1), nn.MSELoss(),
                              CPU, 1, clip_norm=True), TypeError, "clip_norm must be None or a finite number > 0"),
    ]:
        with pytest.raises(error, match=message):
            call()


def test_training_fit_with_the_rating_loss_names_bad_epochs_and_patience():
    model = nn.Linear(1, 5)
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    rating = {"validate": ratings.validator("classes"), "progress": False}
    with pytest.raises(TypeError, match="epochs must be an int, got float"):
        training.fit(model, [], [], optimizer, ratings.RatingLoss("classes"), CPU, 2.0, **rating)
    with pytest.raises(ValueError, match="patience must be at least 1"):
        training.fit(model, [], [], optimizer, ratings.RatingLoss("classes"), CPU, 2, patience=0, **rating)


OUTPUT, LENGTHS = torch.zeros(2, 5, 3), torch.tensor([5, 3])


@pytest.mark.parametrize("call,error,message", [
    (lambda: models.last_real_step(OUTPUT, [5, 3]), TypeError, r"last_real_step: lengths must be a 1-D integer tensor.*got list"),
    (lambda: models.last_real_step(OUTPUT.tolist(), LENGTHS), TypeError, r"last_real_step: output must be a tensor"),
    (lambda: models.last_real_step(OUTPUT, LENGTHS.float()), TypeError, r"lengths must be a 1-D integer tensor.*float32"),
    (lambda: models.last_real_step(OUTPUT, LENGTHS.bool()), TypeError, r"lengths must be a 1-D integer tensor.*bool"),
    (lambda: models.last_real_step(OUTPUT[:0], LENGTHS[:0]), ValueError, r"lengths is empty"),
    (lambda: models.reverse_within_length(OUTPUT, [5, 3]), TypeError, r"reverse_within_length: lengths must be .*got list"),
    (lambda: models.reverse_within_length(OUTPUT.tolist(), LENGTHS), TypeError, r"reverse_within_length: x must be a tensor"),
    (lambda: models.reverse_within_length(OUTPUT, LENGTHS.float()), TypeError, r"lengths must be a 1-D integer tensor.*float32"),
    (lambda: models.real_steps_mask([5, 3], 5), TypeError, r"real_steps_mask: lengths must be .*got list"),
    (lambda: models.real_steps_mask(LENGTHS.float(), 5), TypeError, r"real_steps_mask: lengths must be .*float32"),
    (lambda: models.real_steps_mask(LENGTHS.view(2, 1), 5), ValueError, r"real_steps_mask: lengths must be a 1-D .*\(2, 1\)"),
    (lambda: models.real_steps_mask(LENGTHS, 5.0), TypeError, r"steps must be an int, got float"),
])
def test_model_pieces_name_an_argument_of_the_wrong_kind(call, error, message):
    with pytest.raises(error, match=message):
        call()


MODELS = {
    "bilstm-fast": lambda: models.BiLSTMClassifier(10, 4, 3),
    "bilstm-packed": lambda: models.BiLSTMClassifier(10, 4, 3, reader="packed"),
    "rnn": lambda: models.RecurrentClassifier(10, 4, 3),
    "bigru": lambda: models.RecurrentClassifier(10, 4, 3, cell="gru", bidirectional=True),
}
IDS = torch.tensor([[2, 3, 4, 5, 6], [7, 8, 9, 0, 0]])


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("ids,lengths,error,message", [
    (IDS.tolist(), LENGTHS, TypeError, r"ids must be a 2-D integer tensor \(batch, steps\).*got list"),
    (IDS, [5, 3], TypeError, r"lengths must be a 1-D integer tensor \(batch,\).*got list"),
    (IDS, LENGTHS.float(), TypeError, r"lengths must be a 1-D integer tensor.*float32"),
    (IDS.float(), LENGTHS, TypeError, r"ids must be a 2-D integer tensor.*float32"),
    (IDS[0], LENGTHS[:1], ValueError, r"ids must be a 2-D integer tensor.*shape \(5,\)"),
    (IDS, torch.tensor([5, 3, 1]), ValueError, r"ids has 2 rows but lengths \(3,\)"),
    (IDS, torch.tensor([6, 3]), ValueError, r"lengths must lie in 1\.\.5"),
    (IDS, torch.tensor([0, 3]), ValueError, r"lengths must lie in 1\.\.5"),
    (IDS[:0], LENGTHS[:0], ValueError, r"lengths is empty"),
])
def test_models_name_a_batch_of_the_wrong_kind(kind, ids, lengths, error, message):
    model = MODELS[kind]().eval()
    with pytest.raises(error, match=message):
        model(ids, lengths)
    assert model(IDS, LENGTHS).shape == (2, 1)  # and a good batch still runs
    assert model(IDS.int(), LENGTHS.int()).shape == (2, 1)  # int32 is an integer tensor too


def test_an_empty_history_says_so():
    empty = training.History()
    with pytest.raises(ValueError, match="no epoch was restored"):
        empty.best
    with pytest.raises(ValueError, match="History.best_within: this History holds no epochs"):
        empty.best_within(1)
    with pytest.raises(ValueError, match="History.to_frame: this History holds no epochs"):
        empty.to_frame()
    with pytest.raises(ValueError, match="'epoch' number"):
        training.History([{"valid_loss": 0.5}]).to_frame()
    with pytest.raises(ValueError, match="no epochs to plot"):
        plots.training_curves(empty)
    assert list(training.History([{"epoch": 1, "valid_loss": 0.5}]).to_frame().index) == [1]


def test_collate_names_an_empty_batch():
    with pytest.raises(ValueError, match="collate got an empty batch"):
        text.collate([])


def test_a_bucketed_loader_needs_a_dataset_with_lengths():
    plain = torch.utils.data.TensorDataset(torch.ones(3, 2, dtype=torch.long), torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match=r"bucket=True needs a dataset with a lengths\(\) method.*TensorDataset"):
        text.data_loader(plain, 2, bucket=True)
    assert len(text.data_loader(plain, 2)) == 2  # without bucketing any Dataset works

    class Wrong(text.EncodedDataset):
        def lengths(self):
            return [1]

    with pytest.raises(ValueError, match=r"dataset.lengths\(\) gives 1 lengths for 2 examples"):
        text.data_loader(Wrong([torch.tensor([1]), torch.tensor([2])], [0, 1]), 2, bucket=True)
