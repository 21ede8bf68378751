import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from textclf import models


def test_last_real_step_equals_the_packed_final_state():
    torch.manual_seed(0)
    lstm = nn.LSTM(4, 3, batch_first=True)
    x, lengths = torch.randn(3, 6, 4), torch.tensor([6, 2, 4])
    output, _ = lstm(x)
    _, (h_n, _) = lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    assert torch.allclose(models.last_real_step(output, lengths), h_n[-1], atol=1e-6)


def test_last_real_step_rejects_bad_lengths():
    output = torch.zeros(2, 5, 3)
    with pytest.raises(ValueError, match="1..5"):
        models.last_real_step(output, torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="1..5"):
        models.last_real_step(output, torch.tensor([6, 5]))
    with pytest.raises(ValueError, match="lengths \\(batch,\\)"):
        models.last_real_step(output, torch.tensor([1, 2, 3]))


def test_reverse_within_length_keeps_padding_at_the_end_and_undoes_itself():
    x = torch.tensor([[1, 2, 3, 0], [4, 0, 0, 0], [5, 6, 7, 8]]).unsqueeze(2).float()
    lengths = torch.tensor([3, 1, 4])
    reversed_ = models.reverse_within_length(x, lengths)
    assert reversed_.squeeze(2).tolist() == [[3, 2, 1, 0], [4, 0, 0, 0], [8, 7, 6, 5]]
    assert torch.equal(models.reverse_within_length(reversed_, lengths), x)
    with pytest.raises(ValueError, match="1..4"):
        models.reverse_within_length(x, torch.tensor([0, 1, 4]))


def _batch(seed=0, vocab=50, lengths=(9, 1, 5, 1, 9, 3)):
    """Token ids padded with 0 at the end; rows of length 1 and of the full length included."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths)
    ids = torch.randint(2, vocab, (len(lengths), int(lengths.max())), generator=generator)
    ids[~models.real_steps_mask(lengths, ids.shape[1])] = 0
    return ids, lengths


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("pooling", models.POOLINGS)
def test_fast_reader_equals_the_packed_one(num_layers, pooling):
    torch.manual_seed(0)
    model = models.BiLSTMClassifier(50, 8, 6, num_classes=3, num_layers=num_layers,
                                    pooling=pooling).eval()
    ids, lengths = _batch()
    outputs = {}
    for reader in models.READERS:
        model.reader = reader
        x = model.embedding(ids)
        outputs[reader] = getattr(model, f"_read_{reader}")(x, lengths) + (model(ids, lengths),)
    (out_fast, final_fast, logits_fast), (out_packed, final_packed, logits_packed) = outputs.values()
    real = models.real_steps_mask(lengths, ids.shape[1])
    assert (out_fast[real] - out_packed[real]).abs().max() <= 1e-5
    assert (final_fast - final_packed).abs().max() <= 1e-5
    assert (logits_fast - logits_packed).abs().max() <= 1e-5


def test_fast_reader_matches_a_packed_nn_lstm_with_copied_weights_and_gradients():
    torch.manual_seed(1)
    lstm = nn.LSTM(8, 6, num_layers=2, bidirectional=True, batch_first=True)
    model = models.BiLSTMClassifier(50, 8, 6, num_layers=2, dropout=0.0)
    model.lstm.load_state_dict(lstm.state_dict())
    ids, lengths = _batch(seed=3)
    x = model.embedding(ids).detach()
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    _, (h_n, _) = lstm(packed)
    _, final = model._read_fast(x, lengths)
    assert (final - torch.cat([h_n[-2], h_n[-1]], dim=1)).abs().max() <= 1e-5
    final.sum().backward()
    torch.cat([h_n[-2], h_n[-1]], dim=1).sum().backward()
    for name, weight in lstm.named_parameters():
        assert (weight.grad - getattr(model.lstm, name).grad).abs().max() <= 1e-5, name


def test_padding_never_changes_a_prediction():
    torch.manual_seed(0)
    model = models.BiLSTMClassifier(50, 8, 6, pooling="final+max+mean").eval()
    ids, lengths = _batch()
    longer = torch.cat([ids, torch.zeros(len(ids), 4, dtype=torch.long)], dim=1)
    assert torch.allclose(model(ids, lengths), model(longer, lengths), atol=1e-6)


def test_bilstm_counts_parameters_like_the_formula_and_refuses_bad_settings():
    model = models.BiLSTMClassifier(25_002, 100, 256, num_layers=2)
    lstm = 2 * (4 * 256 * (100 + 256 + 2)) + 2 * (4 * 256 * (512 + 256 + 2))
    assert sum(p.numel() for p in model.parameters()) == 25_002 * 100 + lstm + 512 + 1 == 4_810_857
    with pytest.raises(ValueError, match="reader must be one of"):
        model.reader = "cudnn"
    with pytest.raises(ValueError, match="pooling must be one of"):
        models.BiLSTMClassifier(10, 4, 4, pooling="attention")
    with pytest.raises(ValueError, match="hidden_dim must be at least 1, got 0"):
        models.BiLSTMClassifier(10, 4, 0)


# --- RecurrentClassifier: the chapters' near-copies, rebuilt with the shared class ---------------
# Each reference class below is copied from its chapter (code and comments as committed), so that
# converting the chapter to models.RecurrentClassifier provably keeps its arithmetic.

from torch.nn.utils.rnn import pack_padded_sequence as _pack  # noqa: E402


class OldRecurrentClassifier(nn.Module):
    """models.RecurrentClassifier as chapters 2-5 used it before the pooling/packing options."""

    def __init__(self, vocab_size, embed_dim=100, hidden_dim=100, num_classes=1, cell="rnn",
                 num_layers=1, bidirectional=False, dropout=0.0, pad_idx=0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        self.rnn = models.CELLS[cell](embed_dim, hidden_dim, num_layers=num_layers, batch_first=True,
                                      bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear((2 if bidirectional else 1) * hidden_dim, num_classes)

    def forward(self, ids, lengths):
        lengths = lengths.cpu()
        ids = ids[:, : int(lengths.max())]
        x = self.embedding(ids)
        if self.rnn.bidirectional:
            packed = _pack(x, lengths, batch_first=True, enforce_sorted=False)
            _, state = self.rnn(packed)
            h_n = state[0] if isinstance(state, tuple) else state
            final = torch.cat([h_n[-2], h_n[-1]], dim=1)
        else:
            output, _ = self.rnn(x)
            final = models.last_real_step(output, lengths)
        return self.head(self.dropout(final))


class RNNClassifier(nn.Module):  # chapter 4, the lecture's model (stays in the chapter)
    def __init__(self, vocab_size, embed_dim, hidden_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.RNN(embed_dim, hidden_dim, batch_first=True)
        self.fc = nn.Linear(hidden_dim, 1)


class LastTokenRNN(RNNClassifier):  # chapter 4
    """The lecture's model, but classifying from the state at each review's last real
    token."""

    def forward(self, ids, lengths):
        embedded = self.embedding(ids)  # (batch, steps, embed_dim)
        output, _ = self.rnn(embedded)  # (batch, steps, hidden_dim)
        last = models.last_real_step(output, lengths)  # (batch, hidden_dim)
        return self.fc(last)                                               # (batch, 1)


class FixedLSTM(nn.Module):  # chapter 7 (EMBED, HIDDEN, CLASSES = 50, 75, 4)
    """The seed's one-layer classifier with a zero starting state, a real <pad> row and
    the head on each text's last real token."""

    def __init__(self, vocab_size, pad_idx, num_classes=4, embed_dim=50, hidden_dim=75):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.head = nn.Linear(hidden_dim, num_classes)

    def forward(self, ids, lengths):
        x = self.embedding(ids)                          # (batch, steps, embed_dim)
        output, _ = self.lstm(x)                   # zero start: (batch, steps, hidden)
        last = models.last_real_step(output, lengths)    # (batch, hidden_dim)
        return self.head(last)                           # (batch, num_classes)


class RatingLSTM(nn.Module):  # chapter 8
    """GloVe-initialised embeddings, an LSTM, and a head on the state at the last real
    token: five class scores (outputs=5) or one rating (outputs=1)."""

    def __init__(self, weights, hidden_dim=100, outputs=5, dropout=0.3):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(weights.clone(), freeze=False,
                                                      padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(weights.shape[1], hidden_dim, batch_first=True)
        self.head = nn.Linear(hidden_dim, outputs)

    def forward(self, ids, lengths):
        ids = ids[:, : int(lengths.max())]               # (batch, longest)
        x = self.dropout(self.embedding(ids))            # (batch, longest, embed_dim)
        output, _ = self.lstm(x)                         # (batch, longest, hidden_dim)
        last = models.last_real_step(output, lengths)    # (batch, hidden_dim)
        scores = self.head(self.dropout(last))           # (batch, outputs)
        return scores if scores.shape[1] > 1 else scores.squeeze(1)  # or (batch,)


class CharLSTM(nn.Module):  # chapter 9 (EMBED_DIM, HIDDEN_DIM, DROPOUT = 32, 128, 0.3)
    """Characters embedded, one LSTM, read at the last real character and max-pooled."""

    def __init__(self, vocab_size, embed_dim=32, hidden_dim=128, dropout=0.3):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden_dim, 1)

    def forward(self, ids, lengths):
        x = self.dropout(self.embedding(ids))          # (batch, steps, embed_dim)
        output, _ = self.lstm(x)                        # (batch, steps, hidden_dim)
        last = models.last_real_step(output, lengths)   # (batch, hidden_dim)
        real = models.real_steps_mask(lengths, output.shape[1]).unsqueeze(2)
        peak = output.masked_fill(~real, -torch.inf).amax(dim=1)  # (batch, hidden_dim)
        features = torch.cat([last, peak], dim=1)       # (batch, 2 * hidden_dim)
        return self.head(self.dropout(features))        # (batch, 1)


class LSTMClassifier(nn.Module):  # the appendix "Recurrent models fast on a CPU"
    """Embedding, one LSTM layer and a linear head; reads the state at each review's
    last real token."""

    def __init__(self, vocab_size, embed_dim=100, hidden_dim=128, pack=False, pad_idx=0):
        super().__init__()
        self.pack = pack
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.head = nn.Linear(hidden_dim, 1)

    def forward(self, ids, lengths):
        x = self.embedding(ids)  # (batch, steps, embed_dim)
        if self.pack:
            packed = _pack(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            _, (h_n, _) = self.lstm(packed)  # h_n: (1, batch, hidden_dim)
            last = h_n[-1]  # (batch, hidden_dim)
        else:
            output, _ = self.lstm(x)  # (batch, steps, hidden_dim)
            last = models.last_real_step(output, lengths)  # (batch, hidden_dim)
        return self.head(last).squeeze(1)  # (batch,)


def _built(build, seed=0):
    torch.manual_seed(seed)
    return build()


def _same_weights(a, b):
    """Equal parameter values, in the same creation order (names may differ: lstm vs rnn, fc vs head)."""
    pa, pb = list(a.parameters()), list(b.parameters())
    return len(pa) == len(pb) and all(x.shape == y.shape and torch.equal(x, y) for x, y in zip(pa, pb))


def _outputs(model, ids, lengths, seed=1, train=True):
    """The model's output in training mode (dropout drawn from ``seed``) or eval mode."""
    model.train(train)
    torch.manual_seed(seed)
    return model(ids, lengths)


FULL_WIDTH = (9, 1, 5, 1, 9, 3)  # the longest row fills the batch, as a data loader pads


@pytest.mark.parametrize("build_old,build_new", [
    # chapter 2: the IMDb RNN and the lecture's assignment 5
    (lambda: OldRecurrentClassifier(50, 100, 256, 1, cell="rnn"),
     lambda: models.RecurrentClassifier(50, 100, 256, 1, cell="rnn")),
    (lambda: OldRecurrentClassifier(50, 100, 256, 1, cell="lstm", num_layers=2, bidirectional=True),
     lambda: models.RecurrentClassifier(50, 100, 256, 1, cell="lstm", num_layers=2, bidirectional=True)),
    # chapter 4's ablation and chapter 5's contestants (with uniform embeddings)
    (lambda: OldRecurrentClassifier(50, 100, 100, cell="rnn"),
     lambda: models.RecurrentClassifier(50, 100, 100, cell="rnn")),
    (lambda: models.uniform_embeddings(OldRecurrentClassifier(50, cell="rnn", dropout=0.3), 0.05),
     lambda: models.uniform_embeddings(models.RecurrentClassifier(50, cell="rnn", dropout=0.3), 0.05)),
    (lambda: models.uniform_embeddings(OldRecurrentClassifier(50, cell="lstm", dropout=0.3), 0.05),
     lambda: models.uniform_embeddings(models.RecurrentClassifier(50, cell="lstm", dropout=0.3), 0.05)),
    (lambda: OldRecurrentClassifier(50, cell="lstm"), lambda: models.RecurrentClassifier(50, cell="lstm")),
])
def test_recurrent_classifier_is_bit_identical_to_the_class_chapters_2_to_5_used(build_old, build_new):
    old, new = _built(build_old), _built(build_new)
    assert repr(old).replace("OldRecurrentClassifier", "RecurrentClassifier") == repr(new)
    assert list(old.state_dict()) == list(new.state_dict())
    assert _same_weights(old, new)
    ids, lengths = _batch(lengths=(9, 1, 5, 1, 7, 3))  # one all-padding column: cut by both
    for train in (True, False):
        assert torch.equal(_outputs(old, ids, lengths, train=train), _outputs(new, ids, lengths, train=train))


def test_last_token_rnn_of_chapter_4_is_a_recurrent_classifier_without_padding_row():
    old = _built(lambda: LastTokenRNN(50, 100, 256))
    new = _built(lambda: models.RecurrentClassifier(50, 100, 256, 1, cell="rnn", pad_idx=None))
    assert _same_weights(old, new)  # same draws: embedding, RNN, head, in that order
    ids, lengths = _batch(lengths=FULL_WIDTH)
    for train in (True, False):
        assert torch.equal(_outputs(old, ids, lengths, train=train), _outputs(new, ids, lengths, train=train))


def test_fixed_lstm_of_chapter_7():
    old = _built(lambda: FixedLSTM(50, pad_idx=0))
    new = _built(lambda: models.RecurrentClassifier(50, 50, 75, 4, cell="lstm", pad_idx=0))
    assert _same_weights(old, new)
    ids, lengths = _batch(lengths=FULL_WIDTH)
    for train in (True, False):
        assert torch.equal(_outputs(old, ids, lengths, train=train), _outputs(new, ids, lengths, train=train))


@pytest.mark.parametrize("outputs", [5, 1])
def test_rating_lstm_of_chapter_8_including_its_two_dropouts(outputs):
    weights = torch.randn(50, 12, generator=torch.Generator().manual_seed(5))
    weights[0] = 0.0
    old = _built(lambda: RatingLSTM(weights, outputs=outputs))
    new = _built(lambda: models.RecurrentClassifier(50, 12, 100, outputs, cell="lstm", dropout=0.3,
                                                    embed_dropout=0.3, embeddings=weights))
    assert _same_weights(old, new)
    assert new.embedding.weight.requires_grad and new.embedding.weight.data_ptr() != weights.data_ptr()
    ids, lengths = _batch(lengths=(9, 1, 5, 1, 7, 3))  # RatingLSTM cuts all-padding columns too
    for train in (True, False):
        expected = _outputs(old, ids, lengths, train=train)
        assert torch.equal(expected.reshape(len(ids), -1), _outputs(new, ids, lengths, train=train))


def test_char_lstm_of_chapter_9_reads_the_last_and_the_largest_output():
    old = _built(lambda: CharLSTM(50))
    new = _built(lambda: models.RecurrentClassifier(50, 32, 128, 1, cell="lstm", dropout=0.3,
                                                    embed_dropout=0.3, pooling="last+max"))
    assert _same_weights(old, new)
    ids, lengths = _batch(lengths=FULL_WIDTH)
    for train in (True, False):
        assert torch.equal(_outputs(old, ids, lengths, train=train), _outputs(new, ids, lengths, train=train))


@pytest.mark.parametrize("pack", [False, True])
def test_lstm_classifier_of_the_appendix_padded_or_packed(pack):
    old = _built(lambda: LSTMClassifier(50, pack=pack))
    new = _built(lambda: models.RecurrentClassifier(50, 100, 128, 1, cell="lstm", pack=pack))
    assert _same_weights(old, new)
    ids, lengths = _batch(lengths=FULL_WIDTH)
    # the appendix copies one state dict into every variant; its keys say lstm where ours say rnn
    renamed = {k.replace("lstm.", "rnn."): v for k, v in old.state_dict().items()}
    new.load_state_dict(renamed)
    assert torch.equal(_outputs(old, ids, lengths, train=False), _outputs(new, ids, lengths, train=False).squeeze(1))


def test_one_direction_packed_or_padded_and_every_pooling_agree():
    ids, lengths = _batch(lengths=FULL_WIDTH)
    for pooling in ["last", "max", "mean", "last+max", "last+max+mean", "mean+last"]:
        padded = _built(lambda: models.RecurrentClassifier(50, 8, 6, 3, cell="lstm", pooling=pooling)).eval()
        packed = _built(lambda: models.RecurrentClassifier(50, 8, 6, 3, cell="lstm", pooling=pooling,
                                                           pack=True)).eval()
        assert padded.head.in_features == 6 * len(pooling.split("+"))
        assert (padded(ids, lengths) - packed(ids, lengths)).abs().max() <= 1e-5, pooling
        longer = torch.cat([ids, torch.zeros(len(ids), 4, dtype=torch.long)], dim=1)
        assert torch.allclose(padded(ids, lengths), padded(longer, lengths), atol=1e-6)


@pytest.mark.parametrize("pooling", ["max", "last+max+mean"])
def test_bidirectional_pooling_ignores_padding(pooling):
    model = _built(lambda: models.RecurrentClassifier(50, 8, 6, 2, cell="gru", num_layers=2,
                                                      bidirectional=True, pooling=pooling)).eval()
    assert model.head.in_features == 2 * 6 * len(pooling.split("+"))
    ids, lengths = _batch(lengths=FULL_WIDTH)
    together = model(ids, lengths)
    alone = torch.cat([model(ids[i:i + 1, :n], lengths[i:i + 1]) for i, n in enumerate(lengths.tolist())])
    assert torch.allclose(together, alone, atol=1e-5)


def test_recurrent_classifier_embeddings_frozen_or_not_and_bad_settings():
    weights = torch.randn(20, 4)
    frozen = models.RecurrentClassifier(20, 4, 3, embeddings=weights, freeze_embeddings=True)
    assert not frozen.embedding.weight.requires_grad and torch.equal(frozen.embedding.weight, weights)
    assert "embed_dropout" not in dict(frozen.named_children())
    assert "embed_dropout" in dict(models.RecurrentClassifier(20, 4, 3, embed_dropout=0.2).named_children())
    for kwargs, error, message in [
        ({"pooling": "attention"}, ValueError, "pooling must be one or more of"),
        ({"pooling": "last+last"}, ValueError, "pooling must be one or more of"),
        ({"pooling": ["last"]}, TypeError, "pooling must be a str"),
        ({"embed_dropout": 1.0}, ValueError, r"embed_dropout must be a number in \[0, 1\)"),
        ({"pack": "yes"}, TypeError, "pack must be True or False"),
        ({"embeddings": torch.randn(19, 4)}, ValueError, r"shape \(vocab_size, embed_dim\) = \(20, 4\)"),
        ({"embeddings": torch.ones(20, 4, dtype=torch.long)}, TypeError, "embeddings must be a float tensor"),
    ]:
        with pytest.raises(error, match=message):
            models.RecurrentClassifier(20, 4, 3, **kwargs)
