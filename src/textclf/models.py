"""Pieces that several chapters' models share."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .checks import check_int, check_real


def last_real_step(output: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The output at each sequence's last real token, not at the last (maybe padded) column.

    output: (batch, steps, features), lengths: (batch,) -> (batch, features).
    """
    _check_steps_and_lengths(output, lengths, "output", "last_real_step")
    lengths = lengths.to(output.device)
    return output[torch.arange(output.shape[0], device=output.device), lengths - 1]


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first ``length`` steps and leave its padding where it is (at the end).

    x: (batch, steps, features), lengths: (batch,) -> (batch, steps, features). Applying it twice
    gives ``x`` back, so it also turns a reversed reading back into the original order.
    """
    _check_steps_and_lengths(x, lengths, "x", "reverse_within_length")
    lengths = lengths.to(x.device)
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)      # (1, steps)
    ends = lengths.unsqueeze(1)                                          # (batch, 1)
    source = torch.where(steps < ends, ends - 1 - steps, steps)          # (batch, steps)
    return x.gather(1, source.unsqueeze(2).expand_as(x))


def real_steps_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``(batch, steps)`` booleans, True at every real (not padded) position."""
    _check_integer_tensor(lengths, "lengths", "a 1-D integer tensor (batch,)", "real_steps_mask", dims=1)
    steps = check_int(steps, "steps", 0)
    return torch.arange(steps, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def _check_integer_tensor(value: object, name: str, accepted: str, caller: str, dims: int) -> None:
    """A TypeError/ValueError naming ``name`` unless ``value`` is an integer tensor of ``dims`` dims."""
    if not isinstance(value, torch.Tensor):
        hint = " (torch.tensor(...) makes one)" if isinstance(value, (list, tuple)) else ""
        raise TypeError(f"{caller}: {name} must be {accepted}, got {type(value).__name__}{hint}")
    if value.dtype == torch.bool or value.is_floating_point() or value.is_complex():
        raise TypeError(f"{caller}: {name} must be {accepted}, got a {value.dtype} tensor (use .long())")
    if value.dim() != dims:
        raise ValueError(f"{caller}: {name} must be {accepted}, got shape {tuple(value.shape)}")


def _check_steps_and_lengths(x: object, lengths: object, name: str, caller: str) -> None:
    """``x``: a (batch, steps, features) tensor; ``lengths``: (batch,) integers in 1..steps."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{caller}: {name} must be a tensor (batch, steps, features), got {type(x).__name__}")
    _check_integer_tensor(lengths, "lengths", "a 1-D integer tensor (batch,)", caller, dims=1)
    if x.dim() != 3 or lengths.shape != x.shape[:1]:
        raise ValueError(f"need {name} (batch, steps, features) and lengths (batch,), got "
                         f"{tuple(x.shape)} and {tuple(lengths.shape)}")
    _check_length_range(lengths, x.shape[1], f"the steps of {name}")


def _check_length_range(lengths: torch.Tensor, steps: int, what: str) -> None:
    """Every length in 1..steps; one min and one max, no loop over the batch."""
    if len(lengths) == 0:
        raise ValueError("lengths is empty: an empty batch has nothing to read")
    shortest, longest = int(lengths.min()), int(lengths.max())
    if shortest < 1 or longest > steps:
        raise ValueError(f"lengths must lie in 1..{steps} ({what}), got {shortest}..{longest}")


def check_batch(ids: object, lengths: object, caller: str) -> None:
    """A model's input: ids (batch, steps) of token indices, lengths (batch,) in 1..steps."""
    _check_integer_tensor(ids, "ids", "a 2-D integer tensor (batch, steps) of token ids", caller, dims=2)
    _check_integer_tensor(lengths, "lengths", "a 1-D integer tensor (batch,)", caller, dims=1)
    if lengths.shape != ids.shape[:1]:
        raise ValueError(f"{caller}: ids has {ids.shape[0]} rows but lengths {tuple(lengths.shape)}: one length per row")
    _check_length_range(lengths, ids.shape[1], "the steps of ids")


def _check_sizes(**sizes: int) -> None:
    """Raise a TypeError/ValueError naming the first size that is not a positive int."""
    for name, value in sizes.items():
        check_int(value, name, 1)


READERS = ("fast", "packed")
POOLINGS = ("final", "final+max+mean")


class BiLSTMClassifier(nn.Module):
    """The lecture's advanced model: GloVe-sized embeddings, a multi-layer bidirectional LSTM and a
    linear head on the two final states (optionally also max- and mean-pooled outputs).

    The weights live in one ``nn.LSTM(bidirectional=True)``; ``reader`` says how a batch is read:
    ``"packed"`` packs it (the lecture's way), ``"fast"`` runs each direction over the padded batch,
    the backward one on each review reversed within its length. Both give the same numbers; on a
    CPU the fast reader is several times faster. ``reader`` can be changed at any time.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_classes: int = 1,
                 num_layers: int = 2, dropout: float = 0.5, pad_idx: int = 0,
                 reader: str = "fast", pooling: str = "final", embed_dropout: float | None = None):
        super().__init__()
        _check_sizes(vocab_size=vocab_size, embed_dim=embed_dim, hidden_dim=hidden_dim,
                     num_classes=num_classes, num_layers=num_layers)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers, batch_first=True,
                            bidirectional=True, dropout=dropout if num_layers > 1 else 0.0)
        self.embed_dropout = nn.Dropout(dropout if embed_dropout is None else embed_dropout)
        self.dropout = nn.Dropout(dropout)
        self.pooling = pooling
        features = 2 * hidden_dim * (3 if pooling == "final+max+mean" else 1)
        self.head = nn.Linear(features, num_classes)
        # Weightless single-direction templates that the fast reader fills with self.lstm's
        # weights; kept in a plain list so that they are not parameters of the model.
        self._templates = [nn.LSTM(embed_dim if layer == 0 else 2 * hidden_dim, hidden_dim,
                                   batch_first=True) for layer in range(num_layers)]
        self.reader = reader

    @property
    def reader(self) -> str:
        return self._reader

    @reader.setter
    def reader(self, value: str) -> None:
        if value not in READERS:
            raise ValueError(f"reader must be one of {READERS}, got {value!r}")
        self._reader = value

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        check_batch(ids, lengths, "BiLSTMClassifier")
        x = self.embed_dropout(self.embedding(ids))                  # (batch, steps, embed_dim)
        lengths = lengths.cpu()
        if self.reader == "packed":
            output, final = self._read_packed(x, lengths)
        else:
            output, final = self._read_fast(x, lengths)
        # output: (batch, steps, 2 * hidden) of the last layer, final: (batch, 2 * hidden)
        if self.pooling == "final+max+mean":
            real = real_steps_mask(lengths, output.shape[1]).to(x.device).unsqueeze(2)
            largest = output.masked_fill(~real, float("-inf")).max(dim=1).values
            mean = (output * real).sum(dim=1) / lengths.to(x.device).unsqueeze(1)
            final = torch.cat([final, largest, mean], dim=1)         # (batch, 6 * hidden)
        return self.head(self.dropout(final))                       # (batch, num_classes)

    def _read_packed(self, x, lengths):
        """The lecture's reading: pack, run the bidirectional LSTM, unpack (zeros at padding)."""
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        packed_output, (h_n, _) = self.lstm(packed)                  # h_n: (layers * 2, batch, hidden)
        output, _ = pad_packed_sequence(packed_output, batch_first=True, total_length=x.shape[1])
        return output, torch.cat([h_n[-2], h_n[-1]], dim=1)         # (batch, steps, 2h), (batch, 2h)

    def _direction(self, x, layer: int, suffix: str):
        """One direction of one layer of ``self.lstm`` over a padded batch: (batch, steps, hidden)."""
        weights = {f"{kind}_l0": getattr(self.lstm, f"{kind}_l{layer}{suffix}")
                   for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        output, _ = functional_call(self._templates[layer], weights, (x,))
        return output

    def _read_fast(self, x, lengths):
        """Each direction over the padded batch; the backward one reads each row reversed within
        its length, so padding never comes before a real token in either direction."""
        layer_input = x                                              # (batch, steps, features)
        for layer in range(self.lstm.num_layers):
            forward = self._direction(layer_input, layer, "")        # (batch, steps, hidden)
            backward_reversed = self._direction(reverse_within_length(layer_input, lengths),
                                                layer, "_reverse")   # (batch, steps, hidden)
            backward = reverse_within_length(backward_reversed, lengths)
            output = torch.cat([forward, backward], dim=2)           # (batch, steps, 2 * hidden)
            if layer < self.lstm.num_layers - 1 and self.training and self.lstm.dropout > 0:
                layer_input = nn.functional.dropout(output, self.lstm.dropout, training=True)
            else:
                layer_input = output
        # forward ends at each row's last token, backward at its first: (batch, 2 * hidden)
        final = torch.cat([last_real_step(forward, lengths), backward[:, 0]], dim=1)
        return output, final


CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
#: What a RecurrentClassifier can read off its outputs; join several with "+" ("last+max").
POOLS = ("last", "max", "mean")


def parse_pooling(pooling: str) -> tuple[str, ...]:
    """``"last+max"`` -> ``("last", "max")``: each of :data:`POOLS` at most once, in the given order."""
    if not isinstance(pooling, str):
        raise TypeError(f"pooling must be a str such as 'last' or 'last+max', got {type(pooling).__name__}")
    parts = tuple(pooling.split("+"))
    if not parts or any(part not in POOLS for part in parts) or len(set(parts)) != len(parts):
        raise ValueError(f"pooling must be one or more of {POOLS} joined by '+' (e.g. 'last+max'), got {pooling!r}")
    return parts


class RecurrentClassifier(nn.Module):
    """Embedding, an ``nn.RNN``/``nn.GRU``/``nn.LSTM`` and a linear head on the state after each
    row's last real token (optionally also max- and mean-pooled over the real positions).

    One direction reads the padded batch and takes the output at the last real step (exact and
    fast on a CPU), or packs the batch if ``pack``; a bidirectional layer is always packed, so
    that both final states are real ones. ``embeddings`` starts the embedding from a matrix.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 100, hidden_dim: int = 100,
                 num_classes: int = 1, cell: str = "rnn", num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, pad_idx: int | None = 0,
                 *, embed_dropout: float = 0.0, pooling: str = "last", pack: bool = False,
                 embeddings: torch.Tensor | None = None, freeze_embeddings: bool = False):
        super().__init__()
        _check_sizes(vocab_size=vocab_size, embed_dim=embed_dim, hidden_dim=hidden_dim,
                     num_classes=num_classes, num_layers=num_layers)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {tuple(CELLS)}, got {cell!r}")
        for name, p in [("dropout", dropout), ("embed_dropout", embed_dropout)]:
            check_real(p, name, 0, 1, high_open=True)
        for name, flag in [("bidirectional", bidirectional), ("pack", pack),
                           ("freeze_embeddings", freeze_embeddings)]:
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False, got {flag!r:.40}")
        self.pooling = parse_pooling(pooling)
        self.pack = pack
        if embeddings is None:
            self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        else:  # from_pretrained draws no random numbers: the layers below start as without it
            _check_embeddings(embeddings, vocab_size, embed_dim)
            self.embedding = nn.Embedding.from_pretrained(embeddings.detach().clone().float(),
                                                          freeze=freeze_embeddings, padding_idx=pad_idx)
        if embed_dropout > 0:  # registered only when used, so the plain model prints as before
            self.embed_dropout = nn.Dropout(embed_dropout)
        self.rnn = CELLS[cell](embed_dim, hidden_dim, num_layers=num_layers, batch_first=True,
                               bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        directions = 2 if bidirectional else 1
        self.head = nn.Linear(len(self.pooling) * directions * hidden_dim, num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        check_batch(ids, lengths, "RecurrentClassifier")
        lengths = lengths.cpu()
        ids = ids[:, : int(lengths.max())]                 # (batch, longest): no all-padding column
        x = self.embedding(ids)                            # (batch, longest, embed_dim)
        if "embed_dropout" in self._modules:
            x = self.embed_dropout(x)                      # (batch, longest, embed_dim)
        if self.rnn.bidirectional or self.pack:
            output, final = self._read_packed(x, lengths)  # (batch, longest, dirs * hidden), (batch, dirs * hidden)
        else:
            output, _ = self.rnn(x)                        # (batch, longest, hidden): top layer
            final = last_real_step(output, lengths)        # (batch, hidden)
        features = self._pool(output, final, lengths)      # (batch, pools * dirs * hidden)
        return self.head(self.dropout(features))           # (batch, num_classes)

    def _read_packed(self, x: torch.Tensor, lengths: torch.Tensor):
        """Pack, run, and return the top layer's outputs (zeros at padding, only if pooling needs
        them) and its final state(s): forward after the last token, backward after the first."""
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        packed_output, state = self.rnn(packed)            # h_n: (layers * dirs, batch, hidden)
        h_n = state[0] if isinstance(state, tuple) else state
        if self.rnn.bidirectional:
            final = torch.cat([h_n[-2], h_n[-1]], dim=1)   # (batch, 2 * hidden)
        else:
            final = h_n[-1]                                # (batch, hidden)
        if self.pooling == ("last",):
            return None, final
        output, _ = pad_packed_sequence(packed_output, batch_first=True, total_length=x.shape[1])
        return output, final                               # output: (batch, longest, dirs * hidden)

    def _pool(self, output: torch.Tensor | None, final: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The pooled features in the order of ``pooling``: (batch, pools * features)."""
        if self.pooling == ("last",):
            return final                                   # (batch, features)
        real = real_steps_mask(lengths, output.shape[1]).to(output.device).unsqueeze(2)  # (batch, longest, 1)
        pooled = {"last": final}
        if "max" in self.pooling:
            pooled["max"] = output.masked_fill(~real, -torch.inf).amax(dim=1)          # (batch, features)
        if "mean" in self.pooling:
            pooled["mean"] = (output * real).sum(dim=1) / lengths.to(output.device).unsqueeze(1)
        return torch.cat([pooled[name] for name in self.pooling], dim=1)


def _check_embeddings(embeddings: object, vocab_size: int, embed_dim: int) -> None:
    """A (vocab_size, embed_dim) floating-point tensor, or a TypeError/ValueError saying what it is."""
    if not isinstance(embeddings, torch.Tensor) or not embeddings.is_floating_point():
        shown = embeddings.dtype if isinstance(embeddings, torch.Tensor) else type(embeddings).__name__
        raise TypeError(f"embeddings must be a float tensor (vocab_size, embed_dim), got {shown}")
    if tuple(embeddings.shape) != (vocab_size, embed_dim):
        raise ValueError(f"embeddings must have shape (vocab_size, embed_dim) = {(vocab_size, embed_dim)}, "
                         f"got {tuple(embeddings.shape)}")


def uniform_embeddings(model: nn.Module, scale: float) -> nn.Module:
    """Redraw every ``nn.Embedding`` of ``model`` from U(-scale, scale), its padding row kept at
    zero: small starting vectors instead of PyTorch's N(0, 1). Returns ``model``."""
    if not scale > 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            nn.init.uniform_(module.weight, -scale, scale)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx] = 0.0
    return model
