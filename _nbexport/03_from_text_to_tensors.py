#!/usr/bin/env python
# coding: utf-8

# # From text to tensors
# 
# A model cannot read a review. It reads a tensor of integers, of one shape, in batches. Between
# the two sit four decisions that shape everything later in the book: how to cut text into
# tokens, which tokens get an index of their own, how long a sequence may be, and how sequences of
# different lengths share one batch. This chapter makes each decision on the book's four datasets
# {cite}`maas2011imdb,zhang2015agnews,nicapotato2018clothing,jp797498e2021twitter`,
# and measures what it implies. What each way of batching costs on a CPU has a page of its
# own, the appendix [Recurrent models fast on a CPU](appendix_cpu_speed.ipynb).

# In[1]:


import re
import textwrap
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textclf import data, models, results, text, training, vectors

device = training.setup(seed=0)
train_df, test_df = data.load("imdb", "train"), data.load("imdb", "test")
corpora = {
    "imdb": train_df,
    "ag_news": data.load("ag_news", "test"),
    "clothing_reviews": data.load("clothing_reviews", "all"),
    "twitter_sentiment": data.load("twitter_sentiment", "training"),
}
print({name: len(df) for name, df in corpora.items()}, "| imdb test:", len(test_df))


# ## Three tokenizers
# 
# A tokenizer decides what the smallest unit of meaning is. `textclf.text.tokenizer` offers three:
# 
# - `basic_english` lower-cases, splits punctuation off words, and deletes a few things outright
#   (`<br />`, double quotes, `;` and `:`). It reproduces torchtext's tokenizer of the same name token
#   for token, so older tutorials' vocabularies carry over.
# - `spacy` is spaCy's rule-based English tokenizer (no model download). It keeps case and knows
#   English contractions, but it has never heard of HTML.
# - `chars` makes every character a token: a tiny vocabulary, very long sequences.
# 
# One made-up sentence with everything that goes wrong in real reviews shows the differences:

# In[2]:


sentence = "I didn't LOVE it... Don't buy!!<br />Fit is 5'7\" :( 😂 @shop #fail"
print(sentence)
for name in ("basic_english", "spacy", "chars"):
    tokens = text.tokenizer(name)(sentence)
    print(f"\n{name} ({len(tokens)} tokens):\n{tokens}")


# Read the three lists against each other:
# 
# - **Case**: `basic_english` folds `LOVE` to `love`, so "LOVE" and "love" share one embedding;
#   spaCy keeps them apart, which doubles the vocabulary for shouted words.
# - **Contractions**: `basic_english` cuts `didn't` into `didn`, `'`, `t`; spaCy splits it the
#   linguistic way, `did` + `n't`, so the negation `n't` becomes one token shared by every
#   contraction.
# - **`<br />`**: `basic_english` removes it; spaCy glues its pieces onto the neighbouring words
#   (`buy!!<br`, `/>Fit`), creating tokens that appear nowhere else.
# - **Punctuation**: `basic_english` drops `"`, `:` and `;`, so the emoticon `:(` loses its eyes,
#   and the inch mark disappears. spaCy keeps `...` and `:(` as single tokens.
# - **Emoji, mentions, hashtags** survive both word tokenizers as tokens of their own; spaCy splits
#   `#fail` into `#` and `fail`.
# 
# ### On real rows
# 
# The same comparison on one real row per dataset. Each row is picked by a rule, from the full
# split (`quick=False`), so that every run of the book shows the same rows: the shortest IMDb review
# containing `<br />`, the first AG News test item with the HTML escape `#39;` (an apostrophe
# that lost its `&`), the first clothing review with a height like `5'7"`, and the first tweet
# containing an emoji.

# In[3]:


EMOJI = "[\U0001F300-\U0001FAFF\u2600-\u27BF]"


def first_match(df, pattern):
    """The first text of ``df`` matching the regular expression ``pattern``."""
    return df.text[df.text.str.contains(pattern)].iloc[0]


imdb_br = data.load("imdb", "train", quick=False).text
imdb_br = imdb_br[imdb_br.str.contains("<br />")]
examples = {
    "imdb": imdb_br.loc[imdb_br.str.len().idxmin()],
    "ag_news": first_match(data.load("ag_news", "test", quick=False), "#39;"),
    "clothing_reviews": first_match(
        data.load("clothing_reviews", "all", quick=False), r"\d'\d+\""
    ),
    "twitter_sentiment": first_match(
        data.load("twitter_sentiment", "training", quick=False), EMOJI
    ),
}
for dataset, example in examples.items():
    print(f"=== {dataset}: {example!r}")
    for name in ("basic_english", "spacy", "chars"):
        tokens = text.tokenizer(name)(example)
        shown = " | ".join(tokens[:45]) + (" | ..." if len(tokens) > 45 else "")
        print(
            textwrap.fill(
                f"{name} ({len(tokens)}): {shown}", width=110, subsequent_indent="    "
            )
        )
    print()


# The IMDb row shows spaCy taking HTML apart into `overall.<br`, `/><br`, `/` and `>`, four tokens
# that carry nothing. The AG News row shows a problem no tokenizer fixes: `isn #39;t` was damaged before it reached
# us, and `basic_english` turns it into `isn`, `#39`, `t`, so every "isn't" in AG News becomes a
# token `#39` that no other dataset has. Cleaning such escapes (here: replacing `#39;` by `'`) is
# a data decision, made before tokenizing. The tweet shows the emoji surviving as a token in
# both word tokenizers, and each @-mention becoming a token of its own that will hardly ever occur
# again: at test time, most of them will be unknown. The character tokenizer turns every text into
# a sequence several times longer than the word tokenizers do.
# 
# How much longer, and how many distinct tokens each tokenizer produces, on the first 200 texts of
# each dataset:

# In[4]:


rows = []
for dataset, df in corpora.items():
    sample = df.text.iloc[:200]
    for name in ("basic_english", "spacy", "chars"):
        token_lists = [text.tokenizer(name)(t) for t in sample]
        rows.append(
            {
                "dataset": dataset,
                "tokenizer": name,
                "median tokens per text": int(np.median([len(t) for t in token_lists])),
                "distinct tokens": len(
                    {tok for tokens in token_lists for tok in tokens}
                ),
            }
        )
tokenizer_table = pd.DataFrame(rows).pivot(index="dataset", columns="tokenizer")
tokenizer_table


# Characters multiply the sequence length several times over while shrinking the vocabulary to
# about a hundred symbols; spaCy has more distinct tokens than `basic_english` on the same texts
# because it keeps case. This chapter uses `basic_english`: it is what the torchtext-era
# tutorials used, it folds case, and its one HTML rule handles IMDb's `<br />`. The later
# chapters keep the tokenizer of the tutorial they rebuild: spaCy for the IMDb lecture
# (chapters 4 and 6) and for the clothing reviews (chapter 8), `basic_english` for AG News
# (chapter 7), characters for the tweets (chapter 9). The battlefield notebook of chapter 5
# received Keras' ready-made token ids, so that chapter uses `basic_english` too.
# 
# ## A vocabulary
# 
# An embedding layer needs an index per token, and a fixed number of rows. The vocabulary is that
# mapping. It is built from the **training** split only: the test split stands for text we have
# not seen, and any word that first appears there must be handled as unknown.
# 
# `text.build_vocab` counts tokens, keeps those seen at least `min_freq` times, keeps at most
# `max_size` of the most frequent, and puts two specials first: `<pad>` = 0 (the filler for short
# sequences) and `<unk>` = 1 (every token not in the vocabulary). Ties in frequency are broken
# alphabetically, as torchtext does, so the same corpus always gives the same indices.

# In[5]:


toy = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat"]]
print("all tokens:   ", text.build_vocab(toy).itos)
print("min_freq=2:   ", text.build_vocab(toy, min_freq=2).itos)
print("max_size=2:   ", text.build_vocab(toy, max_size=2).itos)
toy_vocab = text.build_vocab(toy, min_freq=2)
print("encode ['the', 'bird', 'sat'] ->", toy_vocab.encode(["the", "bird", "sat"]))
print("decode it back ->", toy_vocab.decode(toy_vocab.encode(["the", "bird", "sat"])))


# "bird" was never counted, so it became index 1 and decodes as `<unk>`: the information that it
# was a bird is gone. How often that happens on real text is the question for the rest of this
# section. First the IMDb counts:

# In[6]:


tokenize = text.tokenizer("basic_english")
train_tokens = [tokenize(t) for t in train_df.text]
test_tokens = [tokenize(t) for t in test_df.text]
counts = Counter(token for tokens in train_tokens for token in tokens)
singletons = sum(1 for c in counts.values() if c == 1)
print(f"{sum(counts.values()):,} training tokens, {len(counts):,} distinct; "
      f"{singletons:,} ({singletons / len(counts):.0%}) of them occur exactly once")
print("most frequent:", counts.most_common(12))
min_freq_table = pd.DataFrame({"min_freq": [1, 2, 3, 5, 10, 20]})
min_freq_table["vocabulary size (with specials)"] = [
    2 + sum(1 for c in counts.values() if c >= m) for m in min_freq_table.min_freq]
min_freq_table


# Word frequencies follow Zipf's law: a few words are everywhere and most words are rare. A large
# share of the distinct tokens occurs once: typos, names, numbers. Each would cost an embedding row
# that is trained on a single example, which is why vocabularies are cut by `min_freq` or
# `max_size`. A common IMDb choice, which the lecture behind chapters 4 and 6 made, is the
# 25,000 most frequent tokens; this chapter uses it. The other chapters again follow their
# tutorials (10,000 tokens in chapter 5, every training token in chapter 7, tokens seen at
# least twice in chapter 8):

# In[7]:


vocab = text.build_vocab(train_tokens, max_size=25_000)
print(vocab)
print(
    "<pad> ->",
    vocab["<pad>"],
    " <unk> ->",
    vocab["<unk>"],
    " 'the' ->",
    vocab["the"],
    " 'supercalifragilistic' ->",
    vocab["supercalifragilistic"],
)
print(
    "least frequent kept:",
    vocab.itos[-5:],
    "each seen",
    [counts[t] for t in vocab.itos[-5:]],
    "times",
)


# ### Coverage of the test split
# 
# What matters is not how many words the vocabulary has but how much of *unseen* text it can index.
# Ranking every training token by frequency, a vocabulary of size *V* keeps the *V* highest ranks;
# a test token is covered if its rank is below *V*. Tokens never seen in training are never covered,
# whatever *V* is, so the curve flattens out below 100%.

# In[8]:


full_vocab = text.build_vocab(train_tokens)  # every training token, most frequent first
every = len(full_vocab) - 2  # the size that keeps every training token
unseen = every + 1_000_000  # a rank no vocabulary size reaches
ranks = np.sort(
    [
        full_vocab.stoi.get(token, unseen + 2) - 2
        for tokens in test_tokens
        for token in tokens
    ]
)
sizes = np.unique(np.geomspace(10, every, 60).astype(int))
# share of test tokens with rank < V
coverage = np.searchsorted(ranks, sizes, side="left") / len(ranks)


def coverage_at(size):
    """Share of the test split's tokens inside a vocabulary of the ``size`` most
    frequent training tokens."""
    return np.searchsorted(ranks, size, side="left") / len(ranks)


fig, ax = plt.subplots(figsize=(6.5, 3.2))
ax.plot(sizes, 100 * coverage)
ax.axvline(25_000, color="grey", linestyle=":", label="max_size=25,000")
ax.axhline(
    100 * coverage_at(every),
    color="tab:red",
    linestyle="--",
    label="every training token",
)
ax.set(xscale="log", xlabel="vocabulary size (most frequent training tokens)",
       ylabel="% of test tokens covered", title="IMDb: test-split coverage")
ax.legend(loc="lower right")
plt.show()


# In[9]:


unk_rate_25k = 1 - coverage_at(25_000)
mean_test_length = len(ranks) / len(test_tokens)
min_freq_5 = sum(1 for c in counts.values() if c >= 5)  # tokens seen at least 5 times
for size in (1_000, 10_000, 25_000, min_freq_5, every):
    label = "all" if size == every else f"{size:,}"
    note = " (min_freq=5)" if size == min_freq_5 else ""
    print(
        f"vocabulary {label:>7}{note}: covers {coverage_at(size):.2%} of test "
        f"tokens, <unk> "
        f"rate {1 - coverage_at(size):.2%}"
    )
print(
    f"With 25,000 tokens, a test review of average length ({mean_test_length:.0f} "
    f"tokens) has about "
    f"{unk_rate_25k * mean_test_length:.1f} <unk> tokens."
)


# The first thousand words already cover most running text; after that, every doubling of the
# vocabulary buys less. At 25,000 tokens the `<unk>` rate is a few percent; the last printed line
# turns it into words per review.
# 
# Which words are they? Each unknown test token is sorted into one of five kinds by simple
# rules: it contains a digit; it contains a symbol (`basic_english` keeps hyphens inside words,
# so `kar-wai` is one token); more than half of its occurrences in the raw test text start with
# a capital letter, the mark of a name; it is a lower-case word that GloVe's 400,000-word
# vocabulary (Wikipedia and news text) knows; or none of these, which is where typos and
# run-together words land. Counted per occurrence, as the `<unk>` rate is:

# In[10]:


unknown = Counter(
    token for tokens in test_tokens for token in tokens if token not in vocab
)
words = Counter(  # every run of letters in the raw test reviews, case kept
    word for review in test_df.text for word in re.findall(r"[^\W\d_]+", review)
)
capitalised, seen = Counter(), Counter()
for word, n in words.items():
    seen[word.lower()] += n
    capitalised[word.lower()] += n * word[0].isupper()
glove_words = set(vectors.glove_6b_50d().words)
KINDS = {
    "digit": "contains a digit",
    "symbol": "contains a symbol (mostly hyphenated)",
    "capitalised": "mostly capitalised (names)",
    "glove_word": "lower-case word GloVe knows",
    "not_in_glove": "lower-case, not in GloVe (typos, run-ons)",
}


def kind(token):
    """A rough kind for an unknown token: one of the keys of KINDS."""
    if any(ch.isdigit() for ch in token):
        return "digit"
    if not token.isalpha():
        return "symbol"
    if seen[token] and capitalised[token] > seen[token] / 2:
        return "capitalised"
    return "glove_word" if token in glove_words else "not_in_glove"


by_kind = Counter()
for token, n in unknown.items():
    by_kind[kind(token)] += n
total_unknown = sum(unknown.values())
unknown_share = {k: n / total_unknown for k, n in by_kind.most_common()}
print(f"{total_unknown:,} unknown test tokens, {len(unknown):,} distinct")
for key, share in unknown_share.items():
    examples = [t for t, _ in unknown.most_common() if kind(t) == key][:6]
    print(f"{share:6.1%}  {KINDS[key]:<42} e.g. {', '.join(examples)}")


# Read the shares against the claim one often hears, that unknown words are names and typos.
# Two kinds make up most of the printout: names (the capitalised kind) and ordinary words too
# rare in the training reviews to make the 25,000 (the lower-case words GloVe knows). Hyphenated
# compounds come next. Typos are a small group: the kind that holds them, lower-case tokens GloVe
# does not know, is a few per cent. Losing names is cheap for sentiment, where the signal sits in common words like
# "great" and "boring"; losing rare ordinary words and compounds is what a larger vocabulary,
# or a subword tokenizer that splits `kar-wai` or `skateboarding` into known pieces, would
# recover.
# 
# ## Encoding, truncation and padding
# 
# Encoding is the vocabulary applied token by token. `text.encode_texts` does the whole chain
# (tokenize, look up, truncate) for a list of texts and returns one 1-D tensor per text; the
# tensors have different lengths.

# In[11]:


for ids in text.encode_texts(
    ["A great film!", "Boring. Utterly, utterly boring."], tokenize, vocab
):
    print(ids.tolist(), "->", vocab.decode(ids))


# A batch must be a rectangle, so sequences are **truncated** to at most a maximum length and
# **padded** with `<pad>` (index 0) up to the batch's length. `text.pad_or_truncate` shows the rule
# on one list:

# In[12]:


ids = [12, 7, 93, 4, 55]
for length in (3, 5, 8):
    print(f"length {length}: {text.pad_or_truncate(ids, length)}")


# ### How long are the texts?
# 
# The maximum length trades information against compute: every step costs time in a recurrent
# network, and a review cut at 200 tokens loses its ending, often the verdict. The lengths differ
# by orders of magnitude between the datasets:

# In[13]:


lengths = {
    name: np.array([len(tokenize(t)) for t in df.text])
    for name, df in corpora.items()
    if name != "imdb"
}
lengths = {"imdb": np.array([len(tokens) for tokens in train_tokens]), **lengths}

fig, axes = plt.subplots(1, 4, figsize=(12, 2.6))
for ax, (name, values) in zip(axes, lengths.items()):
    upper = np.percentile(values, 99.5)
    width = max(1, int(np.ceil(upper / 50)))  # whole tokens per bin
    ax.hist(values, bins=np.arange(0, upper + width, width), color="tab:blue")
    ax.axvline(
        np.percentile(values, 95),
        color="tab:red",
        linestyle=":",
        label="95th percentile",
    )
    ax.set(title=name, xlabel="tokens (basic_english)")
axes[0].set_ylabel("texts")
axes[0].legend()
fig.tight_layout()
plt.show()
percentiles = (
    pd.DataFrame(
        {
            name: {
                "mean": values.mean(),
                **{f"p{q}": np.percentile(values, q) for q in (50, 90, 95, 99)},
                "max": values.max(),
            }
            for name, values in lengths.items()
        }
    )
    .T.round(0)
    .astype(int)
)
percentiles


# Tweets and AG News items are short enough to keep whole. Clothing reviews are capped by the
# shop's form, which shows as a wall near the maximum. IMDb has a long tail: most reviews are a
# few hundred tokens, a few are thousands. For IMDb, a table of candidate maximum lengths helps:
# how many reviews get cut, how many tokens survive, and how many steps a batch pays for.

# In[14]:


imdb_lengths = lengths["imdb"]
candidates = pd.DataFrame({"max length": [100, 200, 300, 400, 500, 750, 1000, 1500]})
candidates["% reviews cut"] = [
    100 * (imdb_lengths > m).mean() for m in candidates["max length"]
]
candidates["% tokens kept"] = [
    100 * np.minimum(imdb_lengths, m).sum() / imdb_lengths.sum()
    for m in candidates["max length"]
]
candidates.round(1)


# In[15]:


MAX_LENGTH = 500
cut, kept = (
    (imdb_lengths > MAX_LENGTH).mean(),
    np.minimum(imdb_lengths, MAX_LENGTH).sum() / imdb_lengths.sum(),
)
print(
    f"MAX_LENGTH = {MAX_LENGTH}: {cut:.1%} of IMDb training reviews are cut, "
    f"{kept:.1%} of all tokens are kept "
    f"(the 90th percentile is {np.percentile(imdb_lengths, 90):.0f} tokens)."
)
for name, limit in {
    "ag_news": 100,
    "clothing_reviews": 128,
    "twitter_sentiment": 64,
}.items():
    print(
        f"{name}: a maximum length of {limit} cuts "
        f"{(lengths[name] > limit).mean():.1%} of the texts"
    )


# A common rule is to pick a round number near the 90th to 95th percentile: the few longer texts
# lose their tails, and the longest reviews no longer dictate the width of every batch. For IMDb
# that gives 500, the value used in this chapter and in chapter 5 (the battlefield notebook's
# length). The shorter datasets get
# limits that cut few or none of their texts, and short limits keep their batches narrow.
# 
# ## Batches
# 
# A `DataLoader` draws examples and hands the list to a **collate function**, which turns a list of
# variable-length `(ids, label)` pairs into tensors. `text.collate` pads to the longest sequence
# *in the batch* (not to `MAX_LENGTH`) and returns the lengths, which the models need:

# In[16]:


train_ids = text.encode_texts(train_df.text, tokenize, vocab, max_length=MAX_LENGTH)
train_set = text.EncodedDataset(train_ids, train_df.label)
loader = text.data_loader(train_set, batch_size=64, shuffle=True)
ids, batch_lengths, labels = next(iter(loader))
print(
    "ids:",
    tuple(ids.shape),
    "lengths:",
    tuple(batch_lengths.shape),
    "labels:",
    tuple(labels.shape),
)
print("first 8 lengths:", batch_lengths[:8].tolist())
print(
    "the shortest review in the batch, end of its row:",
    ids[batch_lengths.argmin(), -8:].tolist(),
)
print(
    f"padding in this batch: {1 - batch_lengths.sum().item() / ids.numel():.0%} of "
    f"all cells"
)


# In a shuffled batch, one long review sets the width and everyone else is padded to it. The
# padding is not free: an unpacked LSTM runs every step of every row. **Length bucketing**
# (`bucket=True`) shuffles, then sorts chunks of 50 batches by length, cuts them into batches and
# shuffles the batches: each batch holds similar lengths, and the order of batches is still random.
# The share of padding over one epoch of IMDb training batches:

# In[17]:


def padding_fractions(loader):
    """Per batch: the share of the (batch, steps) cells that are padding."""
    return np.array(
        [1 - lengths.sum().item() / ids.numel() for ids, lengths, _ in loader]
    )


random_padding = padding_fractions(text.data_loader(train_set, 64, shuffle=True))
bucketed_padding = padding_fractions(text.data_loader(train_set, 64, bucket=True))
padding_fraction = {
    "random": random_padding.mean(),
    "bucketed": bucketed_padding.mean(),
}

fig, ax = plt.subplots(figsize=(6.5, 3))
ax.hist(
    100 * random_padding,
    bins=30,
    range=(0, 100),
    alpha=0.7,
    label=f"random (mean {padding_fraction['random']:.0%})",
)
ax.hist(
    100 * bucketed_padding,
    bins=30,
    range=(0, 100),
    alpha=0.7,
    label=f"bucketed (mean {padding_fraction['bucketed']:.0%})",
)
ax.set(
    xlabel="% of the batch that is padding",
    ylabel="batches",
    title="IMDb, batch 64, max length 500",
)
ax.legend()
plt.show()
print(
    f"padding: random batches {padding_fraction['random']:.1%}, length-bucketed "
    f"{padding_fraction['bucketed']:.1%}"
)


# With random batches, a large share of every batch is padding; with bucketing, almost none, and
# an unpacked model does correspondingly less work per epoch. What bucketing leaves unchanged
# is the forward pass of each review: a one-directional model that reads the state at the last
# real token computes the same output for a review whatever the width of its batch, because the
# padding comes after that token. Checked on the first four reviews of the random batch above,
# each run alone against run inside the batch:

# In[18]:


torch.manual_seed(0)
check_model = models.RecurrentClassifier(len(vocab), cell="lstm").eval()
with torch.no_grad():
    in_batch = check_model(ids, batch_lengths)  # (64, 1), padded to the widest review
    alone = torch.cat(
        [check_model(ids[i : i + 1, : batch_lengths[i]], batch_lengths[i : i + 1])
         for i in range(4)]
    )  # (4, 1), each review at its own length
print(
    f"widths {ids.shape[1]} vs {batch_lengths[:4].tolist()}: largest difference in "
    f"the logits {(in_batch[:4] - alone).abs().max().item():.1e}"
)


# The difference is zero or float32 rounding. Training, on the other hand, does change: a
# bucketed batch holds reviews of similar length, so each gradient step averages over a
# different set of reviews than a random batch would, and the sequence of updates, and with
# it the trained weights, differs (exercise 4).
# 
# ### Packing a batch
# 
# Bucketing reduces padding; **packing** removes it from the computation. `pack_padded_sequence`
# stores the batch time step by time step, keeping at each step only the sequences still running.
# Three sequences of lengths 4, 2 and 3, with the token ids packed directly so the order is visible:

# In[19]:


sequences = [torch.tensor([4, 9, 2, 7]), torch.tensor([5, 3]), torch.tensor([8, 6, 1])]
tiny_ids, tiny_lengths, _ = text.collate([(s, torch.tensor(0)) for s in sequences])
print("padded batch:\n", tiny_ids)
packed_ids = pack_padded_sequence(
    tiny_ids, tiny_lengths, batch_first=True, enforce_sorted=False
)
print("data:            ", packed_ids.data.tolist())
print("batch_sizes:     ", packed_ids.batch_sizes.tolist())
print("sorted_indices:  ", packed_ids.sorted_indices.tolist())
print("unsorted_indices:", packed_ids.unsorted_indices.tolist())


# - `data` holds the real tokens only, step by step: step 0 of every sequence (longest first), then
#   step 1, and so on. Nine tokens, no padding.
# - `batch_sizes[t]` is how many sequences are still running at step `t`: all 3 at steps 0 and 1, 2
#   at step 2, 1 at step 3. The LSTM processes step `t` as a batch of that size, so a sequence's
#   state stops changing after its last token, and `h_n` is the state at the **last real step**.
# - `enforce_sorted=False` lets the batch arrive in any order: PyTorch sorts by length
#   (`sorted_indices`) and puts the results of `h_n` back in the original order (`unsorted_indices`).
#   With `enforce_sorted=True`, unsorted lengths are an error.
# - `lengths` must be a 1-D int64 tensor **on the CPU**, even when the model runs on a GPU: the
#   packing is planned on the host. That is why models write `lengths.cpu()`.
# 
# The claim about `h_n` can be checked directly: run each sequence alone, unpadded, and compare.

# In[20]:


torch.manual_seed(0)
tiny_embedding, tiny_lstm = (
    nn.Embedding(10, 3, padding_idx=0),
    nn.LSTM(3, 4, batch_first=True),
)
x = tiny_embedding(tiny_ids)  # (batch, steps, embed)
packed = pack_padded_sequence(x, tiny_lengths, batch_first=True, enforce_sorted=False)
packed_output, (h_n_packed, _) = tiny_lstm(packed)  # h_n: (layers, batch, hidden)
_, (h_n_padded, _) = tiny_lstm(x)  # the same batch, padding and all
h_n_alone = torch.cat(
    [tiny_lstm(tiny_embedding(s)[None])[1][0] for s in sequences], dim=1
)  # one at a time
print(
    "packed h_n equals each sequence run alone:",
    torch.allclose(h_n_packed, h_n_alone, atol=1e-6),
)
print("padded h_n equals each sequence run alone, per sequence:",
      [torch.allclose(h_n_padded[0, i], h_n_alone[0, i], atol=1e-6) for i in range(3)])
unpacked, unpacked_lengths = pad_packed_sequence(packed_output, batch_first=True)
print("unpacked output:", tuple(unpacked.shape), "lengths", unpacked_lengths.tolist())
try:
    pack_padded_sequence(x, tiny_lengths, batch_first=True, enforce_sorted=True)
except RuntimeError as error:
    print("enforce_sorted=True:", str(error).splitlines()[0][:90])


# Packed, each sequence ends where it ends; padded, only the full-length sequence gets the right
# `h_n`, and the two shorter ones have run on through their padding.
# 
# Packing has a price on a CPU, and on some processors so does arithmetic on denormal numbers,
# which the gradients of a freshly initialised LSTM produce on long reviews. The appendix
# [Recurrent models fast on a CPU](appendix_cpu_speed.ipynb) times padded, bucketed and packed
# batches per real token, shows where packing's backward pass spends its time, and why
# `training.setup()` flushes denormals; chapter 6 builds on it.

# ## Migrating from torchtext
# 
# Many tutorials were written for torchtext's legacy `data.Field` API or its later functional API.
# torchtext's last release supports PyTorch 2.3, so this book does not depend on it; these are the
# equivalents:
# 
# | torchtext (older tutorials) | this book (`textclf`) |
# |---|---|
# | `data.Field(tokenize="basic_english", lower=True, include_lengths=True)` | `text.tokenizer("basic_english")` plus `text.encode_texts(...)`; lengths come from `text.collate` |
# | `data.LabelField(dtype=torch.float)` | the `label` column of `data.load(...)`, already 0, 1, ... |
# | `TEXT.build_vocab(train, max_size=25_000)` | `text.build_vocab(token_lists, max_size=25_000)` |
# | `Vocab(counter, min_freq=...)` | `text.build_vocab(token_lists, min_freq=...)` |
# | `build_vocab_from_iterator(it, specials=["<pad>", "<unk>"])` | `text.build_vocab(it)` (the two specials are always first) |
# | `vocab.set_default_index(vocab["<unk>"])` | built in: unknown tokens map to `<unk>` = 1 |
# | `vocab.get_itos()`, `vocab.get_stoi()` | `vocab.itos`, `vocab.stoi` |
# | `get_tokenizer("basic_english")` | `text.tokenizer("basic_english")` (same tokens) |
# | `data.BucketIterator(..., sort_within_batch=True)` | `text.data_loader(dataset, batch_size, bucket=True)` |
# | `GloVe(name="6B", dim=50)` | `vectors.glove_6b_50d()` |
# | `TEXT.vocab.load_vectors(...)`, `TEXT.vocab.vectors` | `vectors.embedding_matrix(vocab, glove)` |
# 
# The claim that the vocabulary is the same is checked by building it both ways, where torchtext
# is installed; elsewhere this cell shows the result recorded by `make compat`, which runs the same
# comparison in an environment with torchtext.

# In[21]:


try:
    import torchtext
except ImportError:
    torchtext = None

if torchtext is not None:
    from torchtext.data.utils import get_tokenizer
    from torchtext.vocab import build_vocab_from_iterator

    texts = list(train_df.text.iloc[:2000])
    torchtext_tokenize = get_tokenizer("basic_english")
    tokens_equal = all(torchtext_tokenize(t) == tokenize(t) for t in texts)
    torchtext_vocab = build_vocab_from_iterator(
        map(torchtext_tokenize, texts), specials=["<pad>", "<unk>"]
    )
    torchtext_vocab.set_default_index(torchtext_vocab["<unk>"])
    our_vocab = text.build_vocab(map(tokenize, texts))
    print(
        f"torchtext {torchtext.__version__}, {len(texts):,} IMDb reviews: tokens "
        f"equal: {tokens_equal}; "
        f"vocabulary indices equal: {torchtext_vocab.get_itos() == our_vocab.itos} "
        f"({len(our_vocab):,} entries)"
    )
else:
    print(
        "torchtext is not installed here; the recorded comparison from "
        "results/torchtext_compat.json:"
    )
    try:
        compat = results.load("torchtext_compat")
        print("run:", compat.get("run"))
        for name, value in compat.get("metrics", {}).items():
            print(f"  {name}: {value}")
    except FileNotFoundError:
        print(
            "  missing: results/torchtext_compat.json does not exist yet; produce it "
            "with `make compat`."
        )


# ## Summary
# 
# - `basic_english` lower-cases and strips `<br />`, `"`, `:` and `;`; spaCy keeps case and splits
#   contractions into `do` + `n't`; characters give tiny vocabularies and very long sequences.
# - Build the vocabulary on the training split; `<pad>` = 0 and `<unk>` = 1. 25,000 IMDb tokens
#   cover all but a few percent of the test split, and the coverage curve says what more would buy.
#   The unknown tokens are names, rare ordinary words and hyphenated compounds more than typos.
# - Choose the maximum length from the length percentiles (IMDb: 500, near the 90th).
# - Bucketing removes most padding and leaves each review's forward pass unchanged; packing
#   removes padding from the computation. What each costs on a CPU is in the appendix.

# In[22]:


results.save(
    "03_from_text_to_tensors",
    {
        "vocab.train_distinct_tokens": len(counts),
        "vocab.size": len(vocab),
        "coverage.test_tokens_at_10k": coverage_at(10_000),
        "coverage.test_tokens_at_25k": coverage_at(25_000),
        "coverage.test_tokens_all_train": coverage_at(every),
        "unk_rate.test_at_25k": unk_rate_25k,
        **{f"unknown_share.{key}": share for key, share in unknown_share.items()},
        "length.imdb.p90": float(np.percentile(lengths["imdb"], 90)),
        "length.imdb.truncated_at_500": float(cut),
        "padding_fraction.random": padding_fraction["random"],
        "padding_fraction.bucketed": padding_fraction["bucketed"],
    },
    device=device,
)


# The numbers this run saved, and how and when it ran, are on the [results page](results.md), beside the original's.

# ## Exercises
# 
# 1. Tokenize `"It's the BEST!!! <br />10/10"` with `basic_english` and with `spacy`, first by hand
#    from the rules above, then with code. Which of the tokens would you expect to be missing from
#    an IMDb vocabulary built with the same tokenizer?
# 2. Build IMDb vocabularies with `min_freq=5` and with `max_size=25_000`. Which is larger, and
#    what is the `<unk>` rate of each on the test split?
# 3. AG News writes `#39;` for apostrophes. Replace it by `'` before tokenizing the AG News test
#    split. How many distinct tokens change, and why does the change still matter?
# 4. Bucketing leaves each review's forward pass unchanged, as the check above showed. Name two
#    ways in which training on bucketed batches still differs from training on random ones.
# 
# :::{admonition} Answers
# :class: dropdown
# 
# 1. `basic_english` gives `it ' s the best ! ! ! 10/10`: `<br />` vanishes and `10/10` stays one
#    token. spaCy gives `It 's the BEST ! ! ! < br />10/10`: the HTML falls apart and glues onto
#    the rating. `/>10/10` is almost certainly absent from a spaCy IMDb vocabulary, so it becomes
#    `<unk>`; check any token with `token in vocab`.
# 2. The `min_freq` table lists the `min_freq=5` vocabulary: larger than 25,000 tokens, so it is
#    the larger one. Both cut the same frequency ranking, the first after the tokens seen at least
#    five times and the second after 25,000 tokens, so each `<unk>` rate is `1 - coverage_at(size)`
#    for its size; the coverage printout above gives both, the `min_freq=5` line marked, and the
#    larger vocabulary has the lower rate.
# 3. One: the token `#39` disappears, and its occurrences become `'`. It matters because `#39` is
#    frequent in AG News and exists nowhere else: a model or pre-trained vectors learned on other
#    text have nothing for it, while `'` is shared with every other dataset.
# 4. Each batch holds reviews of similar length, so a step's gradient averages over long reviews
#    only or short reviews only, where a random batch mixes them; and the batches, their order and
#    so the sequence of updates differ, which gives different trained weights from the same
#    initialisation. (The number of batches per epoch is the same: bucketing regroups the reviews,
#    it does not drop any.)
# :::
