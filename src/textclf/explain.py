"""LIME for the book's models: a batched ``classifier_fn`` and a light rendering of an explanation."""

from __future__ import annotations

import html
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from .checks import check_int
from .metrics import check_label_names
from .text import Tokenizer, Vocab, collate
from .training import logits_to_probabilities


def classifier_fn(model: nn.Module, tokenize: Tokenizer, vocab: Vocab, device: torch.device,
                  batch_size: int = 256, max_length: int | None = None):
    """A function LIME can call: list of texts -> probabilities ``(n, classes)``.

    LIME deletes words at random, so some perturbed texts are empty (or lose every token); those
    become a single ``<pad>`` step (length 1), the model's "no evidence" input, instead of crashing.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(tokenize):
        raise TypeError(f"tokenize must be a tokenizer function (text.tokenizer(name)), got {type(tokenize).__name__}")
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a textclf.text.Vocab, got {type(vocab).__name__}")
    batch_size = check_int(batch_size, "batch_size", 1)
    max_length = check_int(max_length, "max_length", 1, allow_none=True)

    def _encode_or_pad(text: str) -> torch.Tensor:
        ids = vocab.encode(tokenize(text)[:max_length]) if text.strip() else []
        return torch.tensor(ids or [vocab.pad_index], dtype=torch.long)

    @torch.no_grad()
    def probabilities(texts: list[str]) -> np.ndarray:
        if isinstance(texts, (str, bytes)) or not isinstance(texts, Iterable):
            raise TypeError(f"the classifier function takes a list of texts, got {type(texts).__name__}: {texts!r:.40}")
        texts = list(texts)
        odd = [t for t in texts if not isinstance(t, str)]
        if odd:
            raise TypeError(f"the classifier function takes texts (str), got {type(odd[0]).__name__}: {odd[0]!r:.40}")
        if not texts:
            raise ValueError("the classifier function got an empty list of texts")
        model.eval().to(device)
        out = []
        for start in range(0, len(texts), batch_size):
            batch = [(_encode_or_pad(t), torch.tensor(0)) for t in texts[start : start + batch_size]]
            ids, lengths, _ = collate(batch, pad_index=vocab.pad_index)
            out.append(logits_to_probabilities(model(ids.to(device), lengths)).cpu())
        return torch.cat(out).numpy()

    return probabilities


def explanation_html(explanation, label: int, label_names=None, top: int = 10):
    """A small HTML table of the words that pushed the prediction towards or away from ``label``.

    A few kB per example, instead of the 1.2 MB page of LIME's ``show_in_notebook``.
    """
    from IPython.display import HTML

    label, top = check_int(label, "label", 0), check_int(top, "top", 1)
    label_names = None if label_names is None else check_label_names(label_names)
    if label_names is not None and label >= len(label_names):
        raise ValueError(f"label {label} has no name: label_names has {len(label_names)} names")
    try:
        weights = explanation.as_list(label=label)[:top]
    except KeyError as err:
        raise ValueError(f"the explanation has no weights for label {label}; ask explain_instance for it "
                         f"(labels=({label},) or top_labels)") from err
    peak = max((abs(w) for _, w in weights), default=1.0) or 1.0
    name = label_names[label] if label_names is not None else str(label)
    rows = []
    for word, weight in weights:
        colour = "#2a7ab9" if weight > 0 else "#d9534f"
        bar = f'<div style="background:{colour};height:0.8em;width:{100 * abs(weight) / peak:.0f}px"></div>'
        rows.append(f"<tr><td><code>{html.escape(word)}</code></td><td>{weight:+.3f}</td><td>{bar}</td></tr>")
    return HTML(
        f"<table><caption>words for (+) and against (&minus;) <b>{html.escape(name)}</b></caption>"
        f"<tr><th>word</th><th>weight</th><th></th></tr>{''.join(rows)}</table>"
    )
