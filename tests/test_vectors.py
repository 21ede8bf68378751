import numpy as np
import pytest
import torch

from textclf import text, vectors


def test_embedding_matrix_copies_vectors_and_reports_coverage():
    pretrained = vectors.WordVectors(["the", "cat"], np.array([[1, 2], [3, 4]], dtype=np.float32))
    vocab = text.Vocab(["<pad>", "<unk>", "the", "Cat", "zebra"])
    weights, coverage = vectors.embedding_matrix(vocab, pretrained)
    assert weights.shape == (5, 2)
    assert torch.equal(weights[0], torch.zeros(2))  # <pad>
    assert torch.equal(weights[2], torch.tensor([1.0, 2.0]))
    assert torch.equal(weights[3], torch.tensor([3.0, 4.0]))  # found through its lower-case form
    assert (coverage.found, coverage.total, coverage.missing_examples) == (2, 3, ["zebra"])
    assert abs(coverage.fraction - 2 / 3) < 1e-9


def test_embedding_matrix_can_look_tokens_up_as_torchtext_does():
    glove = vectors.WordVectors(["the", "movie"], np.ones((2, 3), dtype=np.float32))
    vocab = text.Vocab(["<pad>", "<unk>", "The", "movie", "zzz"])
    _, lenient = vectors.embedding_matrix(vocab, glove)
    weights, exact = vectors.embedding_matrix(vocab, glove, lowercase_fallback=False, unknown_std=1.0)
    assert (lenient.found, exact.found) == (2, 1) and exact.missing_examples == ["The", "zzz"]
    assert weights[0].abs().sum() == 0 and torch.equal(weights[3], torch.ones(3))
    with pytest.raises(ValueError, match="unknown_std"):
        vectors.embedding_matrix(vocab, glove, unknown_std=-1.0)
