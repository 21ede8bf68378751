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
