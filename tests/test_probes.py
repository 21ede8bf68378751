import pytest
import torch
from torch import nn

from textclf import models, probes


def test_gradient_per_step_matches_autograd_by_hand():
    torch.manual_seed(0)
    rnn, head = nn.RNN(3, 4, batch_first=True), nn.Linear(4, 1)
    x = torch.randn(2, 5, 3)

    def read(inputs):
        output, _ = rnn(inputs)                                      # (2, 5, 4)
        return head(output[:, -1])

    y = x.clone().requires_grad_(True)
    read(y).sum().backward()
    assert torch.allclose(probes.gradient_per_step(read, x), y.grad.norm(dim=2).mean(0))
    assert torch.allclose(probes.gradient_per_step(read, x, reduce="max"),
                          y.grad.abs().amax(dim=2).mean(0))
    assert x.grad is None  # the caller's tensor is left alone


def test_gradient_per_step_is_zero_after_the_step_a_causal_reader_reads():
    torch.manual_seed(0)
    rnn = nn.LSTM(3, 4, batch_first=True)
    gradient = probes.gradient_per_step(lambda x: rnn(x)[0][:, 2], torch.randn(2, 6, 3))
    assert gradient.shape == (6,)
    assert (gradient[:3] > 0).all() and (gradient[3:] == 0).all()


def test_gradient_per_step_rejects_bad_input():
    with pytest.raises(ValueError, match="reduce must be one of"):
        probes.gradient_per_step(lambda x: x, torch.zeros(1, 2, 3), reduce="mean")
    with pytest.raises(ValueError, match="batch, steps, features"):
        probes.gradient_per_step(lambda x: x, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="no gradient"):
        probes.gradient_per_step(lambda x: torch.ones(1, requires_grad=True),
                                 torch.zeros(1, 2, 3))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_recurrent_classifier_reads_the_last_real_token(cell):
    torch.manual_seed(0)
    model = models.RecurrentClassifier(20, 6, 5, cell=cell, num_layers=2)
    ids = torch.tensor([[3, 4, 5, 0, 0], [6, 7, 8, 9, 2]])
    lengths = torch.tensor([3, 5])
    together = model(ids, lengths)                                   # (2, 1)
    alone = torch.cat([model(ids[i:i + 1, :n], lengths[i:i + 1]) for i, n in enumerate([3, 5])])
    assert together.shape == (2, 1)
    assert torch.allclose(together, alone, atol=1e-6)


def test_recurrent_classifier_bidirectional_ignores_padding():
    torch.manual_seed(0)
    model = models.RecurrentClassifier(20, 6, 5, num_classes=3, cell="lstm",
                                       bidirectional=True)
    ids = torch.tensor([[3, 4, 0, 0], [6, 7, 8, 9]])
    lengths = torch.tensor([2, 4])
    padded = model(ids, lengths)
    assert padded.shape == (2, 3)
    assert torch.allclose(padded[:1], model(ids[:1, :2], lengths[:1]), atol=1e-6)


def test_recurrent_classifier_parameter_count_and_errors():
    model = models.RecurrentClassifier(25_002, 100, 256)
    assert sum(p.numel() for p in model.parameters()) == (
        25_002 * 100 + 256 * (100 + 256 + 2) + 256 + 1)
    with pytest.raises(ValueError, match="cell must be one of"):
        models.RecurrentClassifier(10, 4, 4, cell="transformer")
    with pytest.raises(ValueError, match="dropout"):
        models.RecurrentClassifier(10, 4, 4, dropout=1.0)


def test_uniform_embeddings_keeps_the_padding_row_at_zero():
    torch.manual_seed(0)
    model = models.uniform_embeddings(models.RecurrentClassifier(30, 8, 4), 0.05)
    weight = model.embedding.weight
    assert weight[0].abs().sum() == 0
    assert weight.abs().max() <= 0.05 and weight[1:].abs().min() > 0
    with pytest.raises(ValueError, match="scale"):
        models.uniform_embeddings(model, 0)
