import numpy as np
import torch
from lime.lime_text import LimeTextExplainer
from torch import nn

from textclf import explain, text


class BagOfWords(nn.Module):
    """Positive when 'good' appears: a model whose explanation we know."""

    def __init__(self, vocab):
        super().__init__()
        self.good = vocab["good"]

    def forward(self, ids, lengths):
        assert (lengths >= 1).all() and ids.shape[1] >= 1
        return ((ids == self.good).float().sum(dim=1) * 4.0 - 2.0).unsqueeze(1)  # (batch, 1)


def test_classifier_fn_handles_empty_texts_and_batches():
    vocab = text.build_vocab([["good", "film", "bad"]])
    predict = explain.classifier_fn(BagOfWords(vocab), text.basic_english, vocab, torch.device("cpu"), batch_size=2)
    probabilities = predict(["good film", "", "bad film", "  ", "good", "\"\""])
    assert probabilities.shape == (6, 2)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert probabilities[0, 1] > 0.5 and probabilities[2, 1] < 0.5 and probabilities[1, 1] < 0.5


def test_lime_finds_the_word_and_renders_small_html():
    vocab = text.build_vocab([["good", "film", "bad", "plot"]])
    predict = explain.classifier_fn(BagOfWords(vocab), text.basic_english, vocab, torch.device("cpu"))
    explanation = LimeTextExplainer(random_state=0).explain_instance("good film bad plot", predict, num_samples=200)
    assert explanation.as_list(label=1)[0][0] == "good"
    html = explain.explanation_html(explanation, label=1, label_names=["negative", "positive"]).data
    assert "good" in html and "positive" in html and len(html) < 5_000
