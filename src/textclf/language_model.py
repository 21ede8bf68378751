"""A word-level LSTM language model whose embedding and LSTM transfer into the book's classifier.

The model reads one long stream of token ids (the training reviews joined by a separator) in
fixed windows, carrying its LSTM state from one window to the next but cutting the gradient
there (truncated backpropagation through time). Its embedding and LSTM have the shapes of a
one-direction :class:`textclf.models.RecurrentClassifier` with ``cell="lstm"``, so that
:func:`transfer_encoder` can start a classifier from them.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import settings, training
from .checks import check_int, check_real
from .models import RecurrentClassifier, _check_embeddings, _check_integer_tensor, _check_sizes

LSTMState = tuple[torch.Tensor, torch.Tensor]


def _document_ids(ids: object, number: int) -> torch.Tensor:
    """Document ``number`` of ``id_lists`` as a 1-D LongTensor, or a TypeError saying what it is."""
    if isinstance(ids, torch.Tensor):
        array = ids
        integer = ids.dtype != torch.bool and not ids.is_floating_point() and not ids.is_complex()
    elif isinstance(ids, (Sequence, np.ndarray)) and not isinstance(ids, (str, bytes)):
        array = np.asarray(ids)
        integer = np.issubdtype(array.dtype, np.integer) or array.size == 0
    else:
        raise TypeError(f"id_lists[{number}] must be a list or 1-D tensor of token ids, got {type(ids).__name__}")
    if array.ndim != 1 or not integer:
        raise TypeError(f"id_lists[{number}] must be 1-D integer token ids, got shape {tuple(array.shape)} "
                        f"of {array.dtype}")
    return torch.as_tensor(array, dtype=torch.long)


def token_stream(id_lists: Iterable, separator_id: int) -> torch.Tensor:
    """Every document's ids, one after another with ``separator_id`` between two documents: a 1-D
    LongTensor. An empty document adds nothing (no double separator)."""
    separator_id = check_int(separator_id, "separator_id", 0)
    if isinstance(id_lists, (str, bytes, torch.Tensor)) or not isinstance(id_lists, Iterable):
        raise TypeError(f"id_lists must be a list of documents' token ids, got {type(id_lists).__name__}")
    separator, pieces = torch.tensor([separator_id]), []
    for number, ids in enumerate(id_lists):
        document = _document_ids(ids, number)
        if len(document) == 0:
            continue
        if pieces:
            pieces.append(separator)
        pieces.append(document)
    if not pieces:
        raise ValueError("id_lists holds no token ids: a language model needs a non-empty stream")
    stream = torch.cat(pieces)                                       # (tokens,)
    if int(stream.min()) < 0:
        raise ValueError(f"token ids must be non-negative, got {int(stream.min())}")
    return stream


def lm_batches(stream: torch.Tensor, batch_size: int, steps: int,
               drop_last: bool = False) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The stream cut into ``batch_size`` rows, each a contiguous stretch of it, read in windows of
    ``steps`` columns: a list of ``(inputs, targets)``, both ``(batch_size, window)``.

    ``targets`` are ``inputs`` shifted one token on, so row ``b`` of one window continues row ``b``
    of the previous one (the LSTM state can be carried over). The ``len(stream) % batch_size`` last
    tokens are left out; the last window is shorter than ``steps`` when the rows do not divide
    evenly, and is dropped if ``drop_last``. The windows are views of the stream (no copy), and a
    list, so it can be read again every epoch.
    """
    _check_integer_tensor(stream, "stream", "a 1-D integer tensor of token ids (token_stream makes one)",
                          "lm_batches", dims=1)
    batch_size, steps = check_int(batch_size, "batch_size", 1), check_int(steps, "steps", 1)
    if not isinstance(drop_last, bool):
        raise TypeError(f"drop_last must be True or False, got {drop_last!r:.40}")
    columns = len(stream) // batch_size
    if columns < 2:
        raise ValueError(f"a stream of {len(stream)} tokens is too short for batch_size {batch_size}: "
                         f"each row needs at least 2 tokens (an input and its target)")
    data = stream[: columns * batch_size].view(batch_size, columns)  # (batch, columns)
    windows = []
    for start in range(0, columns - 1, steps):
        length = min(steps, columns - 1 - start)
        if drop_last and length < steps:
            break
        windows.append((data[:, start:start + length],               # (batch, length)
                        data[:, start + 1:start + 1 + length]))      # (batch, length), one token on
    if not windows:
        raise ValueError(f"drop_last leaves no window: each row has {columns - 1} targets, fewer than "
                         f"steps={steps}; use smaller steps or batch_size, or drop_last=False")
    return windows


def _check_cutoffs(cutoffs: object, vocab_size: int) -> list[int] | None:
    """``cutoffs`` as a list of increasing ints in 1..vocab_size - 1, or None (full softmax)."""
    if cutoffs is None:
        return None
    accepted = (f"None (a full softmax) or increasing ints between 1 and vocab_size - 1 = {vocab_size - 1}, "
                f"such as (2000, 10000)")
    if isinstance(cutoffs, (str, bytes)) or not isinstance(cutoffs, Sequence) or not cutoffs:
        raise TypeError(f"cutoffs must be {accepted}, got {cutoffs!r:.60}")
    if any(isinstance(c, bool) or not isinstance(c, numbers.Integral) for c in cutoffs):
        raise TypeError(f"cutoffs must be {accepted}, got {cutoffs!r:.60}")
    values = [int(c) for c in cutoffs]
    if values != sorted(set(values)) or values[0] < 1 or values[-1] >= vocab_size:
        raise ValueError(f"cutoffs must be {accepted}, got {tuple(values)}")
    return values


class LSTMLanguageModel(nn.Module):
    """Embedding, a one-direction LSTM and a softmax over the vocabulary that predicts each next token.

    With ``cutoffs`` the softmax is adaptive (``nn.AdaptiveLogSoftmaxWithLoss``): the tokens below
    the first cutoff (the most frequent, as a frequency-sorted vocabulary puts them first) get a
    full softmax, the rarer ones share smaller clusters, which is much cheaper on a large vocabulary.
    ``cutoffs=None`` gives the full softmax (one ``nn.Linear`` to every token). ``embeddings``
    starts the embedding from a ``(vocab_size, embed_dim)`` matrix, e.g. GloVe.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_layers: int = 1,
                 dropout: float = 0.0, cutoffs: Sequence[int] | None = (2000, 10000), *,
                 embeddings: torch.Tensor | None = None, pad_idx: int | None = 0, div_value: float = 4.0):
        super().__init__()
        _check_sizes(vocab_size=vocab_size, embed_dim=embed_dim, hidden_dim=hidden_dim, num_layers=num_layers)
        check_real(dropout, "dropout", 0, 1, high_open=True)
        cutoffs = _check_cutoffs(cutoffs, vocab_size)
        if embeddings is None:
            self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        else:
            _check_embeddings(embeddings, vocab_size, embed_dim)
            self.embedding = nn.Embedding.from_pretrained(embeddings.detach().clone().float(), freeze=False,
                                                          padding_idx=pad_idx)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        if cutoffs is None:
            self.decoder = nn.Linear(hidden_dim, vocab_size)
        else:
            self.decoder = nn.AdaptiveLogSoftmaxWithLoss(hidden_dim, vocab_size, cutoffs, div_value=div_value)

    @classmethod
    def for_classifier(cls, classifier: RecurrentClassifier, cutoffs: Sequence[int] | None = (2000, 10000),
                       dropout: float = 0.0) -> LSTMLanguageModel:
        """A language model with ``classifier``'s vocabulary, embedding (its current weights, e.g. GloVe),
        hidden size, layers and padding index: one :func:`transfer_encoder` can start that classifier from."""
        rnn = _one_direction_lstm(classifier)
        embedding = classifier.embedding
        return cls(embedding.num_embeddings, embedding.embedding_dim, rnn.hidden_size, rnn.num_layers, dropout,
                   cutoffs, embeddings=embedding.weight, pad_idx=embedding.padding_idx)

    @property
    def adaptive(self) -> bool:
        """True if the output layer is the adaptive softmax, False for the full one."""
        return isinstance(self.decoder, nn.AdaptiveLogSoftmaxWithLoss)

    def forward(self, ids: torch.Tensor, state: LSTMState | None = None) -> tuple[torch.Tensor, LSTMState]:
        """The LSTM's top-layer outputs for every position and its final state (to pass on)."""
        _check_integer_tensor(ids, "ids", "a 2-D integer tensor (batch, steps) of token ids",
                              "LSTMLanguageModel", dims=2)
        x = self.dropout(self.embedding(ids))            # (batch, steps, embed_dim)
        output, state = self.lstm(x, state)              # (batch, steps, hidden); h, c: (layers, batch, hidden)
        return self.dropout(output), state

    def loss(self, ids: torch.Tensor, targets: torch.Tensor,
             state: LSTMState | None = None) -> tuple[torch.Tensor, LSTMState]:
        """The mean negative log-likelihood of ``targets`` (batch, steps) after ``ids``, and the state."""
        _check_integer_tensor(targets, "targets", "a 2-D integer tensor (batch, steps) of token ids",
                              "LSTMLanguageModel.loss", dims=2)
        if targets.shape != ids.shape:
            raise ValueError(f"targets must have the shape of ids {tuple(ids.shape)}, got {tuple(targets.shape)}")
        vocab_size = self.embedding.num_embeddings
        if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= vocab_size):
            raise ValueError(f"targets must be token ids in 0..{vocab_size - 1}, "
                             f"got {int(targets.min())}..{int(targets.max())}")
        hidden, state = self(ids, state)                 # (batch, steps, hidden)
        flat = hidden.reshape(-1, hidden.shape[-1])      # (batch * steps, hidden)
        if self.adaptive:
            nll = _adaptive_nll(self.decoder, flat, targets.reshape(-1)).mean()
        else:
            logits = self.decoder(flat).float()          # (batch * steps, vocab)
            nll = F.cross_entropy(logits, targets.reshape(-1))
        return nll, state

    def log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of every next token, in float32: ``(..., hidden)`` -> ``(..., vocab_size)``."""
        flat = hidden.reshape(-1, hidden.shape[-1]).float()  # (positions, hidden)
        with torch.autocast(flat.device.type, enabled=False):
            if self.adaptive:
                out = self.decoder.log_prob(flat)
            else:
                out = F.log_softmax(self.decoder(flat), dim=-1)
        return out.reshape(*hidden.shape[:-1], -1)       # (..., vocab)


def _adaptive_nll(decoder: nn.AdaptiveLogSoftmaxWithLoss, hidden: torch.Tensor,
                  targets: torch.Tensor) -> torch.Tensor:
    """``-log p(target)`` per position, as ``decoder(hidden, targets)`` computes it, but with the
    softmaxes in float32: torch's own forward fails under CPU bfloat16 autocast (mixed dtypes).

    hidden: (positions, hidden), targets: (positions,) -> (positions,).
    """
    head = F.log_softmax(decoder.head(hidden).float(), dim=1)  # (positions, shortlist + clusters)
    column = targets.clone()                                   # the head's column of each target
    within = torch.zeros(len(targets), device=hidden.device)   # log p(target | its cluster)
    for i, (low, high) in enumerate(zip(decoder.cutoffs[:-1], decoder.cutoffs[1:])):
        rows = ((targets >= low) & (targets < high)).nonzero().squeeze(1)
        if rows.numel() == 0:
            continue
        column[rows] = decoder.shortlist_size + i
        cluster = F.log_softmax(decoder.tail[i](hidden[rows]).float(), dim=1)  # (rows, cluster size)
        within[rows] = cluster.gather(1, (targets[rows] - low).unsqueeze(1)).squeeze(1)
    return -(head.gather(1, column.unsqueeze(1)).squeeze(1) + within)


def _check_model(model: object, caller: str) -> None:
    if not isinstance(model, LSTMLanguageModel):
        raise TypeError(f"{caller}: model must be an LSTMLanguageModel, got {type(model).__name__}")


def _windows(batches: Iterable, max_batches: int | None, desc: str, progress: bool) -> Iterator:
    """At most ``max_batches`` of ``batches`` (quick mode: at most training.QUICK_BATCHES)."""
    max_batches = check_int(max_batches, "max_batches", 1, allow_none=True)
    if max_batches is None and settings.quick_mode():
        max_batches = training.QUICK_BATCHES
    return training._batches(batches, max_batches, desc, progress)


def _carried(state: LSTMState | None, rows: int) -> LSTMState | None:
    """The previous window's state, detached (its values go on, its gradient stops); None when the
    number of rows changed."""
    if state is None or state[0].shape[1] != rows:
        return None
    return tuple(s.detach() for s in state)


def train_epoch(model: LSTMLanguageModel, batches: Iterable, optimizer: torch.optim.Optimizer,
                device: torch.device, clip_norm: float | None = 0.25, max_batches: int | None = None,
                progress: bool = False) -> dict:
    """One pass over ``batches`` (from :func:`lm_batches`, in order) with the state carried across
    windows, in the precision of ``training.setup``. Returns the mean loss per token, the tokens
    read, the seconds and tokens per second. Quick mode reads at most ``training.QUICK_BATCHES``."""
    _check_model(model, "train_epoch")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    check_real(clip_norm, "clip_norm", 0, low_open=True, allow_none=True)
    model.train()
    state, total, tokens = None, 0.0, 0
    start = time.perf_counter()
    for ids, targets in _windows(batches, max_batches, "language model", progress):
        ids, targets = ids.to(device), targets.to(device)
        with training.autocast(device):
            loss, state = model.loss(ids, targets, _carried(state, ids.shape[0]))
        optimizer.zero_grad()
        loss.backward()
        if clip_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        total += loss.item() * targets.numel()
        tokens += targets.numel()
    seconds = time.perf_counter() - start
    if tokens == 0:
        raise ValueError("batches yielded no windows; lm_batches makes them")
    return {"loss": total / tokens, "tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds}


@torch.no_grad()
def evaluate_perplexity(model: LSTMLanguageModel, batches: Iterable, device: torch.device,
                        max_batches: int | None = None) -> float:
    """``exp`` of the mean negative log-likelihood per token over ``batches``, the state carried
    across windows: the number of equally likely tokens the model is as unsure as."""
    _check_model(model, "evaluate_perplexity")
    model.eval()
    state, total, tokens = None, 0.0, 0
    for ids, targets in _windows(batches, max_batches, "perplexity", False):
        ids, targets = ids.to(device), targets.to(device)
        with training.autocast(device):
            loss, state = model.loss(ids, targets, _carried(state, ids.shape[0]))
        total += loss.item() * targets.numel()
        tokens += targets.numel()
    if tokens == 0:
        raise ValueError("batches yielded no windows; lm_batches makes them")
    return math.exp(total / tokens)


@torch.no_grad()
def generate(model: LSTMLanguageModel, prompt_ids: Sequence[int], n_tokens: int, temperature: float = 1.0,
             generator: torch.Generator | None = None, exclude: Sequence[int] = ()) -> list[int]:
    """``n_tokens`` ids that follow ``prompt_ids``, each drawn from the model's next-token
    distribution sharpened (< 1) or flattened (> 1) by ``temperature``; 0 takes the likeliest
    token every time. ``exclude`` lists ids never drawn (e.g. ``<unk>``)."""
    _check_model(model, "generate")
    if isinstance(prompt_ids, torch.Tensor):
        prompt_ids = prompt_ids.tolist()
    if isinstance(prompt_ids, (str, bytes)) or not isinstance(prompt_ids, Sequence) or not prompt_ids:
        raise ValueError(f"prompt_ids must be a non-empty list of token ids, got {prompt_ids!r:.60}")
    prompt_ids = [check_int(i, "prompt_ids", 0) for i in prompt_ids]
    n_tokens = check_int(n_tokens, "n_tokens", 0)
    check_real(temperature, "temperature", 0, meaning=" (0 = always the likeliest)")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    exclude = [check_int(i, "exclude", 0) for i in exclude]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with training.autocast(device):
            hidden, state = model(torch.tensor([prompt_ids], device=device))  # (1, prompt, hidden)
        new_ids = []
        for _ in range(n_tokens):
            log_probs = model.log_probs(hidden[0, -1]).cpu()                  # (vocab,)
            log_probs[exclude] = -math.inf
            if temperature == 0:
                token = int(log_probs.argmax())
            else:
                probs = torch.softmax(log_probs / temperature, dim=0)
                token = int(torch.multinomial(probs, 1, generator=generator))
            new_ids.append(token)
            with training.autocast(device):
                hidden, state = model(torch.tensor([[token]], device=device), state)  # (1, 1, hidden)
    finally:
        model.train(was_training)
    return new_ids


def _one_direction_lstm(classifier: object) -> nn.LSTM:
    """The LSTM of a one-direction LSTM ``RecurrentClassifier``, or an error saying what is accepted."""
    if not isinstance(classifier, RecurrentClassifier):
        raise TypeError(f"classifier must be a textclf.models.RecurrentClassifier, got {type(classifier).__name__}")
    rnn = classifier.rnn
    if not isinstance(rnn, nn.LSTM) or rnn.bidirectional:
        raise ValueError("classifier must be a RecurrentClassifier built with cell='lstm' and bidirectional=False, "
                         f"got {type(rnn).__name__}(bidirectional={rnn.bidirectional})")
    return rnn


def transfer_encoder(lm: LSTMLanguageModel, classifier: RecurrentClassifier) -> RecurrentClassifier:
    """Copy the language model's embedding and LSTM weights into ``classifier`` (a one-direction
    ``RecurrentClassifier`` with ``cell="lstm"`` of the same sizes); its head is left as it is."""
    _check_model(lm, "transfer_encoder")
    rnn = _one_direction_lstm(classifier)
    sizes = {"vocab_size": (lm.embedding.num_embeddings, classifier.embedding.num_embeddings),
             "embed_dim": (lm.embedding.embedding_dim, classifier.embedding.embedding_dim),
             "hidden_dim": (lm.lstm.hidden_size, rnn.hidden_size),
             "num_layers": (lm.lstm.num_layers, rnn.num_layers)}
    mismatched = [f"{name} {ours} (language model) vs {theirs} (classifier)"
                  for name, (ours, theirs) in sizes.items() if ours != theirs]
    if mismatched:
        raise ValueError("the classifier's sizes must match the language model's: " + ", ".join(mismatched))
    with torch.no_grad():
        classifier.embedding.weight.copy_(lm.embedding.weight)
    rnn.load_state_dict(lm.lstm.state_dict())
    return classifier


#: The parts :func:`parameter_groups` gives learning rates to.
GROUPS = ("embedding", "recurrent", "head")


def _group_of(name: str) -> str:
    """Which of :data:`GROUPS` a parameter belongs to, by its name in the model."""
    if name.startswith("embedding."):
        return "embedding"
    if name.startswith(("rnn.", "lstm.")):
        return "recurrent"
    return "head"


def parameter_groups(model: nn.Module, lrs: Mapping[str, float]) -> list[dict]:
    """Optimizer parameter groups with one learning rate each for the embedding, the recurrent
    layer (``rnn``/``lstm``) and everything else (``head``): ULMFiT's discriminative learning
    rates. Frozen parameters are included, so that unfreezing them later trains them."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(lrs, Mapping) or set(lrs) != set(GROUPS):
        shown = sorted(lrs) if isinstance(lrs, Mapping) else type(lrs).__name__
        raise ValueError(f"lrs must be a dict with exactly the keys {GROUPS}, got {shown}")
    for group, lr in lrs.items():
        check_real(lr, f"lrs[{group!r}]", 0, low_open=True, meaning=" (a learning rate)")
    params = {group: [] for group in GROUPS}
    for name, parameter in model.named_parameters():
        params[_group_of(name)].append(parameter)
    return [{"params": params[group], "lr": float(lrs[group]), "name": group}
            for group in GROUPS if params[group]]


def freeze(module: nn.Module, frozen: bool = True) -> nn.Module:
    """Stop (or, with ``frozen=False``, restart) training every parameter of ``module``: the step of
    gradual unfreezing. Returns ``module``."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(frozen, bool):
        raise TypeError(f"frozen must be True or False, got {frozen!r:.40}")
    for parameter in module.parameters():
        parameter.requires_grad_(not frozen)
    return module
