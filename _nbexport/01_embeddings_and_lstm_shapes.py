#!/usr/bin/env python
# coding: utf-8

# # Embeddings and LSTM tensor shapes
# 
# Every model in this book starts the same way: a batch of token indices goes into an embedding
# layer, the embedded sequence goes into a recurrent layer, and something comes out the other end.
# Most bugs in such models are shape bugs, or worse, *silent* shape bugs: the code runs, the loss
# goes down a little, and the model reads the wrong time step. This chapter looks at every tensor
# on the way through `nn.Embedding` and `nn.LSTM`, with tiny sizes so that we can print them,
# as the first part of {cite:t}`lstm_explained_notebook` does.

# In[1]:


import pandas as pd
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textclf import models, results, training

device = training.setup(seed=0)


# ## Token indices in, vectors out: `nn.Embedding`
# 
# An embedding layer is a lookup table: a matrix with one row per vocabulary entry. Indexing it
# with a tensor of token ids of shape `(batch, steps)` returns `(batch, steps, embed_dim)`.
# Our vocabularies put `<pad>` at index 0, and `padding_idx=0` tells the layer that row 0 is
# padding: it starts as zeros and never receives a gradient.

# In[2]:


vocab_size, embed_dim = 10, 4
embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)

ids = torch.tensor([[5, 2, 7, 3, 9],    # a sequence of 5 real tokens
                    [4, 8, 6, 0, 0]])   # 3 real tokens, then two <pad>
x = embedding(ids)
print("ids:", tuple(ids.shape), "-> embedded:", tuple(x.shape))
print("row 0 of the table:", embedding.weight[0].tolist())
print("the two padded steps embed to zeros:", bool((x[1, 3:] == 0).all()))


# Row 0 stays zero during training because its gradient is masked. We can check that directly:
# backpropagate any loss through the embedding and look at which rows got a gradient.

# In[3]:


x.sum().backward()
rows_with_gradient = embedding.weight.grad.abs().sum(dim=1).nonzero().flatten().tolist()
print("rows that received a gradient:", rows_with_gradient)
print("gradient of the <pad> row:", embedding.weight.grad[0].tolist())
print("times the <pad> row was looked up:", int((ids == 0).sum()))


# Only the rows of tokens that occurred (2 to 9) receive a gradient; row 0 gets none although the
# batch looked it up twice, once for each `<pad>` in the second sequence. So padding contributes
# nothing *through the embedding*. Whether it contributes through the recurrent layer is a
# separate question, answered below.
# 
# ## `nn.LSTM` with `batch_first=True`
# 
# An LSTM returns two things: `output`, the hidden state of the **last layer at every step**, and
# the pair `(h_n, c_n)`, the hidden and cell state of **every layer at the last step**. With
# `batch_first=True` the input and `output` are `(batch, steps, features)`, but `h_n` and `c_n` are
# always `(layers * directions, batch, hidden)`: `batch_first` does not apply to them.

# In[4]:


hidden_dim = 3
lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
output, (h_n, c_n) = lstm(embedding(ids))
print(
    "output:", tuple(output.shape), " h_n:", tuple(h_n.shape), " c_n:", tuple(c_n.shape)
)


# For one layer in one direction, the last step of `output` *is* `h_n`: the same numbers. That
# holds for this batch although its second sequence ends in two `<pad>` steps; whether this last
# state is the one a classifier should read is the question of the padding section below.

# In[5]:


print(output[:, -1])
print(h_n[-1])
print("identical:", torch.equal(output[:, -1], h_n[-1]))


# ### Three layers
# 
# Stacking layers feeds each layer's `output` into the next. `output` still only holds the top
# layer, while `h_n` gets one row per layer; `h_n[-1]` is the top layer, the one a classifier uses.

# In[6]:


lstm3 = nn.LSTM(embed_dim, hidden_dim, num_layers=3, batch_first=True)
output, (h_n, c_n) = lstm3(embedding(ids))
print(
    "output:", tuple(output.shape), " h_n:", tuple(h_n.shape), " c_n:", tuple(c_n.shape)
)
print(
    "top layer of h_n equals the last step of output:",
    torch.equal(output[:, -1], h_n[-1]),
)


# ### Bidirectional
# 
# A bidirectional LSTM runs a second LSTM from the last step to the first and concatenates the two
# at every step, so `output` has `2 * hidden` features. The backward direction *finishes* at step 0,
# so its final state sits at `output[:, 0, hidden:]`, not at the last step. Taking `output[:, -1]`
# from a bidirectional LSTM gives the forward direction's summary of the whole sequence but the
# backward direction's view of only the last token.

# In[7]:


bilstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True, bidirectional=True)
output, (h_n, c_n) = bilstm(embedding(ids))
print("output:", tuple(output.shape), " h_n:", tuple(h_n.shape))
print(
    "forward final  == output[:, -1, :hidden]:",
    torch.equal(h_n[0], output[:, -1, :hidden_dim]),
)
print(
    "backward final == output[:, 0, hidden:]: ",
    torch.equal(h_n[1], output[:, 0, hidden_dim:]),
)
print(
    "backward final == output[:, -1, hidden:]:",
    torch.equal(h_n[1], output[:, -1, hidden_dim:]),
)


# With several layers *and* two directions, `h_n` has `layers * 2` rows ordered layer by layer,
# forward before backward. Viewing it as `(layers, 2, batch, hidden)` makes that explicit; the
# classifier's input is usually the top layer's two directions concatenated.

# In[8]:


bilstm3 = nn.LSTM(
    embed_dim, hidden_dim, num_layers=3, batch_first=True, bidirectional=True
)
output, (h_n, c_n) = bilstm3(embedding(ids))
# (layers, directions, batch, hidden)
by_layer = h_n.view(3, 2, ids.shape[0], hidden_dim)
final = torch.cat([h_n[-2], h_n[-1]], dim=1)                    # (batch, 2 * hidden)
print(
    "h_n:",
    tuple(h_n.shape),
    "-> by layer:",
    tuple(by_layer.shape),
    "-> classifier input:",
    tuple(final.shape),
)
print(
    "same as by_layer[-1, 0] and by_layer[-1, 1]:",
    torch.equal(final, torch.cat([by_layer[-1, 0], by_layer[-1, 1]], dim=1)),
)


# ## The shape table
# 
# The same facts for any configuration, computed rather than remembered. Batch 2, 5 steps,
# embedding 4, hidden 3:

# In[9]:


rows = []
for layers in (1, 3):
    for bidirectional in (False, True):
        net = nn.LSTM(
            embed_dim,
            hidden_dim,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
        )
        out, (h, c) = net(embedding(ids))
        rows.append(
            {
                "layers": layers,
                "bidirectional": bidirectional,
                "input": tuple(ids.shape) + (embed_dim,),
                "output": tuple(out.shape),
                "h_n": tuple(h.shape),
                "c_n": tuple(c.shape),
                "parameters": training.count_parameters(net),
            }
        )
shape_table = pd.DataFrame(rows)
print(shape_table.to_string(index=False))


# ## When `output[:, -1]` is wrong: padding
# 
# In a padded batch, the last step of a short sequence is padding. The LSTM does not know that: it
# keeps reading the zero vectors and keeps changing its state. So `output[:, -1]` of the second
# sequence is its state after **two steps of padding**, not after its last real token (step 2).
# Reading `h_n` instead does not help: without packing, the LSTM's last step is the same padded
# column, so `h_n[-1]` holds the same numbers as `output[:, -1]`.

# In[10]:


lengths = torch.tensor([5, 3])
output, (h_n, c_n) = lstm(embedding(ids))
# (batch, hidden): the state at each sequence's last real token
true_last = output[torch.arange(len(lengths)), lengths - 1]
print("output[:, -1]:\n", output[:, -1])
print("state at the last real token:\n", true_last)
padded_gap = (output[:, -1] - true_last).abs().max().item()
print(
    f"largest difference: {padded_gap:.4f}  (the full-length first sequence agrees; "
    f"the padded second one does not)"
)


# In[11]:


# (batch, hidden): the package's version of the indexing above
from_package = models.last_real_step(output, lengths)
print("output[:, -1] equals h_n[-1] on this padded batch:",
      torch.allclose(output[:, -1], h_n[-1]))
print("h_n[-1] equals the state at the last real token:  ",
      torch.allclose(h_n[-1], from_package))
print("models.last_real_step equals the indexing above:  ",
      torch.equal(from_package, true_last))


# So on a padded batch `output[:, -1]` and `h_n[-1]` still agree with each other, and both are
# wrong for the same reason: they were read after the padding. The book's package keeps the
# indexing as `textclf.models.last_real_step(output, lengths)`, which later chapters use.

# Two standard cures. Either index the state at position `length - 1` as above, or **pack** the
# batch: `pack_padded_sequence` tells the LSTM each sequence's length, it stops each sequence at
# its end, and `h_n` is then the state at the last *real* token. `lengths` must be a CPU tensor, and
# `enforce_sorted=False` lets the batch come in any order.

# In[12]:


packed = pack_padded_sequence(
    embedding(ids), lengths.cpu(), batch_first=True, enforce_sorted=False
)
packed_output, (h_n_packed, _) = lstm(packed)
unpacked, unpacked_lengths = pad_packed_sequence(packed_output, batch_first=True)
packed_gap = (h_n_packed[-1] - true_last).abs().max().item()
print("h_n from the packed batch:\n", h_n_packed[-1])
print(f"largest difference to the state at the last real token: {packed_gap:.2e}")
print("unpacked output:", tuple(unpacked.shape), "lengths:", unpacked_lengths.tolist())
print(
    "padded steps of the unpacked output are zeros:", bool((unpacked[1, 3:] == 0).all())
)


# The packed `h_n` matches the state at the last real token to within floating-point rounding,
# and the padded steps of the unpacked output are zeros, not the states the padded run produced.
# Packing costs time on a CPU (the appendix [Recurrent models fast on a CPU](appendix_cpu_speed.ipynb)
# measures how much); reading the state at `length - 1`
# is one indexing operation, but it only works for the forward direction: a backward direction
# run over the padded batch reads the padding *first*.
# 
# ## Summary
# 
# - `nn.Embedding` maps `(batch, steps)` ids to `(batch, steps, embed)`; with `padding_idx=0` the
#   `<pad>` row is zero and gets no gradient.
# - `nn.LSTM(batch_first=True)` returns `output` as `(batch, steps, directions * hidden)` for the
#   top layer at every step, and `h_n`, `c_n` as `(layers * directions, batch, hidden)` for every
#   layer at the last step: `batch_first` does not touch them.
# - For one direction, `output[:, -1]` equals `h_n[-1]`, padded batch or not. On a padded batch
#   that is not packed, neither is the state after the last *real* token: read the output at
#   `length - 1` (`models.last_real_step`) or pack the batch. With two directions, pack and
#   concatenate `h_n[-2]` and `h_n[-1]`.

# In[13]:


results.save("01_embeddings_and_lstm_shapes", {
    "padded_last_step_vs_true_last_max_abs_diff": padded_gap,
    "packed_h_n_vs_true_last_max_abs_diff": packed_gap,
    "lstm_1_layer.parameters": int(shape_table.parameters[0]),
    "bilstm_3_layers.parameters": int(shape_table.parameters[3]),
}, device=device)


# The numbers this run saved, and how and when it ran, are on the [results page](results.md), beside the original's.

# ## Exercises
# 
# 1. An `nn.LSTM(100, 256, num_layers=2, bidirectional=True, batch_first=True)` reads a batch of 64
#    sequences of 500 steps. Give the shapes of `output`, `h_n` and `c_n`.
# 2. Why is `output[:, -1]` of a *bidirectional* LSTM a poor summary of a sequence, even without padding?
# 3. A model uses `h_n[-1]` of a 2-layer bidirectional LSTM as its only summary. Which layer and
#    which direction is that, and what does it miss?
# 4. With `padding_idx=0`, the `<pad>` row has no gradient. Does that make padding harmless in an
#    unpacked LSTM? Use the padding experiment above to answer.
# 
# :::{admonition} Answers
# :class: dropdown
# 
# 1. `output`: `(64, 500, 512)`; `h_n` and `c_n`: `(4, 64, 256)` (2 layers times 2 directions).
#    These are the shape table's rules with batch 64, 500 steps and hidden 256.
# 2. The backward direction has read only the last token by then; its summary of the whole
#    sequence sits at `output[:, 0, hidden:]`, as the bidirectional cell above printed.
# 3. The top layer's *backward* direction (the hidden cell under "Checking the answers" shows
#    it). It misses the top layer's forward summary, `h_n[-2]`; concatenate both.
# 4. No. The embedding of `<pad>` is zero, but the LSTM still updates its state at every padded step
#    (biases and recurrent weights act on zeros too), so the final state drifts away from the state
#    at the last real token, as the largest difference printed above shows.
# :::
# 
# ### Checking the answers
# 
# The cell below (hidden until opened) measures answer 3.

# In[14]:


# 3. which state is h_n[-1]? The unpadded first sequence, two bidirectional layers
two_layers = nn.LSTM(
    embed_dim, hidden_dim, num_layers=2, batch_first=True, bidirectional=True
)
top_output, (top_h, _) = two_layers(embedding(ids[:1]))  # (1, 5, 2 * hidden)
print("3. h_n[-1] is the top layer's backward final state:",
      torch.equal(top_h[-1], top_output[:, 0, hidden_dim:]))
print("   h_n[-2] is the top layer's forward final state: ",
      torch.equal(top_h[-2], top_output[:, -1, :hidden_dim]))

