#!/usr/bin/env python
# coding: utf-8

# # The IMDb battlefield: six classifiers, one data set
# 
# Which architecture should read a movie review? This chapter puts six contestants on the same
# field: the 25,000 IMDb training reviews (20,000 to learn from, 5,000 to validate on) and 25,000
# test reviews to be judged on, with the same vocabulary, the same padding and the same training
# recipe. Each contestant is an idea from the history of neural text classification, from a
# perceptron that reads token ids as numbers to a convolution feeding an LSTM. For each we record
# three things: how many parameters it has, how long an epoch takes on this book's CPU, and how
# often it is right on the test set.
# 
# The chapter rebuilds the IMDb "battlefield" notebook {cite}`imdb_battlefield`. That notebook
# trained a perceptron on raw ids, a perceptron on embeddings, a simple RNN and an LSTM; its
# convolution cell stopped with an error, and the convolution feeding an LSTM was left as an empty
# exercise. Its two recurrent models also had a shape bug, reproduced below on a small input,
# so their numbers say little about recurrence. Here every contestant is built out and trained
# the same way, and the original's printed numbers are put beside ours.

# In[1]:


import statistics

import matplotlib.pyplot as plt
import pandas as pd
import torch
from torch import nn

from textclf import data, models, results, settings, text, training

device = training.setup(seed=0, threads=1)


# `threads=1` keeps the seconds per epoch below comparable between contestants: every model runs
# on one core of the same CPU.
# 
# ## The field: data, vocabulary, padding
# 
# The original had no validation part: after every epoch it scored the test set (its printouts
# call that score "Valid"), so picking an epoch or a setting by those scores is picking on the
# test set. Here the official training split is cut into a part to learn from and a validation
# part (20 %, stratified) that picks the best epoch and every other choice; the test split is
# looked at once per contestant, at the end. The vocabulary keeps the 10,000 most frequent tokens
# of the training part, plus `<pad>` and `<unk>` (the original also kept 10,000 words, using the
# ids that come with Keras' copy of IMDb). Every batch is padded to exactly 500 steps.
# 
# A review longer than 500 tokens has to lose some, and which ones is a choice. The original's
# Keras `pad_sequences` pads and truncates at the *front* by default: it kept the *last* 500
# tokens of a long review and put the padding before the review. `text.encode_texts(...,
# max_length=500)` keeps the *first* 500. `keep` below can do either. The two perceptrons and
# the convolution keep the first 500; for the recurrent contestants, which read in order and
# classify from the state after the last token they read, validation decides.

# In[2]:


STEPS, VOCAB_TOKENS = 500, 10_000

train_df, valid_df = data.split_frame(data.load("imdb", "train"), 0.2, seed=0)
test_df = data.load("imdb", "test")
tokenize = text.tokenizer("basic_english")
vocab = text.build_vocab(map(tokenize, train_df.text), max_size=VOCAB_TOKENS)
encoded = {  # every review's full list of ids, not cut yet
    part: (text.encode_texts(df.text, tokenize, vocab), df.label.tolist())
    for part, df in [("train", train_df), ("valid", valid_df), ("test", test_df)]
}


def keep(which):
    """Train, validation and test datasets whose reviews keep their first or their
    last STEPS tokens."""
    cut = {"first": lambda ids: ids[:STEPS], "last": lambda ids: ids[-STEPS:]}[which]
    return {
        part: text.EncodedDataset([cut(ids) for ids in all_ids], labels)
        for part, (all_ids, labels) in encoded.items()
    }


fields = {"first": keep("first"), "last": keep("last")}
train_set, valid_set, test_set = fields["first"].values()
full_lengths = pd.Series([len(ids) for ids in encoded["train"][0]])
print(
    f"train {len(train_set):,} | validation {len(valid_set):,} | test "
    f"{len(test_set):,} reviews"
)
print(f"vocabulary: {len(vocab):,} entries")
print(f"tokens per training review: median {full_lengths.median():.0f}, "
      f"{(full_lengths > STEPS).mean():.1%} are longer than {STEPS} and get cut")


# Half of the reviews are much shorter than 500 tokens, so most of a padded batch is `<pad>`.
# That matters for two kinds of contestant. The recurrent ones would walk through hundreds of pad
# steps after a short review; the convolution would look at windows of nothing but padding. Both
# are handled below inside the models, so that the data stay exactly as the rules say.
# 
# Batches come from a bucketing sampler: it shuffles, then groups reviews of similar length into a
# batch. The tensor is still `(batch, 500)`; bucketing only means that the columns where *every*
# review of the batch is padding are many, and a model may skip them (a check below shows that
# its logits change by no more than rounding).

# In[3]:


BATCH_SIZE = settings.full_or_quick(128, 32)  # quick: smaller batches


def loaders(field):
    """Fresh training, validation and test loaders for one field (a dict of three
    datasets), each padding every batch to STEPS tokens."""
    train = text.data_loader(
        field["train"], BATCH_SIZE, bucket=True, length=STEPS, seed=0
    )
    valid = text.data_loader(field["valid"], 256, bucket=True, length=STEPS)
    test = text.data_loader(field["test"], 256, bucket=True, length=STEPS)
    return train, valid, test


ids, lengths, labels = next(iter(loaders(fields["first"])[0]))
print(
    "one batch:",
    tuple(ids.shape),
    "| lengths from",
    lengths.min().item(),
    "to",
    lengths.max().item(),
)


# ## One training recipe for everybody
# 
# A comparison is only fair if nobody gets a private coach. Every contestant is trained the same
# way:
# 
# - **Loss**: one logit per review and `BCEWithLogitsLoss`, the numerically stable form of sigmoid
#   plus binary cross-entropy.
# - **Optimiser**: Adam with learning rate 0.001. Adam adapts the step size per parameter, which
#   matters here because the embedding rows of rare words get few, large gradients while the dense
#   layers get many small ones; 0.001 is its usual default, used for all six without per-model
#   tuning.
# - **Embeddings start small**, drawn from U(-0.05, 0.05), the default of Keras' `Embedding`
#   layer, instead of PyTorch's N(0, 1). The original's models were PyTorch modules, so its
#   embeddings started from N(0, 1). The cell below shows what the difference does to a training
#   step.
# - **Batch size** 128: large enough that a CPU spends its time on arithmetic rather than on
#   Python.
# - **Dropout** 0.3 on the features that enter the output layer, and on the embedded tokens where
#   a perceptron or a convolution reads them. IMDb has only 20,000 training reviews here and some
#   contestants have millions of weights. A recurrent layer reads its embedded tokens without
#   dropout; the simple RNN's section measures what dropout there would do.
# - **Early stopping**: up to 10 epochs, stop when the validation loss has not improved for 2
#   epochs, and keep the weights of the best validation epoch (`fit(..., patience=2)` does both).
#   The test set plays no part in any of these choices.
# - **Gradient clipping** (norm 1.0) for the three recurrent contestants: backpropagation through
#   hundreds of steps can multiply a gradient into a huge one, and one such step can wreck a
#   model.
# 
# Adam moves every weight by roughly the learning rate per step, about 0.001. Measured against the
# size of an embedding vector, that step is tiny for PyTorch's default and sizeable for a small
# start:

# In[4]:


torch.manual_seed(0)
default_rows = nn.Embedding(len(vocab), 100).weight.detach()
small_rows = nn.init.uniform_(torch.empty(len(vocab), 100), -0.05, 0.05)
for label, rows in [
    ("N(0, 1), PyTorch's default", default_rows),
    ("U(-0.05, 0.05), Keras' default", small_rows),
]:
    norm = rows.norm(dim=1).median().item()
    step = 1e-3 * 100 ** 0.5  # one Adam step of 0.001 on each of the 100 numbers
    print(
        f"{label:>30}: median vector length {norm:6.2f}, one step changes it by "
        f"{step / norm:6.1%}"
    )


# With the default, an update moves a word's vector by about 0.1 % of its length, so for the first
# epochs the layers above see large random codes for the words that change slowly. With a small
# start each update moves a word's vector by a few per cent of its length, so the vectors are
# shaped by training from the first epoch on. A small start does not prevent memorising: the
# perceptron on embeddings below still fits its training reviews almost perfectly within a few
# epochs (its training accuracy is printed per epoch). Whether the small start helps accuracy is
# measured on the simple RNN, on validation.
# 
# `tryout` trains one model with the recipe on one field and returns it with its history; `enter`
# scores a trained model on the test set once and fills its row of the results table.
# `train_contestant` does both, for the contestants that have no choice to make on validation.

# In[5]:


LEARNING_RATE, DROPOUT, EPOCHS, PATIENCE, EMBEDDING_INIT = 1e-3, 0.3, 10, 2, 0.05
loss_fn = nn.BCEWithLogitsLoss()
board, histories = {}, {}  # name -> row of the results table, name -> training history


def tryout(build, field, clip_norm=None, small_start=True):
    """Build a model with seed 0 and train it with the shared recipe on one field;
    the test set is not touched. Returns (model, history)."""
    torch.manual_seed(0)
    model = build()
    if small_start:
        models.uniform_embeddings(model, EMBEDDING_INIT)
    train_loader, valid_loader, _ = loaders(field)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    history = training.fit(
        model,
        train_loader,
        valid_loader,
        optimizer,
        loss_fn,
        device,
        epochs=EPOCHS,
        clip_norm=clip_norm,
        patience=PATIENCE,
    )
    return model, history


def valid_accuracy(history):
    """Validation accuracy at the restored (lowest validation loss) epoch."""
    return history.best["valid_accuracy"]


def enter(name, model, history, kept="first"):
    """Score a trained contestant on the test set once and record its row."""
    test = training.evaluate(model, loaders(fields[kept])[2], loss_fn, device)
    board[name] = {
        "parameters": training.count_parameters(model),
        "seconds_per_epoch": statistics.median(history.column("seconds")),
        "epochs_run": len(history.epochs),
        "best_epoch": history.best_epoch,
        "tokens_kept": f"{kept} {STEPS}",
        "valid_accuracy": valid_accuracy(history),
        "test_accuracy": test["accuracy"],
    }
    histories[name] = history
    row = board[name]
    print(
        f"{name}: {row['parameters']:,} parameters | {row['seconds_per_epoch']:.1f} s "
        f"per epoch | validation {row['valid_accuracy']:.2%} | test "
        f"{row['test_accuracy']:.2%}"
    )
    return model


def train_contestant(name, build, clip_norm=None):
    """Train with the recipe on the first STEPS tokens and enter the result."""
    model, history = tryout(build, fields["first"], clip_norm)
    return enter(name, model, history)


# ## Contestant 1: a perceptron on raw token ids
# 
# The simplest idea: a review is 500 numbers, so feed the 500 numbers to a feedforward network
# with a hidden layer of 250 ReLU units. We divide the ids by the vocabulary size so that the
# inputs lie between 0 and 1, which helps the optimiser and changes nothing else.
# 
# This cannot work, and it is worth seeing why before spending an epoch on it. A token id is the
# word's *rank by frequency*, nothing more. The network can only use the numbers' sizes, and in
# size order, opinion words are scattered at random:

# In[6]:


words = ["good", "bad", "great", "awful", "excellent", "terrible", "boring",
         "wonderful"]
for word in words:
    print(f"{word:>10}: id {vocab[word]:>5}  ->  input {vocab[word] / len(vocab):.4f}")
pairs = [(a, b) for a in words for b in words if vocab[a] < vocab[b]]
a, b = min(pairs, key=lambda pair: vocab[pair[1]] - vocab[pair[0]])
print(f"closest inputs in this list: {a!r} and {b!r}, ids {vocab[a]} and {vocab[b]}")


# The last line names the two words of the list whose inputs are closest: words of opposite
# opinion can get nearly the same number, and a weight that likes large ids likes every rare
# word. A hidden unit could carve out a narrow interval of ids, but it would need one for every
# word at every one of the 500 positions, and what it learns about "awful" at position 17 teaches
# it nothing about "awful" at position 18. Expect a coin toss.

# In[7]:


class RawIdsFeedForward(nn.Module):
    """A two-layer perceptron that reads the token ids themselves as 500 numbers."""

    def __init__(self, vocab_size, steps=STEPS, hidden_dim=250, dropout=DROPOUT):
        super().__init__()
        self.vocab_size = vocab_size
        self.hidden = nn.Linear(steps, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, 1)

    def forward(self, ids, lengths):
        x = ids.float() / self.vocab_size  # (batch, steps): ids scaled to [0, 1)
        h = self.dropout(torch.relu(self.hidden(x)))      # (batch, hidden)
        return self.head(h)                               # (batch, 1)


ff_raw = train_contestant("ff_raw", lambda: RawIdsFeedForward(len(vocab)))


# ## Contestant 2: a perceptron on embeddings
# 
# The fix for meaningless numbers is an embedding: every token gets its own learned vector of 100
# numbers, so "great" and "awful" are free to end up far apart. The perceptron then reads the 500
# vectors laid end to end, one vector of 50,000 numbers, with a hidden layer of 250 units.
# 
# The price is visible in the parameter count: the hidden layer has a separate weight for every
# (position, embedding dimension, hidden unit), 12.5 million of them, and it still has to learn
# each word's effect separately at every position. With 20,000 training reviews that is a recipe
# for memorising, which is where dropout and early stopping earn their keep.

# In[8]:


class EmbeddingFeedForward(nn.Module):
    """Embeds each token, concatenates the 500 vectors and applies a two-layer
    perceptron."""

    def __init__(
        self, vocab_size, embed_dim=100, steps=STEPS, hidden_dim=250, dropout=DROPOUT
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.hidden = nn.Linear(steps * embed_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, 1)

    def forward(self, ids, lengths):
        x = self.dropout(self.embedding(ids))             # (batch, steps, embed)
        x = x.flatten(start_dim=1)  # (batch, steps * embed): one long vector
        h = self.dropout(torch.relu(self.hidden(x)))      # (batch, hidden)
        return self.head(h)                               # (batch, 1)


ff_embedding = train_contestant(
    "ff_embedding", lambda: EmbeddingFeedForward(len(vocab))
)


# ## Contestant 3: a convolution with max-over-time pooling
# 
# A convolution fixes the perceptron's second problem. One filter of width 3 is a small detector
# for a three-token pattern ("not very good", "a must see") that slides over the whole review, so
# what it learns at position 17 applies at every position. Two hundred such filters, each followed
# by a ReLU, give 200 feature maps; **max-over-time pooling** keeps each filter's strongest match
# anywhere in the review. The result is 200 numbers, whatever the review's length, which a hidden
# layer of 250 ReLU units and an output unit turn into a verdict.
# 
# The original notebook's cell for this model did not run. It built
# `nn.Conv1d(in_channels=200, out_channels=250, kernel_size=3)` and gave it the raw token ids of
# 250 reviews, a 2-D tensor `(250, 500)`, with no embedding in between; the PyTorch of the time
# stopped because a 2-D input cannot meet a 3-D weight. Today's PyTorch reads a 2-D input as one
# unbatched sequence of shape `(channels, steps)`, so the same call now fails on the channel count
# instead. Either way the ids were never embedded. What the layer needs is
# `(batch, channels, steps)` with the embedding dimensions as channels, while an embedding layer
# returns `(batch, steps, embed)`, so one transpose sits between them:

# In[9]:


raw_ids = torch.zeros(250, STEPS)  # (reviews, steps): ids, not embedded
as_original = nn.Conv1d(in_channels=200, out_channels=250, kernel_size=3)
try:
    as_original(raw_ids)
except RuntimeError as error:
    print("as in the original:", str(error).splitlines()[0])

embedded = torch.zeros(2, STEPS, 100)  # (batch, steps, embed): nn.Embedding's layout
conv = nn.Conv1d(in_channels=100, out_channels=200, kernel_size=3, padding=1)
features = conv(embedded.transpose(1, 2))  # (batch, embed, steps): channels first
print(
    "embedded:",
    tuple(embedded.shape),
    "-> transposed:",
    tuple(embedded.transpose(1, 2).shape),
    "-> conv:",
    tuple(features.shape),
    "-> max over time:",
    tuple(features.amax(dim=2).shape),
)


# Padding needs one more thought. A window made only of `<pad>` still produces a value (the
# filter's bias, after the ReLU), and it would join the maximum. We set the feature maps at pad
# positions to zero: after a ReLU nothing real is below zero, so a zero never changes a maximum,
# and the result no longer depends on how much padding a batch has. That also lets the model skip
# the columns that are padding in every review of the batch: the same logits, less work.
# `padding=1` keeps one output position per token, so the position index and the mask line up.

# In[10]:


class ConvMaxPool(nn.Module):
    """Width-3 filters slide over the embedded review; each keeps its strongest match
    (max over time)."""

    def __init__(
        self,
        vocab_size,
        embed_dim=100,
        filters=200,
        width=3,
        hidden_dim=250,
        dropout=DROPOUT,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.conv = nn.Conv1d(embed_dim, filters, width, padding=width // 2)
        self.hidden = nn.Linear(filters, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, 1)

    def forward(self, ids, lengths):
        lengths = lengths.to(ids.device)
        ids = ids[:, : int(lengths.max())]  # (batch, longest): drop all-padding columns
        x = self.dropout(self.embedding(ids)).transpose(1, 2)  # (batch, embed, longest)
        x = torch.relu(self.conv(x))  # (batch, filters, longest)
        padded = ~models.real_steps_mask(lengths, x.shape[2])  # (batch, longest)
        x = x.masked_fill(padded[:, None, :], 0.0)  # pad positions never win the max
        x = x.amax(dim=2)  # (batch, filters): max over time
        h = self.dropout(torch.relu(self.hidden(x)))              # (batch, hidden)
        return self.head(h)                                       # (batch, 1)


cnn = train_contestant("cnn", lambda: ConvMaxPool(len(vocab)))


# ## Contestant 4: a simple recurrent network
# 
# A recurrent network reads the review the way we do, one token at a time, and carries a state of
# 100 numbers from each step to the next: $h_t = \tanh(W x_t + U h_{t-1} + b)$. The state after
# the last word is its summary of the review, and a linear layer turns that summary into a logit.
# 
# ### What the original's recurrent layers read
# 
# The original built `nn.RNN(100, 100)` and `nn.LSTM(100, 100)` without `batch_first=True` and fed
# them the embedded batch, shaped `(batch, steps, features)`. By default such a layer expects
# `(steps, batch, features)`. PyTorch does not know which axis is which; it takes the first axis
# as time. So the layer stepped through the *reviews of the batch*, and the 500 word positions
# were its batch: 500 separate sequences, one per position, each made of the word at that position
# in review 0, review 1, review 2, and so on. The cell below shows it on four tiny "reviews" of
# six steps: change review 0 and see which reviews' outputs move.

# In[11]:


torch.manual_seed(0)
x = torch.randn(4, 6, 3)  # (batch, steps, features): 4 reviews of 6 steps, as fed
changed = x.clone()
changed[0] += 1.0  # a different review 0; reviews 1 to 3 are untouched
for batch_first in (False, True):
    layer = nn.RNN(3, 5, batch_first=batch_first)
    output, h_n = layer(x)  # output: same layout as x
    moved = (layer(changed)[0] - output).abs().amax(dim=(1, 2))  # (batch,)
    print(
        f"batch_first={batch_first!s:5}: h_n {tuple(h_n.shape)} | largest change of "
        f"each review's output: {[f'{m:.3f}' for m in moved.tolist()]}"
    )


# With `batch_first=False` the reviews after review 0 change too (the cell prints each one's
# largest change): the state is carried from one review to the next, and `h_n` holds one final
# state per *word position* (6 here, 500 in the original), none per review. With
# `batch_first=True` only review 0 changes, and `h_n` holds one state per review.
# 
# In the original, then, the output at position $t$ of review $i$ summarised the words at position
# $t$ of reviews $0, \dots, i$ of the same batch, never the words before $t$ in review $i$. The
# model then laid all 500 outputs end to end into one linear layer (50,000 inputs, as in the
# perceptron on embeddings), and it applied the same recurrent layer twice in a row. It never read
# a review in order; a review's score also depended on which reviews shared its batch. Its test
# accuracies for these two models (in the results table) are those of this model, not of an RNN
# or an LSTM reading a review.
# 
# ### Reading at the last real token
# 
# *Which* state is "after the last word" is the next trap. Our batches are padded at the end, so
# `output[:, -1]` is the state after hundreds of `<pad>` steps for a short review, and the network
# would have to carry its opinion through all of them. Two cures are common: pad at the front
# (which is what the original's `pad_sequences` did), or read the state at each review's true last
# token. We do the second, `output[torch.arange(batch), lengths - 1]`, because it keeps the book's
# one padding convention and needs no pad steps at all: steps after the last real token cannot
# influence the state we read. That also means the recurrent layer may stop at the longest review
# of the batch, which with bucketed batches of similar lengths skips most of the pad steps.
# 
# `models.RecurrentClassifier`, the class chapter 2 uses too, does exactly this: an embedding, a
# recurrent layer with `batch_first=True`, `models.last_real_step` to pick the state at each
# review's last real token, dropout and a linear head. `cell="lstm"` turns it into the LSTM below.

# In[12]:


print(models.RecurrentClassifier(len(vocab), cell="rnn", dropout=DROPOUT))


# Before training, a check that the padding really plays no part: score a few reviews in one
# padded batch and each one alone, cut to its own length. An untrained model will do; the logits
# should agree up to floating-point rounding.

# In[13]:


def padding_effect(model, batch_size=8):
    """Largest logit difference between scoring reviews in one padded batch and one
    at a time."""
    model.eval()
    sample = [test_set[i] for i in range(batch_size)]
    with torch.no_grad():
        together = model(*text.collate(sample, length=STEPS)[:2])
        alone = torch.cat([model(*text.collate([review])[:2]) for review in sample])
    return (together - alone).abs().max().item()


torch.manual_seed(0)
print(
    f"simple RNN: largest difference "
    f"{padding_effect(models.RecurrentClassifier(len(vocab), cell='rnn')):.1e}"
)
print(f"CNN:        largest difference {padding_effect(ConvMaxPool(len(vocab))):.1e}")


# ### First or last 500 tokens?
# 
# The simple RNN is trained twice, once on each field, and validation picks the one it enters
# with. Only the winner is scored on the test set.

# In[14]:


def simple_rnn():
    return models.RecurrentClassifier(len(vocab), cell="rnn", dropout=DROPOUT)


def choose_field(build):
    """Train ``build`` on both fields; return the field with the higher validation
    accuracy and all the trials."""
    trials = {which: tryout(build, fields[which], clip_norm=1.0) for which in fields}
    for which, (_, history) in trials.items():
        print(f"{which} {STEPS} tokens: validation {valid_accuracy(history):.2%}")
    best = max(trials, key=lambda which: valid_accuracy(trials[which][1]))
    return best, trials


rnn_kept, rnn_trials = choose_field(simple_rnn)
rnn = enter("rnn", *rnn_trials[rnn_kept], kept=rnn_kept)


# ### Two more choices of the recipe, tried on validation
# 
# Two parts of the recipe are tried on the simple RNN, the cheapest recurrent contestant to
# train. It is trained again on the field it chose, once with PyTorch's default N(0, 1)
# embeddings (the original's starting point) and once with dropout 0.3 on its embedded inputs,
# added by a forward hook that replaces the embedding layer's output during training. Neither
# trial touches the test set.

# In[15]:


def with_input_dropout():
    model = simple_rnn()
    model.embedding.register_forward_hook(
        lambda layer, inputs, out: nn.functional.dropout(out, DROPOUT, layer.training)
    )
    return model


recipe_trials = {
    "N(0, 1) embeddings": tryout(
        simple_rnn, fields[rnn_kept], clip_norm=1.0, small_start=False
    ),
    "dropout on the inputs": tryout(
        with_input_dropout, fields[rnn_kept], clip_norm=1.0
    ),
}
recipe = valid_accuracy(histories["rnn"])
print(f"{'the recipe':>22}: validation {recipe:.2%}")
for trial, (_, history) in recipe_trials.items():
    change = 100 * (valid_accuracy(history) - recipe)
    print(
        f"{trial:>22}: validation {valid_accuracy(history):.2%} "
        f"({change:+.2f} points), "
        f"training accuracy at its best epoch "
        f"{history.best['train_accuracy']:.2%}"
    )


# The lines above say, in points of validation accuracy, what each change does to the simple RNN
# in this run; a positive number would mean the recipe's choice costs accuracy here. Neither
# change helps: PyTorch's N(0, 1) start, the original's, leaves the simple RNN 8.84 points lower,
# and at a training accuracy of 73 % it does not yet fit its training reviews better than
# its validation ones; dropout on
# the inputs is 0.38 points lower, a tie: less than the standard error of an accuracy near 83 %
# measured on 5,000 reviews, $\sqrt{0.83 \cdot 0.17 / 5000} \approx 0.53$ points. The recipe keeps
# its small start and no dropout on the recurrent inputs.

# ## Contestant 5: an LSTM
# 
# A simple RNN rewrites its whole state at every step, and the gradient that reaches an early
# token is a product of hundreds of factors, which tends to vanish. The LSTM adds a cell state
# that is changed only through gates: a forget gate decides what to keep, an input gate what to
# add, an output gate what to show. Keeping information costs nothing, so an opinion from the
# first paragraph can survive to the last. Each of the three gates and the candidate update has
# its own input and recurrent weights, so an LSTM layer has four times the parameters of a simple
# RNN layer of the same width.

# In[16]:


lstm_kept, lstm_trials = choose_field(
    lambda: models.RecurrentClassifier(len(vocab), cell="lstm", dropout=DROPOUT)
)
lstm = enter("lstm", *lstm_trials[lstm_kept], kept=lstm_kept)


# ## Contestant 6: a convolution feeding an LSTM
# 
# The last contestant combines the two ideas; in the original it was the last model, an exercise
# left with an empty code cell. A width-3 convolution with 100 filters turns each token and its
# neighbours into a feature vector; max-pooling over windows of 4 positions keeps the strongest
# features of each window and makes the sequence four times shorter; an LSTM of 100 units reads
# the pooled sequence. The convolution finds local phrases, the LSTM puts them in order, and it
# has only a quarter of the steps to do it.
# 
# The padding rules carry over: feature maps at pad positions are set to zero before pooling (so
# they never win a maximum), and the LSTM's state is read at pooled position
# $\lceil \text{length} / 4 \rceil - 1$, the last window that holds a real token.
# `ceil_mode=True` keeps a last, incomplete window instead of dropping it.

# In[17]:


class ConvLSTM(nn.Module):
    """A width-3 convolution and max-pooling shorten the review fourfold; an LSTM
    reads the result."""

    def __init__(
        self,
        vocab_size,
        embed_dim=100,
        filters=100,
        width=3,
        pool=4,
        hidden_dim=100,
        dropout=DROPOUT,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.conv = nn.Conv1d(embed_dim, filters, width, padding=width // 2)
        self.pool = nn.MaxPool1d(pool, ceil_mode=True)
        self.lstm = nn.LSTM(filters, hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, 1)

    def forward(self, ids, lengths):
        lengths = lengths.to(ids.device)
        ids = ids[:, : int(lengths.max())]  # (batch, longest): drop all-padding columns
        x = self.dropout(self.embedding(ids)).transpose(1, 2)  # (batch, embed, longest)
        x = torch.relu(self.conv(x))  # (batch, filters, longest)
        padded = ~models.real_steps_mask(lengths, x.shape[2])  # (batch, longest)
        x = x.masked_fill(padded[:, None, :], 0.0)  # pad positions never win the max
        x = self.pool(x).transpose(1, 2)  # (batch, ceil(longest / pool), filters)
        output, _ = self.lstm(x)  # (batch, pooled steps, hidden)
        pooled_lengths = -(-lengths // self.pool.kernel_size)     # ceil(length / pool)
        last = models.last_real_step(output, pooled_lengths)           # (batch, hidden)
        return self.head(self.dropout(last))                      # (batch, 1)


torch.manual_seed(0)
print(f"CNN + LSTM: largest difference {padding_effect(ConvLSTM(len(vocab))):.1e}")


# In[18]:


cnn_lstm = train_contestant("cnn_lstm", lambda: ConvLSTM(len(vocab)), clip_norm=1.0)


# ## The contestants on paper
# 
# Parameter counts do not depend on the data, except through the vocabulary size. The table below
# builds the six models with the full-run vocabulary of exactly 10,002 entries, so it is the same
# in every run of this notebook; the trained models of the full run have the same counts.

# In[19]:


FULL_VOCAB = VOCAB_TOKENS + 2  # 10,000 tokens plus <pad> and <unk>
on_paper = {
    "ff_raw": RawIdsFeedForward(FULL_VOCAB),
    "ff_embedding": EmbeddingFeedForward(FULL_VOCAB),
    "cnn": ConvMaxPool(FULL_VOCAB),
    "rnn": models.RecurrentClassifier(FULL_VOCAB, cell="rnn"),
    "lstm": models.RecurrentClassifier(FULL_VOCAB, cell="lstm"),
    "cnn_lstm": ConvLSTM(FULL_VOCAB),
}
for name, model in on_paper.items():
    embedding = model.embedding.weight.numel() if hasattr(model, "embedding") else 0
    total = training.count_parameters(model)
    print(
        f"{name:>12}: {total:>10,} parameters, {embedding:>9,} of them in the "
        f"embedding, {total - embedding:>10,} in the rest"
    )


# Apart from the perceptron on raw ids, every contestant spends about a million parameters on the
# embedding table. What differs is the rest: the perceptron on embeddings needs twelve and a half
# times as many as the embedding itself, the convolutional and recurrent models between 2 % (the
# simple RNN) and 11 % (the two models with a convolution) of it.
# 
# ## The results
# 
# The table collects the six rows, with the test accuracies the original notebook printed beside
# ours. Those are quoted from the original, not measured here, and they need two columns: the
# original scored the test set after each of its ten epochs, so there is a last epoch and a best
# one, and the best was picked by looking at the test set. For the simple RNN the original made
# three runs (Adam at 0.00001, Adam at 0.0001, plain SGD at 0.01); the numbers quoted are from its
# best, Adam at 0.0001, whose call asked for 20 epochs while the text of the notebook shows ten
# epochs of output, so which epoch was last is not certain. It reported nothing for the two models
# it left as exercises. Seconds per epoch are the median training time of the epochs run, on one
# thread of the 2-core CPU named at the top.

# In[20]:


# test accuracies the original notebook printed (its "Valid" lines), per epoch
ORIGINAL_LAST = {"ff_raw": 0.4984, "ff_embedding": 0.65476, "rnn": 0.72356,
                 "lstm": 0.81592}
ORIGINAL_BEST = {"ff_raw": 0.49988, "ff_embedding": 0.65476, "rnn": 0.72356,
                 "lstm": 0.85052}

table = pd.DataFrame(board).T
table["original, last epoch"] = pd.Series(ORIGINAL_LAST)
table["original, best epoch"] = pd.Series(ORIGINAL_BEST)
table = table.astype({"parameters": int, "epochs_run": int, "best_epoch": int})
table.style.format(
    {
        "parameters": "{:,}",
        "seconds_per_epoch": "{:.1f}",
        "valid_accuracy": "{:.2%}",
        "test_accuracy": "{:.2%}",
        "original, last epoch": "{:.2%}",
        "original, best epoch": "{:.2%}",
    },
    na_rep="—",
)


# In[21]:


fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
markers = dict(zip(table.index, "osDv^P"))
for ax, column, label in [
    (axes[0], "parameters", "trainable parameters"),
    (axes[1], "seconds_per_epoch", "seconds per epoch (1 thread)"),
]:
    for number, (name, row) in enumerate(table.iterrows()):
        colour, x = f"C{number}", row[column]
        ax.scatter(x, row["test_accuracy"], s=50, marker=markers[name], color=colour,
                   label=name)
        original = row["original, last epoch"]
        if pd.notna(original):  # hollow: the original's last epoch, same architecture
            ax.scatter(x, original, s=50, marker=markers[name], facecolors="none",
                       edgecolors=colour)
            ax.plot([x, x], [original, row["test_accuracy"]], color=colour,
                    linewidth=0.8, linestyle="--")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set(xscale="log", xlabel=label)
axes[0].set_ylabel("test accuracy")
handles, names = axes[0].get_legend_handles_labels()
handles.append(plt.Line2D([], [], marker="o", linestyle="none", markerfacecolor="none",
                          markeredgecolor="black"))
names.append("hollow: the original's last epoch")
fig.legend(handles, names, loc="lower center", ncol=4, fontsize=8, frameon=False)
fig.suptitle(
    "Six contestants on IMDb: accuracy against size and against time", fontsize=11
)
fig.tight_layout(rect=(0, 0.12, 1, 1))
plt.show()


# The dotted line is chance. Each hollow marker is the original notebook's last-epoch test
# accuracy for the same contestant, drawn at *our* model's size and time, so the dashed line
# shows how far the original's printed number lies from ours. For the two recurrent models that
# gap mixes the shape bug above with the original's other choices (the simple RNN's learning
# rate, starting embeddings, the epoch kept), so it says little about recurrence itself.
# 
# ### Targets
# 
# A number fixed before the test set is looked at can only be met or missed; it cannot be tuned
# afterwards. That is the point of the targets below, and the opposite of reading off the best of
# ten test scores. Each learning contestant has one; the cell says for each whether it was met
# and, for a miss, by how much.

# In[22]:


TARGETS = {
    "ff_embedding": 0.80,
    "cnn": 0.88,
    "rnn": 0.80,
    "lstm": 0.87,
    "cnn_lstm": 0.87,
}
for name, target in TARGETS.items():
    achieved = board[name]["test_accuracy"]
    gap = achieved - target
    verdict = "met" if gap >= 0 else f"missed by {-100 * gap:.2f} percentage points"
    print(
        f"{name:>12}: target {target:.0%} | achieved {achieved:.2%} | gap "
        f"{100 * gap:+.2f} points | {verdict} ({board[name]['tokens_kept']} tokens)"
    )


# Validation sent the simple RNN to the first 500 tokens of each review and the LSTM to the last
# 500, the original's choice; the LSTM still missed its target, by the 0.39 points printed above.
# What was tried on validation is in the sections above: first against last 500 tokens for the two
# recurrent contestants, and, for the simple RNN, PyTorch's default embeddings and dropout on the
# inputs. Not tried here: a smaller learning rate or weight decay for the recurrent models,
# dropout between stacked LSTM layers, a bidirectional reader (chapter 6 brings the last two).
# The test set was not used to choose anything.

# In[23]:


best = table["test_accuracy"].astype(float).idxmax()
fastest = min(
    (n for n in table.index if n != "ff_raw"),
    key=lambda n: table.loc[n, "seconds_per_epoch"],
)
print(
    f"Most accurate: {best} ({table.loc[best, 'test_accuracy']:.2%}). "
    f"Fastest of the five that learn: {fastest} "
    f"({table.loc[fastest, 'seconds_per_epoch']:.1f} s per epoch). "
    f"The raw-id perceptron: {table.loc['ff_raw', 'test_accuracy']:.2%}, chance is 50%."
)


# How the models learned is in their histories. The validation accuracy per epoch shows who
# overfits early (the best epoch comes first and the curve then falls) and who was still learning
# when the epoch budget ran out.

# In[24]:


curves = pd.DataFrame(
    {
        name: pd.Series(h.column("valid_accuracy"), index=h.column("epoch"))
        for name, h in histories.items()
    }
)
curves.index.name = "epoch"
curves.style.format("{:.2%}", na_rep="")


# In[25]:


results.save("05_contestants", {
    f"{name}.{metric}": row[metric]
    for name, row in board.items()
    for metric in ("test_accuracy", "parameters", "seconds_per_epoch")
}, device=device)


# The numbers this run saved, and how and when it ran, are on the [results page](results.md),
# beside the original's.

# ## Summary
# 
# - On test, the CNN was the most accurate contestant (88.99 %), then the CNN+LSTM (87.96 %) and
#   the LSTM (86.61 %, 0.39 points short of its target); this chapter trains no linear baseline
#   (chapter 6 sets one beside an LSTM on IMDb).
# - Token ids are labels, not quantities: a network that reads them as numbers learns nothing, and
#   an embedding layer is what turns them into something a network can use.
# - Flattening 500 embeddings into one perceptron works, but spends millions of weights relearning
#   every word at every position and fits its training reviews within a few epochs; early stopping
#   on validation picks the epoch before that.
# - Weight sharing, over positions (convolution) or over time (recurrence), gives models with a
#   small fraction of the parameters; with padding at the end, read a recurrent state at each
#   review's last real token.
# - A recurrent layer built without `batch_first=True` and fed `(batch, steps, features)` recurs
#   across the reviews of a batch, not across the words. The original's RNN and LSTM did that, so
#   their printed accuracies say little about recurrence; this chapter's table puts them beside
#   models that read each review in order.
# 
# ## Exercises
# 
# 1. Count the parameters of the perceptron on embeddings by hand (vocabulary 10,002, embedding
#    100, 500 positions, 250 hidden units, one output) and check against the table.
# 2. Count the parameters of the simple RNN and the LSTM contestants by hand. Why is the LSTM's
#    recurrent layer exactly four times the RNN's?
# 3. The original's perceptron on embeddings printed 94.00 % training accuracy and 65.48 % test
#    accuracy at its last epoch. What does that gap say, and which parts of this chapter's recipe
#    address it?
# 4. `models.RecurrentClassifier` reads `models.last_real_step(output, lengths)`. Suppose it read
#    `output[:, -1]` instead, on batches padded to all 500 steps. What would the simple RNN read
#    for a 100-token review, and why is that harder to learn from?
# 5. Why does max-over-time pooling make the CNN insensitive to *where* in the review a phrase
#    occurs? Name a case where that is a weakness.
# 
# :::{admonition} Answers
# :class: dropdown
# 
# 1. Embedding: 10,002 × 100 = 1,000,200. Hidden layer: (500 × 100) × 250 weights + 250 biases
#    = 12,500,250. Output: 250 + 1 = 251. Total 13,500,701, as in the parameter table; 93 % of it
#    is the hidden layer.
# 2. Both have the embedding (1,000,200) and an output layer of 100 + 1 = 101. The RNN layer has
#    input weights 100 × 100, recurrent weights 100 × 100 and two bias vectors of 100: 20,200, so
#    1,020,501 in all. The LSTM has the same four blocks for each of its input, forget and output
#    gates and its candidate cell update: 4 × 20,200 = 80,800, so 1,081,101 in all.
# 3. It fitted its training reviews far better than reviews it had not seen: it memorised. It has
#    12.5 million weights in its hidden layer and learns each word separately at every position.
#    The original trained it for a fixed ten epochs and kept the last. Here early stopping keeps
#    the epoch with the lowest validation loss, so the model that is scored is the one from before
#    memorising took over (its history above shows the training accuracy climbing while the
#    validation loss rises); dropout on its inputs and hidden layer works against memorising too.
# 4. It reads the state after the 100 real tokens *and* 400 pad steps. The pad steps all feed the
#    same input vector (the zero `<pad>` embedding), so the state is pushed towards what the
#    recurrence does with that input, and the review's information has to survive 400 steps of it;
#    the gradient that reaches the real tokens has to cross the same 400 steps.
# 5. The maximum of a feature map is the same wherever the maximum sits, so "not good" at the
#    start and at the end produce the same pooled feature. That is a weakness when order matters
#    across phrases: "I expected it to be terrible, but it was great" and "I expected it to be
#    great, but it was terrible" give nearly the same pooled features.
# :::
