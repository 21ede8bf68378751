#!/usr/bin/env python
# coding: utf-8

# # Recurrent models fast on a CPU
# 
# [Chapter 3](03_from_text_to_tensors.ipynb) gave three ways to put reviews of different lengths
# into one batch: pad them to the longest review of a random batch, bucket reviews of similar
# length together, or pack the batch so that the LSTM skips the padding. All three give each
# review the state after its last real token; they differ in what they cost. On a
# CPU two things deserve a measurement: denormal numbers in the
# gradients of a fresh LSTM, which some processors handle very slowly, and the backward pass of a
# packed LSTM. This page measures both on IMDb, per real token, so that batches holding different
# numbers of real tokens compare fairly.

# In[1]:


import copy
import itertools
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.profiler import profile

from textclf import data, models, probes, results, settings, text, training

device = training.setup(seed=0)
MAX_LENGTH = 500  # chapter 3's choice for IMDb
train_df = data.load("imdb", "train")
tokenize = text.tokenizer("basic_english")
vocab = text.build_vocab(map(tokenize, train_df.text), max_size=25_000)
train_ids = text.encode_texts(train_df.text, tokenize, vocab, max_length=MAX_LENGTH)
train_set = text.EncodedDataset(train_ids, train_df.label)
print(f"{len(train_set):,} IMDb training reviews, at most {MAX_LENGTH} tokens; {vocab}")


# ## The model and three ways to feed it
# 
# One small classifier serves all three inputs: an embedding of 100, one LSTM layer of 128 and a
# linear head. With `pack=False` it runs over the padded batch, every step of every row, and reads
# the output at each review's last real token (chapter 1's cure, exact for one direction). With
# `pack=True` it packs the batch and reads `h_n`. One training step is forward, backward and an
# Adam update on a batch of 64 reviews.
# 
# - **padded**: random batches, the LSTM runs all steps;
# - **bucketed**: the same model on length-bucketed batches (little padding left);
# - **packed**: packed batches, the padding skipped. Packing is timed on random and on bucketed
#   batches.

# In[2]:


def lstm_classifier(pack=False):
    """Embedding (100), one LSTM layer (128 units) and a linear head, read at each
    review's last real token: by indexing the padded output, or by packing the batch if
    ``pack``."""
    return models.RecurrentClassifier(len(vocab), 100, 128, num_classes=1, cell="lstm",
                                      pack=pack)


torch.manual_seed(0)
# every variant starts from these weights
initial_state = copy.deepcopy(lstm_classifier().state_dict())


def fresh_model(pack=False, state=initial_state):
    """The classifier holding a copy of ``state``."""
    model = lstm_classifier(pack)
    model.load_state_dict(state)
    return model


print(f"{training.count_parameters(fresh_model()):,} parameters")


# ## Denormals: why a fresh LSTM can be slow
# 
# A float32 holds numbers down to about 1.2e-38 at full precision. Below that, down to about
# 1.4e-45, it falls back to **denormal** (subnormal) numbers. Some processors handle arithmetic on
# them in microcode, many times slower than normal; others handle them at almost full speed, so
# only a measurement on the machine at hand says what they cost. `torch.set_flush_denormal(True)`
# tells the CPU to treat them as zero instead. `training.setup()` turns it on; to compare, we have
# to turn it off, and there is a catch.
# 
# The setting is a flag of the CPU core's floating-point unit, set **per thread**. PyTorch splits
# large operations over a pool of worker threads, which were started (and copied the flag) while
# it was on. Switching it off afterwards changes only the thread that runs the notebook:

# In[3]:


torch.set_flush_denormal(False)
denormal = torch.full((4,), 1e-39)  # 1e-39 is below 1.2e-38: a denormal float32
# large enough to be split over the threads
many_denormals = torch.full((2_000_000,), 1e-39)
print(
    f"small op, run on the notebook's thread: 1e-39 * 1 = "
    f"{(denormal * 1.0)[0].item():.3g}"
)
print(
    f"large op, split over {torch.get_num_threads()} threads: "
    f"{((many_denormals * 1.0) == 0).float().mean().item():.0%} of the results "
    f"flushed to zero"
)
torch.set_flush_denormal(True)


# If the second line shows a share above zero, some threads still flush while the notebook's
# thread does not: a "flush off" measurement would be part on, part off. So the measurements on
# this page run on **one thread**, where the switch applies to all of the work, and the thread
# count is restored afterwards.
# 
# Where would such tiny numbers come from? From backpropagation through time. The gradient that
# reaches step *t* has been multiplied by one step's Jacobian for every step after *t*, and in a
# freshly initialised LSTM those factors are well below one. `probes.gradient_per_step` follows
# the gradient of one 500-token review back to its embedded inputs and keeps, for every step, the
# largest absolute value:

# In[4]:


tiny = torch.finfo(torch.float32).tiny  # smallest normal float32
long_review = next(ids for ids in train_ids if len(ids) == MAX_LENGTH)[None]  # (1, 500)


def largest_gradient_per_step(model, ids, flush):
    """Largest |gradient| of the logit reaching each embedded input step, with
    flush-denormal ``flush``, in float64. ids: (1, steps) -> (steps,)."""
    torch.set_flush_denormal(flush)
    x = model.embedding(ids).detach()  # (1, steps, embed_dim)

    def read(x):  # x: (1, steps, embed_dim) -> (1, 1)
        output, _ = model.rnn(x)  # (1, steps, hidden_dim)
        return model.head(output[:, -1])

    per_step = probes.gradient_per_step(read, x, reduce="max")  # (steps,)
    # float64 holds 1e-40 as a normal number; converted while flush is still off,
    # because with flush on the CPU also reads denormal inputs as zero
    per_step = per_step.double()
    torch.set_flush_denormal(True)  # back to training.setup()'s choice
    return per_step


def reach_and_denormals(model, ids):
    """Steps back from the end that get any gradient (flush on), and steps whose largest
    gradient is denormal (flush off)."""
    on = largest_gradient_per_step(model, ids, flush=True)
    off = largest_gradient_per_step(model, ids, flush=False)
    return int((on > 0).sum()), int(((off > 0) & (off < tiny)).sum()), on, off


with training.using_threads(1):  # one thread: see above
    reach, denormal_steps, flush_on, flush_off = reach_and_denormals(
        fresh_model(), long_review
    )
fig, ax = plt.subplots(figsize=(6.5, 3.2))
for values, label, style in [(flush_off, "off", "--"), (flush_on, "on", "-")]:
    ax.plot(values.clamp_min(1e-46), label=f"flush-denormal {label}", linestyle=style)
ax.axhline(tiny, color="grey", linestyle=":", label="smallest normal float32")
ax.set(
    yscale="log",
    ylim=(1e-46, 1),
    xlabel="step of the review",
    ylabel="largest |gradient| at that step",
    title="Gradient reaching each input step, fresh LSTM",
)
ax.legend(loc="upper left", fontsize=8)
plt.show()
print(
    f"the gradient reaches {reach} steps back from the end; the first "
    f"{MAX_LENGTH - reach} steps get exactly zero (flush on)"
)
print(f"with flush off, the largest gradient is denormal at {denormal_steps} steps")


# The gradient shrinks by orders of magnitude every few steps. Going back from the end, it crosses
# the dotted line into the denormal band and then becomes exactly zero (drawn at 1e-46): at
# initialisation, the LSTM receives no learning signal at all from the start of a long review.
# With flush off, the crossing passes through a band of denormal values (the last printed line
# counts the steps), and every operation on them in the backward pass may take the processor's
# slow path. With flush on, the gradient jumps straight to zero. The reach depends on the weights,
# so it is measured again after some training below.
# 
# ## The timing table
# 
# Each variant starts from the same initial weights and trains on the same batches, drawn once
# per input type; the first step is a warm-up and `training.median_step_seconds` reports the
# median of the others. Packed steps are slow enough that they are timed only with flush on,
# without a warm-up (next to seconds per step, the first step's extra set-up time does not
# matter). Random and bucketed batches hold different numbers of real tokens, so the table divides
# each step's time by the real tokens in its batch: milliseconds per 1,000 real tokens.

# In[5]:


timed = settings.full_or_quick(5, 2)  # batches per input: 1 warm-up, the rest timed
packed_timed = settings.full_or_quick(3, 1)
random_batches = list(
    itertools.islice(text.data_loader(train_set, 64, shuffle=True, seed=1), timed)
)
bucketed_batches = list(
    itertools.islice(text.data_loader(train_set, 64, bucket=True, seed=1), timed)
)
variants = {  # name: (pack?, batches, flush settings, warm-up steps)
    "padded": (False, random_batches, (True, False), 1),
    "bucketed": (False, bucketed_batches, (True, False), 1),
    "packed": (True, random_batches[:packed_timed], (True,), 0),
    "packed, bucketed": (True, bucketed_batches[:packed_timed], (True,), 0),
}


def median_step_ms(model, batches, warmup):
    """Median milliseconds of one Adam training step on ``batches`` after ``warmup``."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return 1000 * training.median_step_seconds(
        model, batches, optimizer, nn.BCEWithLogitsLoss(), warmup=warmup
    )


rows = []
with training.using_threads(1):  # one thread: see above
    for name, (pack, batches, flush_settings, warmup) in variants.items():
        real_tokens = np.mean([lengths.sum().item() for _, lengths, _ in batches])
        row = {
            "input": name,
            "timed steps": len(batches) - warmup,
            "steps per batch": np.mean([ids.shape[1] for ids, _, _ in batches]),
            "real tokens per batch": real_tokens,
            f"reviews over {reach} tokens": np.mean(
                [(lengths > reach).sum().item() for _, lengths, _ in batches]
            ),
        }
        for flush in flush_settings:
            torch.set_flush_denormal(flush)
            step_ms = median_step_ms(fresh_model(pack), batches, warmup)
            row[f"flush {'on' if flush else 'off'} (ms/step)"] = step_ms
            row[f"flush {'on' if flush else 'off'} (ms/1k tokens)"] = (
                1000 * step_ms / real_tokens
            )
        rows.append(row)
torch.set_flush_denormal(True)  # back to training.setup()'s choice
timing = pd.DataFrame(rows).set_index("input")
timing["off / on"] = timing["flush off (ms/step)"] / timing["flush on (ms/step)"]
per_token = timing["flush on (ms/1k tokens)"]
timing["per token vs padded (on)"] = per_token / per_token["padded"]
print(
    f"{training.describe_device(device)}, 1 thread, torch {torch.__version__}; "
    f"load average (1, 5, 15 min) after measuring: "
    f"{tuple(round(v, 2) for v in os.getloadavg())}"
)
timing.round(2).T


# In[6]:


def ratio(numerator, denominator, column="flush on (ms/1k tokens)"):
    return timing.loc[numerator, column] / timing.loc[denominator, column]


off_over_on = {name: timing.loc[name, "off / on"] for name in ("padded", "bucketed")}
print(
    f"Flush-denormal off makes a padded step {off_over_on['padded']:.1f}x as slow, "
    f"a bucketed step {off_over_on['bucketed']:.1f}x (same batches, so the same "
    f"ratio per token)."
)
print(
    f"Per real token (flush on), a padded batch costs "
    f"{ratio('padded', 'bucketed'):.1f}x a bucketed one."
)
print(
    f"Per real token (flush on), packing costs "
    f"{ratio('packed', 'padded'):.1f}x padding on random batches and "
    f"{ratio('packed, bucketed', 'bucketed'):.1f}x bucketing on "
    f"bucketed batches."
)
extra_ms = {
    name: (
        timing.loc[name, "flush off (ms/step)"] - timing.loc[name, "flush on (ms/step)"]
    )
    / timing.loc[name, f"reviews over {reach} tokens"]
    for name in ("padded", "bucketed")
}
print(
    f"Flush off costs about {extra_ms['padded']:.0f} ms per review over {reach} "
    f"tokens in the padded batches, {extra_ms['bucketed']:.0f} ms in the bucketed ones."
)


# Three effects, each measured in the same run:
# 
# - **Denormals.** The off / on row is the price of the slow path for a freshly initialised model.
#   It can only be paid by reviews long enough for their gradient to decay into the denormal band
#   (longer than the reach printed under the gradient plot), so it would follow the "reviews over
#   ... tokens" row rather than the padding; the last printed line divides the extra time by that
#   count. In this run, on this processor, the price is within timing noise: the off / on ratios
#   are 1.01 and 1.00, and the extra time per long review rounds to 0 ms either way, for steps of
#   280 and 155 milliseconds (flush on). The denormals are there (the gradient plot shows them);
#   this processor does not measurably slow down on them. On a processor that takes a microcode
#   path for denormal operands the same two rows would differ; this run cannot say by how much.
#   Turning flush-denormal on costs nothing in accuracy either way: the numbers it zeroes are
#   below 1.2e-38 and add nothing a float32 sum could keep. That is why `training.setup()` turns
#   it on, on every machine.
# - **Bucketing.** An unpacked LSTM does the same work for a padded step as for a real one, so a
#   padded batch pays for its padding; per real token, the second printed line says how much
#   bucketing saves.
# - **Packing** skips every padded step, and yet the third printed line compares its cost per real
#   token with padding and with bucketing. Bucketed batches have little padding for packing to
#   skip, so the bucketed comparison isolates what packing itself costs. A profile of the backward
#   pass shows where the time goes.
# 
# ## Why packing is slow on a CPU
# 
# Profiling the backward pass of a smaller packed batch (16 reviews, at most 200 tokens) and
# listing the operators that take the most time:

# In[7]:


small = [ids[:200] for ids in train_ids[:16]]
small_ids, small_lengths, _ = text.collate([(ids, torch.tensor(0)) for ids in small])
with training.using_threads(1):  # one thread: see above
    model = fresh_model()
    x = model.embedding(small_ids)  # (16, steps, embed_dim)
    packed = pack_padded_sequence(
        x, small_lengths, batch_first=True, enforce_sorted=False
    )
    _, (h_n, _) = model.rnn(packed)
    with profile(record_shapes=True) as profiler:
        h_n[-1].sum().backward()
events = sorted(
    profiler.key_averages(group_by_input_shape=True),
    key=lambda e: e.self_cpu_time_total,
    reverse=True,
)
total_us = sum(e.self_cpu_time_total for e in events)
tokens = packed.data.shape[0]
whole_batch = [
    e
    for e in events
    if e.key in ("aten::fill_", "aten::add_")
    and e.input_shapes
    and e.input_shapes[0][:1] == [tokens]
]
print(
    f"packed tokens: {tokens:,}; LSTM steps: {len(packed.batch_sizes)}; fill_ and "
    f"add_ on ({tokens}, ...) tensors: "
    f"{sum(e.count for e in whole_batch)} calls, "
    f"{100 * sum(e.self_cpu_time_total for e in whole_batch) / total_us:.0f}% "
    f"of the backward time"
)
pd.DataFrame(
    [
        {
            "operator": e.key,
            "first input shape": e.input_shapes[0] if e.input_shapes else None,
            "calls": e.count,
            "% of backward time": 100 * e.self_cpu_time_total / total_us,
        }
        for e in events[:5]
    ]
).round(1)


# Zeroing (`fill_`) and summing (`add_`) tensors of shape *(packed tokens, 4 × hidden)*, about
# once per LSTM step, take a large share of the backward pass. For a packed sequence, PyTorch's
# CPU LSTM projects all tokens of the batch at once and then, at each step, takes the slice of
# rows for that step. In the backward pass, the gradient of each slice is a zero tensor the size
# of *all* tokens with one slice filled in, and these are summed. The work is proportional to
# steps × tokens: quadratic in the sequence length, where the padded LSTM is linear. Bucketing
# lowers packing's cost per token too (compare the two packed columns of the table), but it cannot
# remove the quadratic term: a bucketed batch still has as many steps as its longest review and as
# many tokens as its reviews hold, and packed it still costs several times what the same batch
# costs unpacked (the third printed line). This is a cost of PyTorch's CPU implementation; on a
# GPU, cuDNN handles packed batches in kernels of its own. On a CPU, bucketing plus reading the
# state at `length - 1` gets the correctness of packing without its cost for one direction;
# chapter 6 does the same for a bidirectional LSTM.
# 
# ## After some training
# 
# The denormal cost depends on the weights, not only on the data: the reach of the gradient is set
# by how strongly each step's Jacobian shrinks it. To see whether training changes it, the padded
# model trains for a few hundred steps on bucketed batches (with the usual settings: flush on, all
# threads), then the gradient probe and the padded timing run again on the same review and the
# same batches.

# In[8]:


train_steps = settings.full_or_quick(300, 5)
model = fresh_model()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.BCEWithLogitsLoss()
model.train()
bucketed_loader = text.data_loader(train_set, 64, bucket=True, seed=2)
losses = []
for ids, lengths, labels in itertools.islice(bucketed_loader, train_steps):
    loss = loss_fn(model(ids, lengths).squeeze(1), labels.float())  # (batch,)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
trained_state = copy.deepcopy(model.state_dict())
with training.using_threads(1):  # measured on one thread, as above
    trained_reach, trained_denormal_steps, _, _ = reach_and_denormals(
        model, long_review
    )
    trained_ms = {}
    for flush in (True, False):
        torch.set_flush_denormal(flush)
        trained_ms[flush] = median_step_ms(
            fresh_model(state=trained_state), random_batches, warmup=1
        )
    torch.set_flush_denormal(True)  # back to training.setup()'s choice
trained_off_over_on = trained_ms[False] / trained_ms[True]
print(
    f"after {train_steps} steps (mean loss of the last 20: "
    f"{np.mean(losses[-20:]):.3f}, of the first 20: {np.mean(losses[:20]):.3f}):"
)
print(f"  gradient reach: {trained_reach} steps (fresh: {reach})")
print(
    f"  steps with a denormal largest gradient, flush off: {trained_denormal_steps} "
    f"(fresh: {denormal_steps})"
)
print(
    f"  padded step, flush off / on: {trained_off_over_on:.2f}x "
    f"(fresh: {off_over_on['padded']:.2f}x)"
)


# Compare the three lines with the fresh model's numbers beside them. Three hundred steps
# lengthened the reach from 171 to 327 steps of the 500-token review, yet the gradient still
# decays into the denormal band, only further back, and through more steps than before (72 against
# 34). In this run the off / on ratio of the trained model (1.00) is, like the fresh one's (1.01),
# 1 within timing noise: it has denormals to handle and does not measurably slow down on them. So
# the denormal question is a property of the weights at a given moment, and of the processor.
# Flushing costs nothing, so the book always does.

# ## Bfloat16: fewer bits, more multiplies per second
# 
# Everything so far ran in float32: 24 significant bits (about 7 decimal digits) and an 8-bit
# exponent. **Bfloat16** keeps the same 8-bit exponent, so it covers the same range of sizes,
# but only 8 significant bits: each number is rounded with a relative error of at most $2^{-8}$,
# about 0.4 %. Half the bytes per number means twice as many numbers per 512-bit register, and
# processors with the AVX512-BF16 instructions (or Intel's AMX) multiply pairs of bfloat16
# numbers and add the products into float32 sums in one instruction. Where those instructions
# exist, a matrix multiply can run at more than twice the float32 rate; where they do not,
# PyTorch emulates bfloat16 and it is slower than float32.
# 
# `torch.autocast("cpu", dtype=torch.bfloat16)` runs a list of operations (matrix multiplies,
# linear layers, the CPU LSTM) in bfloat16 while the weights stay float32 and the optimizer
# updates them in float32. The book's switch is `training.setup(precision="bf16")`: `fit`,
# `evaluate` and `predict` then run each forward pass under autocast and compute losses and
# probabilities in float32. It refuses a processor without bfloat16 instructions, and
# `precision="auto"` chooses for you. To compare both in one run, `training.using_precision`
# switches for one block. First the ceiling: a large matrix multiply, in both formats.

# In[9]:


print(
    f"bfloat16 instructions: {'yes' if training.bf16_supported() else 'no'} "
    f"({training.describe_processor()}), {torch.get_num_threads()} threads"
)
n = settings.full_or_quick(2048, 256)
repeats = settings.full_or_quick(10, 2)


def matmul_gflops(dtype):
    """Median GFLOP/s of an (n x n) @ (n x n) product, 2 n^3 operations."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        seconds.append(time.perf_counter() - start)
    return 2 * n**3 / np.median(seconds) / 1e9


matmul = {"fp32": matmul_gflops(torch.float32), "bf16": matmul_gflops(torch.bfloat16)}
print(
    f"{n} x {n} matrix multiply: float32 {matmul['fp32']:.0f} GFLOP/s, "
    f"bfloat16 {matmul['bf16']:.0f} GFLOP/s ({matmul['bf16'] / matmul['fp32']:.2f}x)"
)


# A training step is more than matrix multiplies: gate nonlinearities, element-wise products,
# dropout, pooling and the Adam update all move memory without the multiply units' help. To see
# how close a real step comes to the ceiling, we time chapter 6's model (`BiLSTMClassifier`: two
# bidirectional layers, the fast reader, final + max + mean pooling, 50-dimensional embeddings)
# on batches of 64 reviews cut to exactly 256 tokens, so that every step of every row is real and
# the work can be counted. Each direction of each layer does two matrix-vector products per
# token, $4H \times I$ for the input and $4H \times H$ for the previous state: $2 \cdot 4H(I + H)$
# floating-point operations. The backward pass costs about twice the forward, so a training step
# is about three times the forward count (the head, pooling and embedding are left out; they are
# small next to the LSTM).

# In[10]:


def lstm_training_flops(batch, steps, embed_dim, hidden_dim, layers=2, directions=2):
    """About 3x (forward + backward) the gate products of a multi-layer (bi)LSTM."""
    forward = 0
    for layer in range(layers):
        inputs = embed_dim if layer == 0 else directions * hidden_dim
        forward += (
            directions * batch * steps * 2 * 4 * hidden_dim * (inputs + hidden_dim)
        )
    return 3 * forward


STEPS = settings.full_or_quick(256, 32)
long_enough = [ids[:STEPS] for ids in train_ids if len(ids) >= STEPS]
step_batches = [
    text.collate([(ids, torch.tensor(0)) for ids in long_enough[i : i + 64]])
    for i in range(0, 64 * settings.full_or_quick(6, 2), 64)
]  # 1 warm-up batch, the rest timed; all (64, STEPS)
step_rows = []
for hidden in (128, 256):
    flops = lstm_training_flops(64, STEPS, 50, hidden)
    row = {"hidden": hidden, "GFLOP per step": flops / 1e9}
    for name in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = models.BiLSTMClassifier(
            len(vocab), 50, hidden, num_classes=1, pooling="final+max+mean"
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        with training.using_precision(name):
            seconds = training.median_step_seconds(
                model, step_batches, optimizer, nn.BCEWithLogitsLoss()
            )
        row[f"{name} ms/step"] = 1000 * seconds
        row[f"{name} GFLOP/s"] = flops / seconds / 1e9
    row["bf16 speed-up"] = row["fp32 ms/step"] / row["bf16 ms/step"]
    step_rows.append(row)
steps_table = pd.DataFrame(step_rows).set_index("hidden")
for name in ("fp32", "bf16"):
    steps_table[f"{name} % of matmul peak"] = (
        100 * steps_table[f"{name} GFLOP/s"] / matmul[name]
    )
steps_table.round(2).T


# The price is rounding. Where does it enter an LSTM? Under autocast the CPU LSTM returns its
# output and its cell state $c_t$, which carries information from step to step, in bfloat16 (the
# next cell prints the dtypes). If the state is rounded at every step, an error made at one step
# is carried into the next, and the worry is that it accumulates over a long review. The cell
# below runs the model trained above (300 steps) over reviews of 500 tokens in both precisions,
# with the same weights, and measures the LSTM's outputs step by step: the mean absolute
# difference at each step, relative to the mean size of the float32 output there. Then it compares
# the predictions themselves on a few batches of training reviews.

# In[11]:


model = fresh_model(state=trained_state).eval()
full_length = torch.stack(
    [ids for ids in train_ids if len(ids) == MAX_LENGTH][:32]
)  # (32, 500)
with torch.no_grad():
    embedded = model.embedding(full_length)  # (32, 500, 100), float32
    out32, (_, c32) = model.rnn(embedded)  # (32, 500, 128)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out16, (_, c16) = model.rnn(embedded)
print(f"under autocast: output {out16.dtype}, cell state {c16.dtype}")
gap = (out16.float() - out32).abs().mean(dim=(0, 2))  # (500,)
relative = gap / out32.abs().mean(dim=(0, 2))  # (500,)
shown = [1, 10, 100, 250, 500]
print(
    "relative difference at step "
    + ", ".join(f"{t}: {relative[t - 1]:.2%}" for t in shown)
)
fig, ax = plt.subplots(figsize=(6.5, 3))
ax.plot(np.arange(1, MAX_LENGTH + 1), 100 * relative.numpy())
ax.set(
    xlabel="step of a 500-token review",
    ylabel="bf16 vs fp32 (%)",
    ylim=(0, None),
    title="Relative difference of the LSTM output, bfloat16 against float32",
)
plt.show()

compare_batches = random_batches + bucketed_batches
probabilities = {}
for name in ("fp32", "bf16"):
    with training.using_precision(name):
        probabilities[name], _ = training.predict(model, compare_batches, device)
difference = np.abs(probabilities["bf16"][:, 1] - probabilities["fp32"][:, 1])
flipped = int(
    ((probabilities["bf16"][:, 1] > 0.5) != (probabilities["fp32"][:, 1] > 0.5)).sum()
)
print(
    f"{len(difference)} reviews: largest probability difference "
    f"{difference.max():.4f}, "
    f"median {np.median(difference):.4f}; decisions that differ: {flipped}"
)


# In this run a 2048 × 2048 multiply ran at 198 GFLOP/s in float32 and 880 GFLOP/s in
# bfloat16, 4.45 times as fast: more than the factor of two that half the bytes per number would
# give, for reasons this page does not isolate. A training step of chapter 6's model gained much
# less: 1.25 times at 128 hidden units (406 against 325 ms) and 1.84 times at 256 (1,303 against
# 708 ms). The table shows where the rest went. The GFLOP/s column counts only the LSTM's matrix
# products, and divides them by the time of the whole step. In float32 the step reaches 70 % of
# the multiply peak at 128 hidden units and 84 % at 256: most of a step is matrix work. In
# bfloat16 it reaches 20 % and 35 % of a peak 4.45 times higher: the matrix work got faster, and
# what is not matrix work (the gate functions, element-wise products, dropout, the reversal and
# the pooling, the Adam update) now takes a larger share of the step. Larger matrices leave it a
# smaller share, which fits the larger speed-up at 256 units; the table does not time the two
# parts separately.
# 
# Under autocast the LSTM returns its output and its cell state in bfloat16; the dtypes do not
# show what the kernel keeps between steps, but the output is rounded at every step. The printed
# differences do not grow along the review: about 0.27 % of the output's size at every step shown,
# from the first to the 500th. On 640 training reviews the trained model's probabilities moved by
# 0.0044 at most (median 0.0002), and no decision changed.
# 
# That is a statement about predictions with fixed weights. Training also rounds every gradient,
# so whether a model keeps its accuracy when *trained* in bfloat16 has to be measured on
# validation, with the same seed and batches in both precisions.
# `training.setup(precision="bf16")` is the switch for that. Chapters 6 and 9 make the
# comparison, training one model in both precisions from the same start; chapter 10 trained
# in bfloat16.

# ## Summary
# 
# - A fresh LSTM's gradient decays through the denormal range a couple of hundred steps back from
#   the end of a review. Whether that costs time depends on the processor: on this run's, flush
#   off and on took nearly the same time. `training.setup()` flushes anyway, at no cost in
#   accuracy. The flag is per thread, so compare on one thread.
# - Padded batches pay for their padding; per real token, bucketed batches are cheaper.
# - On a CPU, packing's backward pass is quadratic in the sequence length, on random and on
#   bucketed batches alike; reading the state at each review's last real token is exact for one
#   direction and avoids it (chapter 6 extends this to two directions).
# - Bfloat16 autocast, on a processor with bfloat16 instructions: in this run a matrix multiply
#   ran 4.45 times as fast as in float32 and a training step of chapter 6's model 1.25 to 1.84
#   times; the LSTM's outputs moved by about 0.27 % and no prediction changed.
#   `training.setup(precision="bf16")` switches it on and refuses a processor without those
#   instructions.

# In[12]:


results.save(
    "appendix_cpu_speed",
    {
        "gradient.reach_steps": reach,
        "gradient.denormal_steps_flush_off": denormal_steps,
        **{
            f"step_ms.{name.replace(', ', '_')}.flush_{flush}": timing.loc[
                name, f"flush {flush} (ms/step)"
            ]
            for name in variants
            for flush in ("on", "off")
            if pd.notna(timing.loc[name, f"flush {flush} (ms/step)"])
        },
        **{
            f"ms_per_1k_tokens.{name.replace(', ', '_')}.flush_on": value
            for name, value in per_token.items()
        },
        "ratio.padded.flush_off_over_on": off_over_on["padded"],
        "ratio.bucketed.flush_off_over_on": off_over_on["bucketed"],
        "per_token_ratio.padded_over_bucketed": ratio("padded", "bucketed"),
        "per_token_ratio.packed_over_padded": ratio("packed", "padded"),
        "per_token_ratio.packed_over_bucketed.bucketed_batches": ratio(
            "packed, bucketed", "bucketed"
        ),
        "trained.steps": train_steps,
        "trained.gradient.reach_steps": trained_reach,
        "trained.ratio.padded.flush_off_over_on": trained_off_over_on,
        "matmul.size": n,
        "matmul.gflops_fp32": matmul["fp32"],
        "matmul.gflops_bf16": matmul["bf16"],
        **{
            f"step.hidden_{hidden}.{key}": steps_table.loc[hidden, column]
            for hidden in steps_table.index
            for key, column in [
                ("gflops_fp32", "fp32 GFLOP/s"),
                ("gflops_bf16", "bf16 GFLOP/s"),
                ("ms_fp32", "fp32 ms/step"),
                ("ms_bf16", "bf16 ms/step"),
                ("bf16_speedup", "bf16 speed-up"),
            ]
        },
        "step.gflops_fp32": steps_table.loc[128, "fp32 GFLOP/s"],
        "step.gflops_bf16": steps_table.loc[128, "bf16 GFLOP/s"],
        "bf16.output_relative_difference_step_500": float(relative[-1]),
        "bf16.largest_probability_difference": float(difference.max()),
        "bf16.decisions_differing": flipped,
        "bf16.reviews_compared": len(difference),
    },
    device=device,
)


# The numbers this run saved, and how and when it ran, are on the [results page](results.md).

# ## Exercises
# 
# 1. Why is the denormal cost paid per *long review* and not per padded step? Use the padded
#    model's reading of the state at `length - 1`.
# 2. For a packed batch of $B$ reviews of length $L$ and a hidden size $H$, about how many numbers
#    do the `fill_` and `add_` calls of the profile touch in one backward pass? How does that
#    count grow with $L$, compared with the number of gate values the LSTM computes?
# 3. The timing table packs bucketed batches as well as random ones. Why can bucketing, which
#    removes almost all padding, not rescue packing on a CPU?
# 4. The last measurement trained the model before timing it again. On a processor that is slow
#    on denormals, why would the off / on ratio depend on the weights at all, and not only on the
#    lengths of the reviews?
# 5. The bfloat16 table counts only the LSTM's matrix products. Estimate the operations of the
#    pooling (max and mean over the steps) and of the linear head for hidden size 128 and a batch
#    of 64 reviews of 256 tokens. Does leaving them out change the GFLOP/s column noticeably?
# 6. Bfloat16 keeps float32's 8-bit exponent; float16 has a 5-bit one and more significant bits.
#    Which of the two can represent a gradient of $10^{-9}$, and which a logit of $10^{5}$? Why
#    does float16 training usually need a loss scaler and bfloat16 training does not?
# 
# :::{admonition} Answers
# :class: dropdown
# 
# 1. The gradient flows backwards from the step where the head reads the state, `length - 1`.
#    Padded steps after it never receive a gradient (nothing reads them), so they cost the same
#    with flush on or off. What decays into the denormal band is the gradient at the real steps
#    more than "reach" steps before the end of the review, and only reviews longer than the reach
#    have such steps.
# 2. About one `fill_` and one `add_` per step, each on a tensor of $B L \times 4H$ numbers: about
#    $2 L \cdot B L \cdot 4H = 8 B L^2 H$, quadratic in $L$. The LSTM computes $4H$ gate values
#    per token, $4 B L H$ in all, linear in $L$: the zeroing and summing outweigh the real work by
#    a factor of about $2L$, and the factor grows with the length.
# 3. Packing's extra work is proportional to steps × tokens. A bucketed batch of long reviews
#    still has hundreds of steps and tens of thousands of tokens; it has only lost the padding,
#    which packing skipped anyway. The row "packed, bucketed" and the third printed ratio measure
#    it.
# 4. Each step of backpropagation multiplies the gradient by that step's Jacobian, which is made
#    of the weights (recurrent matrices, forget gates). How fast the gradient shrinks per step,
#    and so how many steps it needs to reach the denormal band, is set by those weights; the
#    lengths only decide how many reviews are long enough to get there. The cell "After some
#    training" measures both the reach and the ratio before and after a few hundred steps: the
#    reach grew from 171 steps to 327 of the 500, and the trained model's gradient still passes
#    through the denormal band (72 steps against 34), only further back from the end.
# 5. The pooling reads the last layer's output, $2H = 256$ numbers per token, once for the maximum
#    and once for the mean: about $2 \cdot 64 \cdot 256 \cdot 256 \approx 8.4$ million operations
#    per forward pass. The head multiplies $3 \cdot 2H = 768$ features (final states, maximum and
#    mean) by one weight each per review: about $2 \cdot 64 \cdot 768 \approx 0.1$ million.
#    Tripled for a training step, as the table counts the LSTM, that is $\approx 25$ million
#    against its 56.57 GFLOP, under half a thousandth: a GFLOP/s figure would move only in its
#    second decimal (for example $139.18 \to 139.25$), not noticeably.
# 6. Bfloat16 reaches down to about $10^{-38}$ like float32 (and further as denormals), so
#    $10^{-9}$ is fine; float16's smallest normal number is about $6 \cdot 10^{-5}$ and its
#    smallest denormal about $6 \cdot 10^{-8}$, so $10^{-9}$ becomes zero. Float16's largest
#    number is 65,504, so a logit of $10^{5}$ overflows to infinity; bfloat16 holds it (rounded).
#    Small gradients vanish in float16, which is why its training multiplies the loss by a large
#    factor before the backward pass and divides the gradients afterwards; bfloat16 has the range
#    and pays with precision instead.
# :::
