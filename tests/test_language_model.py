import math

import pytest
import torch

from textclf import language_model as lm_
from textclf import models, training

CYCLE = [2, 3, 4, 5, 6]


@pytest.fixture(autouse=True)
def full_mode_one_thread(monkeypatch):
    """Full mode (quick mode would cap every epoch at training.QUICK_BATCHES windows), and one
    thread: these models are too small to gain from two, and lose much on a busy machine."""
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    with training.using_threads(1):
        yield


def tiny_model(cutoffs=(4,), **options):
    torch.manual_seed(0)
    return lm_.LSTMLanguageModel(10, 8, 16, cutoffs=cutoffs, **options)


def test_token_stream_puts_one_separator_between_documents():
    stream = lm_.token_stream([[2, 3], torch.tensor([4]), [], (5, 6, 7)], separator_id=1)
    assert stream.dtype == torch.long and stream.tolist() == [2, 3, 1, 4, 1, 5, 6, 7]


def test_token_stream_rejects_bad_input():
    with pytest.raises(TypeError, match="separator_id"):
        lm_.token_stream([[2]], separator_id=1.0)
    with pytest.raises(TypeError, match="id_lists must be a list"):
        lm_.token_stream("2 3", separator_id=1)
    with pytest.raises(TypeError, match=r"id_lists\[1\] must be 1-D integer"):
        lm_.token_stream([[2], [1.5]], separator_id=1)
    with pytest.raises(ValueError, match="no token ids"):
        lm_.token_stream([[], []], separator_id=1)
    with pytest.raises(ValueError, match="non-negative"):
        lm_.token_stream([[2, -1]], separator_id=1)


def test_lm_batches_cut_rows_of_the_stream_into_windows_with_targets_one_token_on():
    stream = torch.arange(23)                     # 2 rows of 11 columns; token 22 is left out
    windows = lm_.lm_batches(stream, batch_size=2, steps=4)
    assert [tuple(x.shape) for x, _ in windows] == [(2, 4), (2, 4), (2, 2)]
    inputs, targets = windows[0]
    assert inputs.tolist() == [[0, 1, 2, 3], [11, 12, 13, 14]]
    assert torch.equal(targets, inputs + 1)
    assert windows[1][0].tolist() == [[4, 5, 6, 7], [15, 16, 17, 18]]     # each row goes on
    assert windows[2][1].tolist() == [[9, 10], [20, 21]]                  # every target is read
    assert len(lm_.lm_batches(stream, batch_size=2, steps=4, drop_last=True)) == 2


def test_lm_batches_reject_bad_input():
    with pytest.raises(ValueError, match="too short for batch_size 6"):
        lm_.lm_batches(torch.arange(11), batch_size=6, steps=4)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        lm_.lm_batches(torch.arange(11), batch_size=0, steps=4)
    with pytest.raises(TypeError, match="steps must be an int"):
        lm_.lm_batches(torch.arange(11), batch_size=2, steps=4.0)
    with pytest.raises(TypeError, match="stream must be a 1-D integer tensor"):
        lm_.lm_batches(torch.rand(11), batch_size=2, steps=4)
    with pytest.raises(ValueError, match="drop_last leaves no window"):
        lm_.lm_batches(torch.arange(11), batch_size=2, steps=8, drop_last=True)


@pytest.mark.parametrize("cutoffs", [(4,), None], ids=["adaptive", "full"])
def test_a_tiny_language_model_learns_a_repeated_sequence(cutoffs):
    model = tiny_model(cutoffs)
    assert model.adaptive == (cutoffs is not None)
    stream = lm_.token_stream([CYCLE * 16] * 5, separator_id=1)        # a separator every 80 tokens
    batches = lm_.lm_batches(stream, batch_size=4, steps=10)
    device = torch.device("cpu")
    before = lm_.evaluate_perplexity(model, batches, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(6):
        epoch = lm_.train_epoch(model, batches, optimizer, device)
    assert epoch["tokens"] == sum(t.numel() for _, t in batches) and epoch["tokens_per_second"] > 0
    after = lm_.evaluate_perplexity(model, batches, device)
    assert before > 5 and after < 1.3, (before, after)
    assert lm_.generate(model, [2, 3], 12, temperature=0) == (CYCLE * 3)[2:14]
    sampled = [lm_.generate(model, [4], 8, temperature=0.5, generator=torch.Generator().manual_seed(1))
               for _ in range(2)]
    assert sampled[0] == sampled[1] and sampled[0][:4] == [5, 6, 2, 3]


def test_perplexity_carries_the_state_from_window_to_window():
    model = tiny_model().eval()
    stream = torch.randint(2, 10, (60,), generator=torch.Generator().manual_seed(0))
    device = torch.device("cpu")
    in_windows = lm_.evaluate_perplexity(model, lm_.lm_batches(stream, 3, steps=4), device)
    at_once = lm_.evaluate_perplexity(model, lm_.lm_batches(stream, 3, steps=100), device)
    assert math.isclose(in_windows, at_once, rel_tol=1e-5)


@pytest.mark.parametrize("cutoffs", [(4, 7), None], ids=["adaptive", "full"])
def test_loss_is_the_mean_negative_log_probability_of_the_targets(cutoffs):
    model = tiny_model(cutoffs).eval()
    ids, targets = torch.randint(0, 10, (2, 5)), torch.randint(0, 10, (2, 5))
    loss, (h, c) = model.loss(ids, targets)
    hidden, _ = model(ids)
    log_probs = model.log_probs(hidden)                                  # (2, 5, vocab)
    assert log_probs.shape == (2, 5, 10) and h.shape == c.shape == (1, 2, 16)
    assert torch.allclose(log_probs.exp().sum(dim=2), torch.ones(2, 5), atol=1e-5)
    expected = -log_probs.gather(2, targets.unsqueeze(2)).mean()
    assert torch.allclose(loss, expected, atol=1e-5)
    if cutoffs is not None:                              # torch's own forward gives the same loss
        torch_loss = model.decoder(hidden.reshape(10, 16), targets.reshape(10)).loss
        assert torch.allclose(loss, torch_loss, atol=1e-6)
    with pytest.raises(ValueError, match=r"targets must be token ids in 0..9, got 0..10"):
        model.loss(ids, torch.tensor([[0, 1, 2, 3, 10]] * 2))


def test_train_epoch_runs_in_bfloat16_autocast():
    model = tiny_model(num_layers=2, dropout=0.1)
    batches = lm_.lm_batches(torch.arange(2, 10).repeat(10), batch_size=4, steps=5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with training.using_precision("bf16"):
        result = lm_.train_epoch(model, batches, optimizer, torch.device("cpu"), max_batches=3)
        perplexity = lm_.evaluate_perplexity(model, batches, torch.device("cpu"))
    assert result["tokens"] == 3 * 4 * 5 and math.isfinite(result["loss"]) and math.isfinite(perplexity)


def test_the_model_rejects_bad_sizes_and_cutoffs():
    with pytest.raises(ValueError, match=r"cutoffs must be .*vocab_size - 1 = 9.*got \(2000, 10000\)"):
        lm_.LSTMLanguageModel(10, 8, 16)
    with pytest.raises(ValueError, match="cutoffs"):
        lm_.LSTMLanguageModel(10, 8, 16, cutoffs=(5, 3))
    with pytest.raises(TypeError, match="cutoffs"):
        lm_.LSTMLanguageModel(10, 8, 16, cutoffs=4)
    with pytest.raises(ValueError, match="hidden_dim must be at least 1"):
        lm_.LSTMLanguageModel(10, 8, 0, cutoffs=None)
    with pytest.raises(ValueError, match="dropout"):
        lm_.LSTMLanguageModel(10, 8, 16, dropout=1.0, cutoffs=None)
    with pytest.raises(ValueError, match=r"embeddings must have shape .* \(10, 8\)"):
        lm_.LSTMLanguageModel(10, 8, 16, cutoffs=None, embeddings=torch.zeros(10, 4))
    with pytest.raises(TypeError, match="ids must be a 2-D integer tensor"):
        tiny_model()(torch.rand(2, 3))
    with pytest.raises(ValueError, match="targets must have the shape of ids"):
        tiny_model().loss(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long))


def test_generate_rejects_bad_input_and_honours_exclude():
    model = tiny_model()
    with pytest.raises(ValueError, match="prompt_ids"):
        lm_.generate(model, [], 3)
    with pytest.raises(ValueError, match="temperature"):
        lm_.generate(model, [2], 3, temperature=-1)
    with pytest.raises(TypeError, match="model must be an LSTMLanguageModel"):
        lm_.generate(torch.nn.Linear(2, 2), [2], 3)
    drawn = lm_.generate(model, [2], 30, generator=torch.Generator().manual_seed(0), exclude=[0, 1])
    assert len(drawn) == 30 and not {0, 1} & set(drawn) and model.training


def test_embeddings_start_the_embedding():
    matrix = torch.randn(10, 8)
    model = lm_.LSTMLanguageModel(10, 8, 16, cutoffs=None, embeddings=matrix)
    assert torch.equal(model.embedding.weight, matrix) and model.embedding.weight.requires_grad


def classifier(hidden_dim=16, **options):
    return models.RecurrentClassifier(10, 8, hidden_dim, num_classes=2, cell="lstm", **options)


def test_transfer_encoder_copies_the_weights_and_a_saved_encoder_keeps_them(tmp_path):
    lm = tiny_model(num_layers=2)
    target = lm_.transfer_encoder(lm, classifier(num_layers=2, pooling="last+max+mean"))
    assert torch.equal(target.embedding.weight, lm.embedding.weight)
    for name, weight in lm.lstm.named_parameters():
        assert torch.equal(getattr(target.rnn, name), weight), name
    ids, lengths = torch.randint(2, 10, (3, 6)), torch.tensor([6, 2, 4])
    assert target(ids, lengths).shape == (3, 2)

    torch.save(lm.state_dict(), tmp_path / "lm.pt")
    reloaded = tiny_model(num_layers=2)
    torch.manual_seed(1)                                 # different starting weights
    reloaded.load_state_dict(torch.load(tmp_path / "lm.pt"))
    fresh = lm_.transfer_encoder(reloaded, classifier(num_layers=2))
    torch.save(fresh.state_dict(), tmp_path / "classifier.pt")
    again = classifier(num_layers=2)
    again.load_state_dict(torch.load(tmp_path / "classifier.pt"))
    assert torch.equal(again.embedding.weight, lm.embedding.weight)
    for name, weight in lm.lstm.named_parameters():
        assert torch.equal(getattr(again.rnn, name), weight), name


def test_transfer_encoder_names_the_mismatched_sizes():
    lm = tiny_model()
    with pytest.raises(ValueError, match=r"hidden_dim 16 \(language model\) vs 12 \(classifier\)"):
        lm_.transfer_encoder(lm, classifier(hidden_dim=12))
    with pytest.raises(ValueError, match="num_layers 1 .* vs 2"):
        lm_.transfer_encoder(lm, classifier(num_layers=2))
    with pytest.raises(ValueError, match="cell='lstm' and bidirectional=False"):
        lm_.transfer_encoder(lm, classifier(bidirectional=True))
    with pytest.raises(ValueError, match="cell='lstm'"):
        lm_.transfer_encoder(lm, models.RecurrentClassifier(10, 8, 16, cell="gru"))
    with pytest.raises(TypeError, match="classifier must be a textclf.models.RecurrentClassifier"):
        lm_.transfer_encoder(lm, torch.nn.Linear(2, 2))


def test_a_model_for_a_classifier_has_its_sizes_and_embedding_and_fits_it():
    torch.manual_seed(0)
    source = classifier(num_layers=2, embeddings=torch.randn(10, 8), pad_idx=1)
    torch.manual_seed(0)
    lm = lm_.LSTMLanguageModel.for_classifier(source, cutoffs=(4,), dropout=0.25)
    torch.manual_seed(0)
    direct = lm_.LSTMLanguageModel(10, 8, 16, 2, 0.25, (4,), embeddings=source.embedding.weight, pad_idx=1)
    for (name, weight), (_, expected) in zip(lm.state_dict().items(), direct.state_dict().items()):
        assert torch.equal(weight, expected), name             # same sizes, same seed: same numbers
    assert torch.equal(lm.embedding.weight, source.embedding.weight)
    assert lm.embedding.weight.data_ptr() != source.embedding.weight.data_ptr()   # a copy
    assert lm.embedding.padding_idx == 1 and lm.adaptive and lm.dropout.p == 0.25
    lm_.transfer_encoder(lm, classifier(num_layers=2))                      # fits: no error
    assert not lm_.LSTMLanguageModel.for_classifier(source, cutoffs=None).adaptive
    with pytest.raises(ValueError, match="cell='lstm' and bidirectional=False"):
        lm_.LSTMLanguageModel.for_classifier(classifier(bidirectional=True))
    with pytest.raises(TypeError, match="classifier must be a textclf.models.RecurrentClassifier"):
        lm_.LSTMLanguageModel.for_classifier(torch.nn.LSTM(8, 16))


def test_parameter_groups_give_each_part_its_rate_and_freeze_stops_training():
    model = classifier(pooling="last+max")
    groups = lm_.parameter_groups(model, {"embedding": 1e-4, "recurrent": 3e-4, "head": 1e-3})
    assert [(g["name"], g["lr"]) for g in groups] == [("embedding", 1e-4), ("recurrent", 3e-4), ("head", 1e-3)]
    grouped = [p for g in groups for p in g["params"]]
    assert len(grouped) == len(list(model.parameters())) == len({id(p) for p in grouped})
    assert groups[2]["params"] == list(model.head.parameters())

    optimizer = torch.optim.Adam(groups)
    lm_.freeze(model.embedding)
    lm_.freeze(model.rnn)
    before = model.embedding.weight.detach().clone(), model.head.weight.detach().clone()
    ids, lengths = torch.randint(2, 10, (3, 6)), torch.tensor([6, 2, 4])
    model(ids, lengths).sum().backward()
    optimizer.step()
    assert torch.equal(model.embedding.weight, before[0]) and not torch.equal(model.head.weight, before[1])
    assert lm_.freeze(model.embedding, frozen=False) is model.embedding and model.embedding.weight.requires_grad


def test_parameter_groups_and_freeze_reject_bad_input():
    with pytest.raises(ValueError, match=r"lrs must be a dict with exactly the keys"):
        lm_.parameter_groups(classifier(), {"embedding": 1e-4, "head": 1e-3})
    with pytest.raises(ValueError, match=r"lrs\['head'\] must be a finite number > 0"):
        lm_.parameter_groups(classifier(), {"embedding": 1e-4, "recurrent": 3e-4, "head": 0})
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        lm_.parameter_groups("model", {"embedding": 1e-4, "recurrent": 3e-4, "head": 1e-3})
    with pytest.raises(TypeError, match="frozen must be True or False"):
        lm_.freeze(classifier(), frozen="yes")
