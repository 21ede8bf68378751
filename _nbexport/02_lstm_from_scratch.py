#!/usr/bin/env python
# coding: utf-8

# # An LSTM from scratch
# 
# `nn.LSTM` is one line of PyTorch, and it is easy to use it for a whole book without knowing what
# happens inside. This chapter opens the box. We build the LSTM equations in NumPy, as {cite:t}`bujokas_lstm` does, first for a
# single scalar unit that we can follow by hand, then as a vectorised layer over a batch. Then we
# prove the NumPy layer is the real thing by copying the weights of an `nn.LSTM` into it and
# comparing the outputs number by number. With the machinery understood, we measure the problem
# the LSTM was invented for {cite}`hochreiter1997lstm`, vanishing gradients, and finish with a formula for the parameter count
# of any recurrent layer.

# In[1]:


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn

from textclf import models, probes, results, training

# tiny matrices: one thread is faster than several
device = training.setup(seed=0, threads=1)


# ## Two squashing functions: sigmoid and tanh
# 
# An LSTM uses two nonlinearities, and each has a job.
# 
# - The **sigmoid** $\sigma(z) = 1 / (1 + e^{-z})$ maps any number into $(0, 1)$. Multiplying a
#   signal by a number between 0 and 1 lets a fraction of it through, so the sigmoid is the
#   function for **gates**: 0 means "block", 1 means "pass", 0.3 means "let 30% through".
# - The **tanh** maps into $(-1, 1)$ and is centred on zero. It is the function for **values**:
#   the new content the cell might write, which must be able to push the memory up *or* down, and
#   the squashed memory the unit shows to the outside.
# 
# A value computed with a sigmoid could only ever add to the memory, never subtract from it;
# a gate computed with a tanh could flip the sign of what it lets through. Hence the split.
# Their slopes matter as well: the sigmoid's derivative is at most 0.25, the tanh's at most 1, and
# the backward pass multiplies by these slopes at every step.

# In[2]:


def sigmoid(z):
    """The logistic function, written through tanh so that large |z| never overflows
    np.exp."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


z = np.array([-6.0, -2.0, -1.0, 0.0, 1.0, 2.0, 6.0])
squash_table = pd.DataFrame(
    {
        "z": z,
        "sigmoid": sigmoid(z),
        "sigmoid'": sigmoid(z) * (1 - sigmoid(z)),
        "tanh": np.tanh(z),
        "tanh'": 1 - np.tanh(z) ** 2,
    }
)
print(squash_table.round(4).to_string(index=False))


# The identity $\sigma(z) = \tfrac12\,(1 + \tanh(z/2))$ used above is exact; it avoids the
# overflow warning that `1 / (1 + np.exp(-z))` gives for very negative `z`.

# In[3]:


grid = np.linspace(-6, 6, 241)
fig, (values_ax, slopes_ax) = plt.subplots(1, 2, figsize=(9, 3))
values_ax.plot(grid, sigmoid(grid), label="sigmoid: gates, in (0, 1)")
values_ax.plot(grid, np.tanh(grid), label="tanh: values, in (-1, 1)")
values_ax.axhline(0, color="grey", linewidth=0.5)
values_ax.set(xlabel="z", title="the functions")
values_ax.legend(fontsize=8)
slopes_ax.plot(
    grid, sigmoid(grid) * (1 - sigmoid(grid)), label="sigmoid', at most 0.25"
)
slopes_ax.plot(grid, 1 - np.tanh(grid) ** 2, label="tanh', at most 1")
slopes_ax.set(xlabel="z", title="their derivatives")
slopes_ax.legend(fontsize=8)
fig.tight_layout()
plt.show()


# ## One LSTM unit, by hand
# 
# An LSTM unit carries two numbers from step to step: the **cell state** $c_t$, its memory, and the
# **hidden state** $h_t$, what it shows to the next layer and to itself at the next step. At every
# step it reads the input $x_t$ and its previous $h_{t-1}$, and computes three gates and one
# candidate value, each with its own weights:
# 
# $$
# \begin{aligned}
# i_t &= \sigma(w_i x_t + u_i h_{t-1} + b_i) && \text{input gate: how much of the candidate to write}\\
# f_t &= \sigma(w_f x_t + u_f h_{t-1} + b_f) && \text{forget gate: how much of the old memory to keep}\\
# g_t &= \tanh(w_g x_t + u_g h_{t-1} + b_g) && \text{candidate: what to write}\\
# o_t &= \sigma(w_o x_t + u_o h_{t-1} + b_o) && \text{output gate: how much of the memory to show}\\
# c_t &= f_t\, c_{t-1} + i_t\, g_t\\
# h_t &= o_t \tanh(c_t)
# \end{aligned}
# $$
# 
# The memory update $c_t = f_t c_{t-1} + i_t g_t$ is the heart of it: the old memory is *scaled*
# and something new is *added*. Nothing squashes $c$ itself, so it can hold a value for many steps.
# 
# To see the gates at work, we give one unit hand-picked weights. The input is a control signal:
# $x = 1$ means "store", $x = 0$ means "hold", $x = -1$ means "erase". The weights on $h_{t-1}$ are
# zero here, so each gate depends only on the current input; a trained unit uses both.

# In[4]:


def lstm_unit_step(x, h_prev, c_prev, weights):
    """One step of a single-unit LSTM; `weights[gate]` is (weight on x, weight on h,
    bias)."""
    def pre(gate):
        w, u, b = weights[gate]
        return w * x + u * h_prev + b
    i = sigmoid(pre("i"))          # input gate
    f = sigmoid(pre("f"))          # forget gate
    g = np.tanh(pre("g"))          # candidate value
    o = sigmoid(pre("o"))          # output gate
    c = f * c_prev + i * g  # new memory: keep part of the old, add part of the new
    h = o * np.tanh(c)             # what the unit shows
    return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}


store_hold_erase = {
    "i": (6.0, 0.0, -3.0),   # open (0.95) for x = 1, nearly shut (0.05) for x = 0
    "f": (8.0, 0.0, 5.0),    # keep (0.99) for x >= 0, forget (0.05) for x = -1
    "g": (3.0, 0.0, 0.0),    # the value written follows the sign of x
    "o": (0.0, 0.0, 2.0),    # always show most of the memory (0.88)
}
signal = [0.0, 1.0, 0.0, 0.0, 0.0, 0.5, 0.0, -1.0, 0.0, 0.0]
h, c, rows = 0.0, 0.0, []
for t, x in enumerate(signal):
    step = lstm_unit_step(x, h, c, store_hold_erase)
    h, c = step["h"], step["c"]
    rows.append({"t": t, "x": x, **step})
print(pd.DataFrame(rows).round(3).to_string(index=False))


# Read the table column by column. At $t = 1$ the input gate opens and the cell stores almost a
# full unit. For the next three steps the input gate is nearly shut and the forget gate is close to
# 1, so $c$ barely moves: the unit *remembers*. At $t = 5$ a second, weaker "store" adds on top of
# what is there, and $c$ grows past 1, which it may; only $h = o \tanh(c)$ is bounded. At $t = 7$
# the forget gate drops to 0.047 and the memory falls from 1.372 to 0.065 in a single step. A plain RNN has none of this:
# its whole state is rewritten through a tanh at every step.
# 
# ## A vectorised LSTM layer in NumPy
# 
# A real layer has `hidden` units, not one, and works on a batch. The scalars become matrices:
# each gate has a weight matrix on the input, `(hidden, input)`, a weight matrix on the previous
# hidden state, `(hidden, hidden)`, and bias vectors. PyTorch stacks the four gates into single
# matrices, in the order **i, f, g, o**:
# 
# - `weight_ih_l0`: `(4 * hidden, input)`, the four input weight matrices on top of each other;
# - `weight_hh_l0`: `(4 * hidden, hidden)`, the four recurrent weight matrices;
# - `bias_ih_l0` and `bias_hh_l0`: `(4 * hidden,)` each. PyTorch keeps **two** bias vectors (for
#   compatibility with NVIDIA's cuDNN); only their sum matters.
# 
# So one matrix product gives all four gates at once, and `np.split` cuts the result into the
# four blocks.

# In[5]:


reference = nn.LSTM(input_size=5, hidden_size=7, batch_first=True)
for name, parameter in reference.named_parameters():
    print(f"{name:13s} {tuple(parameter.shape)}")


# The input part $W_{ih} x_t + b_{ih} + b_{hh}$ does not depend on the previous state, so the layer
# computes it for every step in one product before the loop. Only the recurrent part has to wait
# for $h_{t-1}$; that loop over time is what makes recurrent networks slow on parallel hardware.

# In[6]:


def lstm_layer(x, h0, c0, W_ih, W_hh, b_ih, b_hh, candidate=np.tanh):
    """Runs one LSTM layer over a batch of sequences, with PyTorch's weight layout
    and gate order; `candidate` squashes the value written (tanh in a real LSTM)."""
    steps = x.shape[1]                                   # x: (batch, steps, input)
    # (batch, steps, 4 * hidden), all steps at once
    from_input = x @ W_ih.T + b_ih + b_hh
    h, c = h0, c0                                        # (batch, hidden) each
    outputs = []
    for t in range(steps):
        z = from_input[:, t] + h @ W_hh.T                # (batch, 4 * hidden)
        i, f, g, o = np.split(z, 4, axis=1)  # (batch, hidden) each, in PyTorch's order
        c = sigmoid(f) * c + sigmoid(i) * candidate(g)   # (batch, hidden)
        h = sigmoid(o) * np.tanh(c)                      # (batch, hidden)
        outputs.append(h)
    # (batch, steps, hidden), ((batch, hidden), (batch, hidden))
    return np.stack(outputs, axis=1), (h, c)


# ## Is it the real thing? Checking against `nn.LSTM`
# 
# If the NumPy layer implements the same function as `nn.LSTM`, then with the same weights and the
# same input the two must agree up to floating-point rounding. We run the PyTorch layer in float64
# (`.double()`) so that rounding is around $10^{-16}$ and any real mistake, a swapped gate or a
# missing bias, would stand out by many orders of magnitude. The initial states are random rather
# than zero, so that the `h0` and `c0` paths are tested too.

# In[7]:


def numpy_weights(lstm, suffix=""):
    """The four tensors of a one-layer `nn.LSTM` as float64 NumPy arrays (`suffix`
    "_reverse" for the backward direction)."""
    return [getattr(lstm, name + suffix).detach().double().numpy()
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]


def compare_with_torch(lstm, x, h0, c0):
    """Largest absolute difference between `lstm` and `lstm_layer` on output, h_n and
    c_n."""
    with torch.no_grad():
        output, (h_n, c_n) = lstm(x, (h0, c0))  # h_n, c_n: (1, batch, hidden)
    np_output, (np_h, np_c) = lstm_layer(
        x.double().numpy(),
        h0[0].double().numpy(),
        c0[0].double().numpy(),
        *numpy_weights(lstm),
    )
    return {"output": np.abs(output.double().numpy() - np_output).max(),
            "h_n": np.abs(h_n[0].double().numpy() - np_h).max(),
            "c_n": np.abs(c_n[0].double().numpy() - np_c).max()}


batch, steps, input_size, hidden_size = 4, 50, 5, 7
generator = torch.Generator().manual_seed(1)
x = torch.randn(batch, steps, input_size, generator=generator)
h0 = torch.randn(1, batch, hidden_size, generator=generator)
c0 = torch.randn(1, batch, hidden_size, generator=generator)

torch64 = nn.LSTM(input_size, hidden_size, batch_first=True).double()
gaps64 = compare_with_torch(torch64, x.double(), h0.double(), c0.double())
numpy_vs_torch_max_abs_diff = max(gaps64.values())
print("float64, max |torch - numpy|:", {k: f"{v:.1e}" for k, v in gaps64.items()})
print(
    f"largest: {numpy_vs_torch_max_abs_diff:.2e} <= 1e-6: "
    f"{numpy_vs_torch_max_abs_diff <= 1e-6}"
)
assert numpy_vs_torch_max_abs_diff <= 1e-6


# The NumPy layer reproduces `nn.LSTM` to the last few bits of a float64: same gate order, same two
# biases, same equations. The same check also works with PyTorch's default float32. Then the
# differences are float32 rounding: float32 keeps about seven significant digits (its machine
# epsilon is $1.2 \times 10^{-7}$), so the cell below finds differences just under $10^{-7}$ instead of
# around $10^{-16}$, and a float32 comparison needs a correspondingly looser tolerance.

# In[8]:


# float32, PyTorch's default
torch32 = nn.LSTM(input_size, hidden_size, batch_first=True)
gaps32 = compare_with_torch(torch32, x, h0, c0)
numpy_vs_torch_float32_max_abs_diff = max(gaps32.values())
print("float32, max |torch - numpy|:", {k: f"{v:.1e}" for k, v in gaps32.items()})
print(
    f"largest: {numpy_vs_torch_float32_max_abs_diff:.2e} <= 1e-6: "
    f"{numpy_vs_torch_float32_max_abs_diff <= 1e-6}"
)
assert numpy_vs_torch_float32_max_abs_diff <= 1e-6


# ## Vanishing gradients, measured
# 
# Why go to this trouble instead of using a plain RNN, $h_t = \tanh(W_{ih} x_t + W_{hh} h_{t-1} + b)$?
# A classifier reads a review through its *final* state, so the gradient that teaches the network
# about word $t$ must travel backwards through every step from the end to $t$. In a plain RNN each
# of those steps multiplies it by $W_{hh}^\top$ and by a tanh slope of at most 1. If those factors
# are below 1, the product shrinks exponentially with distance: the early words get almost no
# training signal.
# 
# Rather than take that on faith, we measure it. We feed random sequences of 200 steps into a
# freshly initialised layer, put a linear readout and a binary cross-entropy loss on the final
# hidden state (exactly how the classifiers in this book are built), backpropagate, and record the
# size of the gradient with respect to each input step, $\lVert \partial L / \partial x_t \rVert$.
# The book's probe `textclf.probes.gradient_per_step` does the backpropagating and the
# bookkeeping. We repeat with ten seeds, each with new weights and a new batch, and average the logarithms
# (a geometric mean), because the values span dozens of orders of magnitude.
# 
# We compare a plain `nn.RNN`, an `nn.LSTM` as PyTorch initialises it, and two LSTMs whose
# forget-gate bias starts at 1 and at 2. The forget gate is rows `hidden:2*hidden` of the biases
# (gate order i, f, g, o); PyTorch starts all biases near zero, so a fresh forget gate should sit around
# $\sigma(0) = 0.5$ (measured below).
# 
# The computation runs in float64. Gradients this small do not exist in float32: its smallest
# normal number is about $10^{-38}$, and the book's set-up flushes smaller ("denormal") values to
# zero for speed. The cell after the plot shows how many steps would get a gradient of exactly zero.

# In[9]:


def gradient_experiment(cell, seed, forget_bias=None, steps=200, batch=32,
                        input_size=8, hidden=64, dtype=torch.float64):
    """A fresh one-layer RNN or LSTM with a linear readout, and a batch of random
    sequences with random labels: (net, readout, x, labels)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = {"rnn": nn.RNN, "lstm": nn.LSTM}[cell](
        input_size, hidden, batch_first=True
    ).to(dtype)
    if forget_bias is not None:  # rows hidden:2*hidden are the forget gate
        with torch.no_grad():
            net.bias_ih_l0[hidden:2 * hidden] = forget_bias
            net.bias_hh_l0[hidden:2 * hidden] = 0.0
    readout = nn.Linear(hidden, 1).to(dtype)
    x = torch.randn(batch, steps, input_size, generator=generator, dtype=dtype)
    labels = torch.randint(0, 2, (batch,), generator=generator).to(dtype)
    return net, readout, x, labels


def input_gradient_norms(cell, seed, forget_bias=None, dtype=torch.float64):
    """Norm of d(loss)/d(x_t) for every step t, averaged over the batch."""
    net, readout, x, labels = gradient_experiment(cell, seed, forget_bias, dtype=dtype)

    def loss(inputs):
        output, _ = net(inputs)                              # (batch, steps, hidden)
        # (batch,): the readout sees only the final state
        logits = readout(output[:, -1]).squeeze(1)
        return nn.functional.binary_cross_entropy_with_logits(logits, labels)

    return probes.gradient_per_step(loss, x)                 # (steps,)


variants = {"RNN": ("rnn", None), "LSTM": ("lstm", None),
            "LSTM, forget bias 1": ("lstm", 1.0), "LSTM, forget bias 2": ("lstm", 2.0)}
seeds = range(10)
log_gradients = {
    name: torch.stack(
        [input_gradient_norms(cell, seed, bias).log10() for seed in seeds]
    )
    for name, (cell, bias) in variants.items()
}  # each (seeds, steps)

fig, ax = plt.subplots(figsize=(8, 4))
for name, logs in log_gradients.items():
    line, = ax.plot(10 ** logs.mean(0), label=name)
    ax.fill_between(
        range(logs.shape[1]),
        10 ** logs.min(0).values,
        10 ** logs.max(0).values,
        color=line.get_color(),
        alpha=0.15,
    )
ax.set_yscale("log")
ax.set(
    xlabel="input step t (the loss reads the state after the last step)",
    ylabel="||dL / dx_t||",
    title="Gradient reaching each input step "
    "(geometric mean, min-max band over 10 seeds)",
)
ax.title.set_fontsize(10)
ax.legend()
fig.tight_layout()
plt.show()


# In[10]:


gradient_rows = []
for name, logs in log_gradients.items():
    mean_log = logs.mean(0)  # (steps,): log10 of the geometric mean over seeds
    log_ratio = (mean_log[0] - mean_log[-1]).item()
    gradient_rows.append({
        "model": name,
        "last step": f"{10 ** mean_log[-1].item():.1e}",
        "first step": f"{10 ** mean_log[0].item():.1e}",
        "first / last": f"{10 ** log_ratio:.1e}",
        "orders lost": round(-log_ratio, 1),
        "kept per step": round(10 ** (log_ratio / (len(mean_log) - 1)), 3),
    })
gradient_table = pd.DataFrame(gradient_rows).set_index("model")
print(gradient_table.to_string())

zeros = {
    cell: int((input_gradient_norms(cell, seed=0, dtype=torch.float32) == 0).sum())
    for cell in ("rnn", "lstm")
}
print(
    f"\nin float32, steps whose gradient is exactly zero: RNN {zeros['rnn']} of 200, "
    f"LSTM {zeros['lstm']} of 200"
)


# The plot is a set of nearly straight lines on a log scale, so gradients decay *exponentially*
# with the distance from the end of the sequence, and the bands show this is not one unlucky seed.
# The table's last column turns each line into a rate: the fraction of the gradient that survives
# one step back, as a geometric mean over the 199 steps. The plain RNN keeps the least per step and
# its line falls steepest; by the first steps the signal is smaller than any useful number. The
# LSTM at PyTorch's default initialisation keeps a little more, and raising its forget bias
# flattens the line: with a bias of 2 the first step receives a gradient 2.2 orders of magnitude
# below the last.
# 
# Why does the forget bias matter so much? Along the cell state, $c_t = f_t c_{t-1} + i_t g_t$
# gives $\partial c_t / \partial c_{t-1} = f_t$ on the **direct path**, the one that goes straight
# from $c_{t-1}$ to $c_t$: no weight matrix and no tanh slope in the way, only the forget gate. It
# is not the only way back, though: $c_{t-1}$ also sets $h_{t-1}$, which feeds the three gates and
# the candidate at step $t$. How much of the measured decay does the direct path account for? The
# next cell recomputes the forget gates of the same layers on the same inputs, multiplies them from
# each step to the end of the sequence (a geometric mean over units, sequences and seeds), and draws
# that product beside the measured gradient, both relative to the last step.

# In[11]:


def forget_gates(net, x):
    """The forget gate f_t of a one-layer `nn.LSTM` at every step, recomputed from its
    weights and its own outputs (gate order i, f, g, o)."""
    hidden = net.hidden_size
    rows = slice(hidden, 2 * hidden)
    with torch.no_grad():
        output, _ = net(x)                       # (batch, steps, hidden): h_1 .. h_T
        # (batch, steps, hidden): the state each step reads, h_0 = 0 .. h_(T-1)
        h_prev = torch.cat([torch.zeros_like(output[:, :1]), output[:, :-1]], dim=1)
        z = (x @ net.weight_ih_l0[rows].T + net.bias_ih_l0[rows]
             + h_prev @ net.weight_hh_l0[rows].T + net.bias_hh_l0[rows])
    return torch.sigmoid(z)                      # (batch, steps, hidden)


direct_rows = []
fig, ax = plt.subplots(figsize=(8, 4))
for colour, (name, (cell, bias)) in enumerate(variants.items()):
    if cell != "lstm":
        continue
    # (seeds, steps): log10 f_t, averaged over sequences and units
    log_f = torch.stack([
        forget_gates(net, x).log10().mean(dim=(0, 2))
        for net, _, x, _ in (gradient_experiment(cell, seed, bias) for seed in seeds)
    ]).mean(0)                                   # (steps,)
    # log10 of f_(t+1) * ... * f_T: the direct path from step t to the end
    direct = log_f.flip(0).cumsum(0).flip(0) - log_f
    measured = log_gradients[name].mean(0)
    measured = measured - measured[-1]           # (steps,), relative to the last step
    ax.plot(10 ** measured, color=f"C{colour}", label=f"{name}: measured gradient")
    ax.plot(10 ** direct, "--", color=f"C{colour}", label=f"{name}: forget gates only")
    direct_rows.append({
        "model": name,
        "forget gate": round(10 ** log_f.mean().item(), 3),
        "kept per step, measured": round(10 ** (measured[0].item() / 199), 3),
        "orders lost: forget gates only": round(-direct[0].item(), 1),
        "orders lost: measured": round(-measured[0].item(), 1),
    })
ax.set_yscale("log")
ax.set(
    xlabel="input step t",
    ylabel="relative to the last step",
    title="LSTM: measured gradient (solid) and product of forget gates (dashed)",
)
ax.title.set_fontsize(10)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
direct_table = pd.DataFrame(direct_rows).set_index("model")
print(direct_table.to_string())


# The forget gates sit where the initialisation puts them: about 0.5 at PyTorch's default (its
# biases start near zero) and close to $\sigma(1)$ and $\sigma(2)$ from the table at the top of the
# chapter with the raised biases (first column). Along the direct path alone the gradient would
# lose more orders of magnitude than the measurement shows (the last two columns, and the dashed
# lines below the solid ones): in these fresh layers the paths through $h_{t-1}$ add to the direct
# one, and each step keeps more of the gradient than the forget gate's value. So the forget gate
# does not set the rate on its own, but it moves it: the higher the gates, the flatter both curves.
# A plain RNN has no such knob. An LSTM can also *learn* to keep its forget gates open where a task
# needs long memory, and some libraries start them open: Keras's LSTM sets its forget bias to 1
# by default (`unit_forget_bias=True`).
# 
# ## Counting parameters
# 
# How many numbers does a recurrent layer learn? Take one layer in one direction, with input size
# $I$ and hidden size $H$. Each gate (or, for the plain RNN, the single update) has an input
# matrix $H \times I$, a recurrent matrix $H \times H$, and PyTorch's two bias vectors of $H$ each:
# $H(I + H + 2)$ numbers. The RNN has one such block, the GRU three, the LSTM four ($G = 1, 3, 4$).
# A bidirectional layer ($D = 2$) has a full copy for the backward direction. Every layer after the
# first reads the previous layer's output, which has $D H$ features. So, for $L$ layers,
# 
# $$
# \text{params} = D\,G\,H\,(I + H + 2) \;+\; (L - 1)\, D\,G\,H\,(D H + H + 2).
# $$
# 
# The table checks the formula against `training.count_parameters` on real PyTorch layers.

# In[12]:


GATES = {"rnn": 1, "gru": 3, "lstm": 4}
LAYER_CLASSES = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def recurrent_parameters(
    cell, input_size, hidden_size, num_layers=1, bidirectional=False
):
    """Learned numbers in an `nn.RNN`, `nn.GRU` or `nn.LSTM` with the given
    configuration."""
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden_size
        total += (
            directions * GATES[cell] * hidden_size * (layer_input + hidden_size + 2)
        )
    return total


configurations = [
    ("rnn", 100, 256, 1, False),
    ("gru", 100, 256, 1, False),
    ("lstm", 100, 256, 1, False),
    ("lstm", 100, 256, 1, True),
    ("lstm", 100, 256, 2, False),
    ("lstm", 100, 256, 2, True),
    ("rnn", 300, 128, 3, True),
    ("gru", 50, 32, 4, True),
]
rows = []
for cell, input_size, hidden_size, num_layers, bidirectional in configurations:
    layer = LAYER_CLASSES[cell](
        input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional
    )
    formula = recurrent_parameters(
        cell, input_size, hidden_size, num_layers, bidirectional
    )
    counted = training.count_parameters(layer)
    rows.append(
        {
            "layer": cell.upper(),
            "input": input_size,
            "hidden": hidden_size,
            "layers": num_layers,
            "bidirectional": bidirectional,
            "formula": formula,
            "counted": counted,
            "match": formula == counted,
        }
    )
parameter_table = pd.DataFrame(rows)
print(parameter_table.to_string(index=False))
assert parameter_table.match.all()


# A whole classifier adds the embedding table, $V \times E$ for a vocabulary of $V$ tokens (the
# `<pad>` row counts too: `padding_idx` freezes its gradient, not its existence), and a linear head
# with $F \times \text{out} + \text{out}$ numbers for $F$ input features. Here is the base model of
# the IMDb lecture {cite}`kang_lecture`: a vocabulary of 25,002 entries (25,000 words plus `<unk>`
# and `<pad>`) embedded in 100 dimensions, one RNN layer of 256 units and one output logit. The
# lecture printed 2,592,105 trainable parameters for it.
# 
# The book's package holds this kind of model as `textclf.models.RecurrentClassifier`: an RNN, GRU
# or LSTM in one or two directions that takes `(ids, lengths)` and returns logits from the state
# after each sequence's last real token. We build the model from it, run it once on a tiny batch,
# and compare the formula with the count. The second model answers the lecture's **assignment 5**
# (its last slide): the number of parameters in the advanced model's two-layer bidirectional LSTM,
# with the same embedding, 256 hidden units per direction and one output.

# In[13]:


def classifier_parameters(
    vocab_size,
    embed_dim,
    hidden_dim,
    num_classes,
    cell="rnn",
    num_layers=1,
    bidirectional=False,
):
    """Embedding + recurrent layers + linear head, by the formula."""
    features = (2 if bidirectional else 1) * hidden_dim
    return (
        vocab_size * embed_dim
        + recurrent_parameters(cell, embed_dim, hidden_dim, num_layers, bidirectional)
        + features * num_classes
        + num_classes
    )


imdb_rnn = models.RecurrentClassifier(25_002, 100, 256, 1, cell="rnn")
ids, lengths = torch.tensor([[5, 9, 2, 7], [3, 8, 0, 0]]), torch.tensor([4, 2])
print("logits for a batch of 2:", tuple(imdb_rnn(ids, lengths).shape))
imdb_rnn_formula = classifier_parameters(25_002, 100, 256, 1)
imdb_rnn_counted = training.count_parameters(imdb_rnn)
print(
    f"Embedding(25002, 100) + RNN(100, 256) + Linear(256, 1): formula "
    f"{imdb_rnn_formula:,}, counted {imdb_rnn_counted:,}"
)
for name, module in imdb_rnn.named_children():
    size = training.count_parameters(module)
    if size:  # the dropout layer has none
        print(f"  {name:9s} {size:>9,}  ({size / imdb_rnn_counted:.2%} of the model)")

# the lecture's assignment 5: its two-layer bidirectional LSTM
imdb_bilstm = models.RecurrentClassifier(
    25_002, 100, 256, 1, cell="lstm", num_layers=2, bidirectional=True
)
imdb_bilstm_formula = classifier_parameters(
    25_002, 100, 256, 1, cell="lstm", num_layers=2, bidirectional=True
)
imdb_bilstm_counted = training.count_parameters(imdb_bilstm)
bilstm_layers = training.count_parameters(imdb_bilstm.rnn)
bilstm_embedding = training.count_parameters(imdb_bilstm.embedding)
print(
    f"assignment 5, the two-layer bidirectional LSTM: its LSTM layers "
    f"{bilstm_layers:,}, the whole model: formula {imdb_bilstm_formula:,}, "
    f"counted {imdb_bilstm_counted:,}"
)
print(
    f"LSTM layers / embedding: {bilstm_layers:,} / {bilstm_embedding:,} = "
    f"{bilstm_layers / bilstm_embedding:.1%}; "
    f"{bilstm_layers / training.count_parameters(imdb_rnn.rnn):.1f} times the RNN layer"
)
assert (
    imdb_rnn_formula == imdb_rnn_counted and imdb_bilstm_formula == imdb_bilstm_counted
)


# The breakdown shows where a small text classifier's parameters live: almost all of them in the
# embedding table, while the RNN layer is a few per cent of the model (the shares printed above).
# Depth and a second direction change the balance: the two-layer bidirectional LSTM's layers are
# 25.2 times the RNN layer and 92.4 % of the embedding's size (both ratios printed above). The
# embedding remains the largest single block, and the one that can be filled with something better
# than random numbers before training starts: pretrained word vectors, which chapter 6 loads.
# 
# ## Summary
# 
# - Gates use the sigmoid because they scale a signal by a fraction in (0, 1); the candidate value
#   and the output use tanh because they must be able to move the memory up and down.
# - The memory update $c_t = f_t c_{t-1} + i_t g_t$ is a scaled copy plus an addition. A NumPy
#   layer with PyTorch's layout (gate order i, f, g, o, two biases) reproduces `nn.LSTM` to float64 rounding.
# - In a fresh RNN or LSTM the gradient reaching an input shrinks exponentially with its distance
#   from the end. The cell state's direct path scales it by the forget gate at each step, so
#   raising the forget bias slows the decay; the measured decay is slower than the forget gates
#   alone predict, because the gradient also flows back through the hidden state.
# - One layer, one direction has $G\,H(I + H + 2)$ parameters ($G$ = 1, 3, 4 for RNN, GRU, LSTM);
#   double it for two directions, and later layers read $D H$ inputs.

# In[14]:


results.save(
    "02_lstm_from_scratch",
    {
        "numpy_vs_torch_max_abs_diff": numpy_vs_torch_max_abs_diff,
        "numpy_vs_torch_float32_max_abs_diff": numpy_vs_torch_float32_max_abs_diff,
        "rnn.grad_ratio_first_to_last": 10
        ** (log_gradients["RNN"][:, 0] - log_gradients["RNN"][:, -1]).mean().item(),
        "lstm.grad_ratio_first_to_last": 10
        ** (log_gradients["LSTM"][:, 0] - log_gradients["LSTM"][:, -1]).mean().item(),
        "lstm_forget_bias_1.grad_ratio_first_to_last": 10
        ** (
            log_gradients["LSTM, forget bias 1"][:, 0]
            - log_gradients["LSTM, forget bias 1"][:, -1]
        )
        .mean()
        .item(),
        "lstm_forget_bias_2.grad_ratio_first_to_last": 10
        ** (
            log_gradients["LSTM, forget bias 2"][:, 0]
            - log_gradients["LSTM, forget bias 2"][:, -1]
        )
        .mean()
        .item(),
        "imdb_rnn.parameters": imdb_rnn_counted,
        "imdb_bilstm_2_layers.parameters": imdb_bilstm_counted,
        "imdb_bilstm_2_layers.lstm_parameters": bilstm_layers,
        "imdb_bilstm_2_layers.lstm_to_embedding": bilstm_layers / bilstm_embedding,
        **{
            f"{key}.{column}": float(direct_table.loc[name, label])
            for name, key in [("LSTM", "lstm"),
                              ("LSTM, forget bias 1", "lstm_forget_bias_1"),
                              ("LSTM, forget bias 2", "lstm_forget_bias_2")]
            for column, label in [("forget_gate", "forget gate"),
                                  ("orders_lost_direct_path",
                                   "orders lost: forget gates only"),
                                  ("orders_lost_measured", "orders lost: measured")]
        },
    },
    device=device,
)


# The numbers this run saved, and how and when it ran, are on the [results page](results.md), beside the original's.

# ## Exercises
# 
# 1. Without running code, count the parameters of `nn.LSTM(300, 128, num_layers=2, bidirectional=True)`.
#    Then check your answer with `recurrent_parameters` and `training.count_parameters`.
# 2. Suppose the candidate $g_t$ used a sigmoid instead of a tanh. What could the cell state no longer
#    do, and what would happen to $c_t$ over a long sequence with the forget gate near 1?
# 3. PyTorch's LSTM has two bias vectors per layer. Are they redundant? How many parameters does
#    the second one add to the IMDb RNN model above, and what does the gradient of the loss with
#    respect to `bias_ih_l0` look like compared with that of `bias_hh_l0`?
# 4. Extend `lstm_layer` to a bidirectional layer and check it against
#    `nn.LSTM(5, 7, batch_first=True, bidirectional=True)`. The backward direction's weights are the
#    parameters ending in `_reverse`.
# 5. In the gradient experiment, a forget bias of 2 kept the gradient alive over 200 steps. What is
#    the price? Think about what the cell must do when the input says "forget" and the gate starts
#    almost fully open.
# 
# :::{admonition} Answers
# :class: dropdown
# 
# The numbers quoted here are printed by the hidden cell under "Checking the answers".
# 
# 1. Layer 1: $2 \cdot 4 \cdot 128 \cdot (300 + 128 + 2) = 440{,}320$. Layer 2 reads $2 \cdot 128 = 256$
#    features: $2 \cdot 4 \cdot 128 \cdot (256 + 128 + 2) = 395{,}264$. Total $835{,}584$, which
#    `recurrent_parameters` and `training.count_parameters` both print.
# 2. A sigmoid is always positive, so with a non-negative input gate every write would *add* to the
#    memory; the cell could go down only by forgetting. The check gives a layer forget gates near
#    0.95 (bias 3) and reads 200 random steps. With a tanh candidate the mean cell state stays near
#    zero (-0.07 after 20 steps, +0.10 after 200); with a sigmoid it climbs to +3.19 after 20 steps
#    and +5.30 after 200, and 97 % of the units end with $|\tanh(c_t)| > 0.99$ (30 % with tanh).
#    Those units show $h_t \approx o_t$ whatever the input was: they carry no information about it.
# 3. Yes: they are always added together, so one vector of $4H$ (or $H$ for the RNN) would express
#    the same functions. For the RNN model above the second vector adds $H = 256$ parameters. The
#    loss depends on the biases only through their sum, so the two gradients are the same; the check
#    finds them equal up to float32 rounding (largest difference 2.8e-09, for gradients up to 1.3e-02).
# 4. Run the forward direction as before. For the backward direction, reverse the time axis
#    (`x[:, ::-1]`), run `lstm_layer` with the `_reverse` weights and initial states `h0[1]`, `c0[1]`,
#    and reverse its output back. Concatenate the two outputs on the last axis; `h_n` stacks the
#    forward and backward final states. The check does exactly this: its largest difference to
#    `nn.LSTM` is 2.2e-16, float64 rounding again.
# 5. The price is paid when the content should go. A gate that starts open must be pushed further to
#    close: the same input weight then meets a higher bias. The check raises the forget bias of this
#    chapter's hand-made unit: at its "erase" step the forget gate becomes 0.047, 0.119 and 0.269 for
#    a bias raised by 0, 1 and 2, and the memory left after erasing grows from 0.065 to 0.166 and
#    0.375. To forget as cleanly as before, the network has to learn larger weights on the forget
#    gate; until it does, old content lingers and mixes with new content.
# :::
# 
# ### Checking the answers
# 
# The cell below (hidden until opened) measures what the answers quote.

# In[15]:


# 1. count by formula and by PyTorch
exercise_lstm = nn.LSTM(300, 128, num_layers=2, bidirectional=True)
print(f"1. formula {recurrent_parameters('lstm', 300, 128, 2, True):,}, "
      f"counted {training.count_parameters(exercise_lstm):,}")

# 2. forget gates near 0.95 (bias 3): the memory with a tanh or a sigmoid candidate
memory_lstm = nn.LSTM(8, 64, batch_first=True).double()
with torch.no_grad():
    memory_lstm.bias_ih_l0[64:128] = 3.0
    memory_lstm.bias_hh_l0[64:128] = 0.0
memory_x = torch.randn(32, 200, 8, generator=torch.Generator().manual_seed(2),
                       dtype=torch.float64).numpy()
start = np.zeros((32, 64))
for squash_name, squash in [("tanh", np.tanh), ("sigmoid", sigmoid)]:
    means = []
    for steps_read in (20, 200):
        _, (_, c_last) = lstm_layer(memory_x[:, :steps_read], start, start,
                                    *numpy_weights(memory_lstm), candidate=squash)
        means.append(c_last.mean())
    saturated = (np.abs(np.tanh(c_last)) > 0.99).mean()
    print(f"2. {squash_name:7s} candidate: mean c after 20 steps {means[0]:+.2f}, "
          f"after 200 {means[1]:+.2f}; units with |tanh(c)| > 0.99: {saturated:.0%}")

# 3. the IMDb RNN's two bias vectors
imdb_rnn.zero_grad()
logits = imdb_rnn(ids, lengths).squeeze(1)                        # (batch,)
labels = torch.tensor([1.0, 0.0])
nn.functional.binary_cross_entropy_with_logits(logits, labels).backward()
rnn_layer = imdb_rnn.rnn
bias_gap = (rnn_layer.bias_ih_l0.grad - rnn_layer.bias_hh_l0.grad).abs().max().item()
print(f"3. the second bias adds {rnn_layer.bias_hh_l0.numel()} parameters; largest "
      f"gradient difference {bias_gap:.1e} "
      f"(largest gradient {rnn_layer.bias_hh_l0.grad.abs().max().item():.1e})")

# 4. a bidirectional NumPy layer: backward = forward over the reversed sequence
two_way = nn.LSTM(5, 7, batch_first=True, bidirectional=True).double()
h0_two = torch.randn(2, batch, 7, generator=generator, dtype=torch.float64)
c0_two = torch.randn(2, batch, 7, generator=generator, dtype=torch.float64)
with torch.no_grad():
    two_way_output, (two_way_h, two_way_c) = two_way(x.double(), (h0_two, c0_two))
x_np = x.double().numpy()
ahead, (h_ahead, c_ahead) = lstm_layer(
    x_np, h0_two[0].numpy(), c0_two[0].numpy(), *numpy_weights(two_way))
back, (h_back, c_back) = lstm_layer(
    x_np[:, ::-1], h0_two[1].numpy(), c0_two[1].numpy(),
    *numpy_weights(two_way, "_reverse"))
both = np.concatenate([ahead, back[:, ::-1]], axis=2)  # (batch, steps, 2 * hidden)
two_way_gap = max(np.abs(two_way_output.numpy() - both).max(),
                  np.abs(two_way_h.numpy() - np.stack([h_ahead, h_back])).max(),
                  np.abs(two_way_c.numpy() - np.stack([c_ahead, c_back])).max())
print(f"4. bidirectional, float64: largest |torch - numpy| {two_way_gap:.1e}")

# 5. the hand-made unit with its forget bias raised: how much does "erase" erase?
w_f, u_f, b_f = store_hold_erase["f"]
for extra in (0.0, 1.0, 2.0):
    unit = {**store_hold_erase, "f": (w_f, u_f, b_f + extra)}
    h, c, memory = 0.0, 0.0, []
    for x_t in signal:
        step = lstm_unit_step(x_t, h, c, unit)
        h, c = step["h"], step["c"]
        memory.append(step)
    print(f"5. forget bias +{extra:.0f}: f at the erase step {memory[7]['f']:.3f}, "
          f"c {memory[6]['c']:.3f} -> {memory[7]['c']:.3f}, "
          f"c at the end {memory[-1]['c']:.3f}")

