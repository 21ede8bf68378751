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
