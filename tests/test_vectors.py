import numpy as np
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
