#!/usr/bin/env python
# coding: utf-8

# # How many stars? Ratings from clothing reviews, scored by accuracy and RMSE
# 
# A shopper writes a few lines about a dress and gives it one to five stars. Can a model read the
# lines and guess the stars? This is a classification problem with a twist: the classes are
# ordered. Guessing four stars for a five-star review is a near miss, guessing one star is a bad
# mistake, and accuracy counts both as the same error. That is why the tutorial this chapter
# rebuilds chose the root mean squared error (RMSE) between predicted and true stars as its main
# measure, with accuracy beside it.
# 
# The tutorial {cite}`lstm_explained_notebook` trains a small LSTM on the Women's E-Commerce
# Clothing Reviews {cite}`nicapotato2018clothing`. We first rebuild its model faithfully and look
# hard at three of its habits: it reports only validation scores, its "RMSE" is an average of
# per-batch RMSEs, and its model reads padding before it classifies. Then we set up the
# comparisons it lacked (trivial baselines and a linear model on word counts) and build models
# that respect the order of the stars. All our scores come from one fixed split into training,
# validation and test reviews; every choice is made on validation, and the test reviews are read
# once, at the end.

# In[1]:


import re
import statistics
import string
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import spacy
import torch
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from torch import nn
from torch.nn import functional as F

from textclf import (baselines, data, models, plots, ratings, results, text, training,
                     vectors)

device = training.setup(seed=0, threads=1)


# ## The reviews and one fixed split
# 
# The data set has 22,641 reviews with text; the loader drops the 845 without text, as the
# tutorial did. Each review has a rating and often a short title. Five stars dominate (55.4 % of
# each part), which already tells us what a lazy model will do.
# 
# The tutorial split its reviews once, 80 % for training and 20 % for validation, with no fixed
# random seed, and never held any back. We split 70 / 15 / 15, stratified by rating, with a fixed
# seed: the training part fits the models, the validation part chooses between them (epochs,
# inputs, settings), the test part gives the final numbers.

# In[2]:


reviews = data.load("clothing_reviews", "all")
rest, test_df = data.split_frame(reviews, 0.15, seed=0)
train_df, valid_df = data.split_frame(rest, 0.15 / 0.85, seed=0)
dropped = reviews.attrs["dropped_empty_texts"]
print(f"{len(reviews):,} reviews with text ({dropped} empty ones dropped) -> train "
      f"{len(train_df):,} | validation {len(valid_df):,} | test {len(test_df):,}")
shares = pd.DataFrame({name: df.rating.value_counts(normalize=True).sort_index()
                       for name, df in [("train", train_df), ("validation", valid_df),
                                        ("test", test_df)]})
shares.index.name = "stars"
shares.style.format("{:.1%}")


# ## The tutorial's model, rebuilt
# 
# ### Preprocessing
# 
# The tutorial cleans each review before tokenizing it: characters outside ASCII become a space,
# punctuation, digits, tabs and line breaks become a space, and the text is lower-cased. spaCy's
# rule-based English tokenizer then cuts it into tokens (the tutorial took it from the small
# English model; a blank English pipeline has the same tokenizer rules and needs no download).
# One detail is easy to miss: spaCy keeps runs of extra whitespace as tokens of their own, and
# replacing punctuation by spaces creates many such runs. The tutorial kept them. Its first
# review, "Absolutely wonderful - silky and sexy and comfortable", is encoded to 8 ids although
# it has 7 words, and in its example "the" has id 3, after `<unk>`, `<pad>` and one more token;
# in our rebuild's vocabulary below, that token is a single space. Our `text.tokenizer("spacy")`
# drops whitespace, so to be faithful we call spaCy directly:

# In[3]:


spacy_tokenizer = spacy.blank("en").tokenizer
NON_ASCII = re.compile(r"[^\x00-\x7F]+")
PUNCTUATION_AND_DIGITS = re.compile(f"[{re.escape(string.punctuation)}0-9\r\t\n]")


def tutorial_tokenize(review):
    """The tutorial's tokens: ASCII only, no punctuation or digits, lower case,
    spaCy."""
    cleaned = PUNCTUATION_AND_DIGITS.sub(" ", NON_ASCII.sub(" ", review).lower())
    return [token.text for token in spacy_tokenizer(cleaned)]


example = "Absolutely wonderful - silky and sexy and comfortable"
print(tutorial_tokenize(example))
print(text.tokenizer("spacy")(example.lower()))


# The vocabulary keeps every token seen at least twice. We count on the training part only (the
# tutorial counted over all its reviews, validation included). Every review then becomes exactly
# 70 ids: cut after 70 tokens, filled up with id 0 at the end.
# 
# Id 0 needs a remark. In the tutorial, the vocabulary class of old torchtext put `<unk>`
# (unknown word) at index 0 and `<pad>` at index 1, but the encoding filled reviews up with 0s,
# and the model's embedding had `padding_idx=0`. So padding and unknown words were the same id,
# with a vector fixed at zero; the tutorial's printed training data shows a 0 in the middle of a
# review. Our `Vocab` has `<pad>` = 0 and `<unk>` = 1; pointing unknown tokens at 0 reproduces
# the tutorial's encoding.

# In[4]:


TUTORIAL_STEPS = 70
tutorial_vocab = text.build_vocab(map(tutorial_tokenize, train_df.text), min_freq=2)
# unknown tokens share id 0 with <pad>, as in the tutorial
tutorial_vocab.default_index = tutorial_vocab.pad_index
print(tutorial_vocab)
tutorial_train, tutorial_valid, tutorial_test = (  # ids cut to 70 a review, labels 0-4
    text.encode_frame(df, tutorial_tokenize, tutorial_vocab, max_length=TUTORIAL_STEPS)
    for df in (train_df, valid_df, test_df))
tutorial_lengths = pd.Series([len(tutorial_tokenize(review))
                              for review in train_df.text])
print(f"tokens per training review: median {tutorial_lengths.median():.0f}, "
      f"longest {tutorial_lengths.max()}")
padded_share = (tutorial_lengths < TUTORIAL_STEPS).mean()
print(f"shorter than {TUTORIAL_STEPS} tokens (padded): {padded_share:.1%} | "
      f"longer (cut): {(tutorial_lengths > TUTORIAL_STEPS).mean():.1%}")


# ### The model
# 
# `LSTM_fixed_len` in the tutorial: an embedding of 50 numbers per token (id 0 fixed at zero),
# dropout of 0.2 on the embedded tokens, an LSTM with 50 hidden units, and a linear layer from
# the LSTM's final hidden state `h_n[-1]` to five scores, one per star. It ignores the review
# lengths.

# In[5]:


class FixedLengthLSTM(nn.Module):
    """The tutorial's model: reads all 70 positions, classifies from the final state."""

    def __init__(self, vocab_size, embed_dim=50, hidden_dim=50, dropout=0.2, classes=5):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.head = nn.Linear(hidden_dim, classes)

    def forward(self, ids, lengths):
        x = self.dropout(self.embedding(ids))      # (batch, 70, embed_dim)
        _, (h_n, _) = self.lstm(x)                 # h_n: (1, batch, hidden_dim)
        return self.head(h_n[-1])                  # (batch, 5)


print(f"{training.count_parameters(FixedLengthLSTM(len(tutorial_vocab))):,} parameters")


# ### The recipe, and what its validation step does to it
# 
# The tutorial trains with cross-entropy and Adam at a learning rate of 0.01, in batches of 5,000
# reviews, and calls its training function three times with 30 epochs each (90 epochs; each call
# makes a fresh Adam optimiser). Inside the training loop, after **every batch**, it scores the
# whole validation set. Its scoring function does three things worth reproducing in our own code:
# 
# - it switches the model to evaluation mode and never switches it back, so dropout is active for
#   the first batch of each training call and off for all the others;
# - it runs without `torch.no_grad()`, so every validation pass also records a graph for
#   gradients that nobody uses;
# - its "RMSE" is the RMSE of each validation batch, averaged with the batch sizes as weights.
# 
# Here is a function that scores the same way, and a check of the first point:

# In[6]:


def tutorial_style_scores(model, loader):
    """Validation as the tutorial scored it: eval mode (left on), gradients recorded,
    and the per-batch RMSE of the arg-max class averaged over batches."""
    model.eval()
    total_loss, correct, rmse_sum, seen = 0.0, 0, 0.0, 0
    for ids, lengths, labels in loader:
        logits = model(ids, lengths)               # (batch, 5), a graph for gradients
        predicted = logits.argmax(dim=1)
        batch_rmse = ((predicted - labels).float() ** 2).mean().sqrt().item()
        total_loss += F.cross_entropy(logits, labels).item() * len(labels)
        correct += (predicted == labels).sum().item()
        rmse_sum += batch_rmse * len(labels)
        seen += len(labels)
    return total_loss / seen, correct / seen, rmse_sum / seen


TUTORIAL_BATCH = 5000
tutorial_train_loader = text.data_loader(tutorial_train, TUTORIAL_BATCH,
                                         shuffle=True, length=TUTORIAL_STEPS)
tutorial_valid_loader = text.data_loader(tutorial_valid, TUTORIAL_BATCH,
                                         length=TUTORIAL_STEPS)
probe = FixedLengthLSTM(len(tutorial_vocab)).train()
tutorial_style_scores(probe, tutorial_valid_loader)
print("training mode after one validation pass:", probe.training)


# ### What validating after every batch costs
# 
# With 15,850 training reviews and batches of 5,000, an epoch has four training steps, and the
# tutorial's schedule adds four full validation passes to it. We time both on a few batches
# rather than running the schedule: one training step, and one validation pass as the tutorial
# made it. We also time the training step with one and with two threads, and train the
# tutorial's model with whichever is faster on this machine.

# In[7]:


def median_seconds(work, repeats=3):
    """Median wall time of ``work()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


batch = next(iter(tutorial_train_loader))
step_seconds = training.thread_timings(  # each: a warm-up, then the median of 3
    probe, [batch] * 4, lambda p: torch.optim.Adam(p, lr=0.01), nn.CrossEntropyLoss())
TUTORIAL_THREADS = min(step_seconds, key=step_seconds.get)
with training.using_threads(TUTORIAL_THREADS):
    validation_seconds = median_seconds(
        lambda: tutorial_style_scores(probe, tutorial_valid_loader))
steps_per_epoch = len(tutorial_train_loader)
print("one training step (batch 5000): "
      + ", ".join(f"{t} thread(s) {s:.2f} s" for t, s in step_seconds.items())
      + f" -> {TUTORIAL_THREADS} thread(s)")
print(f"one validation pass as the tutorial made it: {validation_seconds:.2f} s")
train_minutes = 90 * steps_per_epoch * step_seconds[TUTORIAL_THREADS] / 60
check_minutes = 90 * steps_per_epoch * validation_seconds / 60
print(f"90 epochs x {steps_per_epoch} steps: training {train_minutes:.1f} min, "
      f"validating "
      f"after every step {check_minutes:.1f} min more "
      f"({check_minutes / train_minutes:.0%} on top)")


# The tutorial prints only one of those four scores per epoch (the one after the second batch),
# so three of the four passes are never looked at; all four together add 22 % to the training
# time. We score once per epoch, with gradients off, which is enough to see every trend the
# tutorial's log shows.
# 
# ### Training it the tutorial's way
# 
# Three calls of 30 epochs, a fresh Adam each time, dropout only during the first batch of each
# call (that is what the tutorial's validation step left behind), validation once per epoch.
# Nothing is selected: the model we keep is the one after epoch 90, as in the tutorial.

# In[8]:


def train_like_the_tutorial(model, epochs=30, lr=0.01):
    """One call of the tutorial's training function; returns validation scores
    per epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    scores = []
    for _ in range(ratings.epochs_to_run(epochs)):
        for ids, lengths, labels in tutorial_train_loader:
            loss = F.cross_entropy(model(ids, lengths), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            model.eval()  # the state the tutorial's validation after each batch left
        true, argmax, *_ = ratings.predict(model, tutorial_valid_loader, device,
                                           "classes")
        scores.append(ratings.scores(true, argmax))
    return scores


torch.manual_seed(0)
tutorial_model = FixedLengthLSTM(len(tutorial_vocab))
start = time.perf_counter()
with training.using_threads(TUTORIAL_THREADS):
    tutorial_log = pd.DataFrame([row for _ in range(3)
                                 for row in train_like_the_tutorial(tutorial_model)])
tutorial_log.index = pd.RangeIndex(1, len(tutorial_log) + 1, name="epoch")
print(f"{len(tutorial_log)} epochs in {(time.perf_counter() - start) / 60:.1f} min")
tutorial_log[["accuracy", "rmse"]].iloc[9::10].style.format("{:.3f}")


# In[9]:


fig, (acc_ax, rmse_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, column in [(acc_ax, "accuracy"), (rmse_ax, "rmse")]:
    ax.plot(tutorial_log.index, tutorial_log[column], label="our rebuild, every epoch")
    for call_start in (31, 61):
        ax.axvline(call_start, color="grey", linestyle=":")
    ax.set(xlabel="epoch", ylabel=f"validation {column}",
           title=f"tutorial model: {column}")
acc_ax.axhline(train_df.rating.eq(5).mean(), color="C3", linestyle="--",
               label="always five stars")
acc_ax.legend()
fig.tight_layout()


# The dotted lines mark the start of the second and third training calls, where the optimiser
# starts afresh. The tutorial's log has one line per epoch, and the copy we have shows the first
# 14 lines of each of its three calls (the 14th cut mid-line). In it, validation accuracy is
# stuck at 0.552 for seven of the first call's 14 lines (lines 2 to 8) and lies between 0.544 and
# 0.588 in the second and third calls; its "RMSE" is between 1.370 and 1.381 in the first call's
# first ten lines and between 0.948 and 1.107 in the second and third. Its last complete line
# reads accuracy 0.578 and RMSE 0.979; its lowest RMSE is 0.948 (at accuracy 0.576) and its
# highest accuracy 0.588. These are all validation numbers, on an 80 / 20 split of its own, and
# apart from the training and validation losses they are the only numbers its log
# reports.
# 
# Our rebuild starts the same way: stuck at the scores of always answering five stars for its
# first epochs, then falling. It then goes where the tutorial's cut log cannot follow: by the end
# of the first call it is back near those scores (epoch 30: accuracy 0.550, RMSE 1.381), and its
# second call starts from there, while the tutorial's second call starts at an RMSE of
# 1.079. From epoch 40 on, the RMSE of every tenth epoch (0.948 to 0.989) lies inside the
# tutorial's range for its second and third calls.
# 
# ## Three problems, with numbers
# 
# ### 1. Ninety epochs of validation scores, no test
# 
# The tutorial prints a validation score for every epoch and stops there. Whichever of those
# numbers one quotes, the best or the one at a point that looked like a good place to stop, it
# was picked by looking at the very reviews it claims to measure. Epoch-to-epoch noise then works
# in the model's favour: the best of 90 noisy numbers tends to be better than what the model will
# do on new reviews.

# In[10]:


last_third = tutorial_log.iloc[len(tutorial_log) * 2 // 3:]
best_rmse_epoch = tutorial_log.rmse.idxmin()
best_acc_epoch = tutorial_log.accuracy.idxmax()
final = tutorial_log.iloc[-1]
print(f"last epoch ({tutorial_log.index[-1]}): accuracy {final.accuracy:.3f}, "
      f"RMSE {final.rmse:.3f}")
print(f"lowest RMSE:   {tutorial_log.rmse.min():.3f} (epoch {best_rmse_epoch}, "
      f"accuracy "
      f"{tutorial_log.accuracy[best_rmse_epoch]:.3f})")
print(f"best accuracy: {tutorial_log.accuracy.max():.3f} (epoch {best_acc_epoch}, RMSE "
      f"{tutorial_log.rmse[best_acc_epoch]:.3f})")
print(f"last third of training: RMSE varies by {last_third.rmse.std():.3f} (standard "
      f"deviation) between epochs, accuracy by {last_third.accuracy.std():.3f}")


# The lowest validation RMSE of the 90 epochs (0.940, at epoch 57) lies below the last epoch's
# (0.984) by nearly twice the standard deviation between epochs in the last third (0.024): that
# much of a quoted number can come from picking the epoch. The cure is the split we made: choose
# on validation, report on test. The tutorial model's test score comes below, with the others'.
# 
# ### 2. A batch-averaged "RMSE" is not the RMSE
# 
# The tutorial computed the RMSE of each validation batch and averaged those, weighted by batch
# size. The square root of an average is at least the average of the square roots (equal only
# when all batches have the same error), so this number is never too large, usually too small,
# and it depends on how the reviews happen to fall into batches. In the tutorial's own setting it
# did no harm, by luck: its validation part (20 % of 22,641 reviews) fit into one batch of 5,000,
# and the average of one number is that number. Ours fits too. With smaller batches the two
# numbers part; here are both, computed on the same predictions (the tutorial model's arg-max
# stars on our validation part):

# In[11]:


valid_true, valid_argmax, *_ = ratings.predict(tutorial_model, tutorial_valid_loader,
                                               device, "classes")
true_rmse = ratings.scores(valid_true, valid_argmax)["rmse"]
averaged = {size: ratings.batch_averaged_rmse(valid_true, valid_argmax, size)
            for size in (5000, 1000, 256, 64, 16)}
too_low = {size: true_rmse - value for size, value in averaged.items()}
comparison = pd.DataFrame({"batch-averaged RMSE": averaged, "RMSE": true_rmse,
                           "too low by": too_low})
comparison.rename_axis("batch size").style.format("{:.3f}")


# At the tutorial's batch size the two agree; the smaller the batches, the more the average
# flatters the model. Here it is too low by at most 0.007 for batches of 64 or more, small next
# to the gap that picking the epoch opened above, but by 0.040 for batches of 16, nearly as
# large. It never goes the other way, and it changes with the batch size and the shuffle.
# Computing the measure once, over all predictions, removes the question.
# 
# ### 3. The final state is read after the padding
# 
# `h_n[-1]` is the LSTM's state after position 70. For every review shorter than 70 tokens the
# last positions are padding, and the state the classifier sees has been carried through all of
# them; that is 52.9 % of the training reviews, as printed above. A zero vector is not "nothing"
# to an LSTM: its gates still act on the state at every step, so what the head sees depends on
# how much padding followed the review. We can measure the effect in the trained model: score
# each validation review once padded to 70 (as trained) and once cut to its own length, and
# count how often the predicted star changes.

# In[12]:


@torch.no_grad()
def stars_without_padding(model, dataset):
    """Predicted star of each review read alone, without padding."""
    model.eval()
    return np.array([model(ids[None], None).argmax(dim=1).item() + 1
                     for ids, _ in dataset])


padded_lengths = np.array(tutorial_valid.lengths())
short = padded_lengths < TUTORIAL_STEPS
alone = stars_without_padding(tutorial_model, tutorial_valid)
changed = alone[short] != valid_argmax[short]
print(f"{short.mean():.1%} of validation reviews are padded; "
      f"for {changed.mean():.1%} of "
      f"them the predicted star changes when the padding is removed")
truth = valid_true[short]
print(f"accuracy on the padded reviews: "
      f"as trained {np.mean(valid_argmax[short] == truth):.3f}"
      f", without padding {np.mean(alone[short] == truth):.3f}")


# Removing the padding changes the predicted star for 27.1 % of the padded validation reviews,
# and on balance towards the right one: accuracy on them is 0.622 without padding against 0.601
# as trained, although the model never saw a short review without padding in training. A model
# that takes each review's state at its last real token has no such problem, and it can also
# read the whole review instead of cutting it at 70 tokens. That is the first change we make
# below.
# 
# ## Baselines: what must a model beat?
# 
# Two baselines need no text at all. Always predicting the most frequent rating (five stars)
# gives the accuracy to beat; always predicting the mean rating of the training reviews gives the
# RMSE to beat, because on the training reviews no constant has a lower squared error. A third
# baseline reads words without order: TF-IDF weights of single words and word pairs, fed to a
# logistic regression (a classifier, for accuracy) and to a ridge regression on the rating (for
# RMSE). A logistic regression's class probabilities also give an expected rating, the
# probability-weighted mean of the five stars, which is a second way to predict a rating from a
# classifier.

# In[13]:


def title_and_text(df):
    """The title, a full stop and the text; just the text when there is no title."""
    return [f"{title}. {review}" if isinstance(title, str) else review
            for title, review in zip(df.title, df.text)]


INPUTS = {"text": lambda df: list(df.text), "title + text": title_and_text}
valid_stars = valid_df.rating.to_numpy()
candidates = {}  # name -> validation scores of every model and decoding we could pick
majority_star = train_df.rating.mode()[0]
mean_rating = train_df.rating.mean()
for name, constant in [("majority", majority_star), ("mean", mean_rating)]:
    candidates[name] = ratings.scores(valid_stars, np.full(len(valid_df), constant))
print(f"majority: always {majority_star} stars | mean: always {mean_rating:.3f} stars")
pd.DataFrame(candidates).T.style.format("{:.3f}")


# The TF-IDF models get one setting each, chosen on validation: the strength of the
# regularisation. For the logistic regression, `baselines.tuned_tfidf_logistic` tries five values
# of `C`, a factor of 4 apart (printed below), and keeps the one with the best validation
# accuracy; ridge regression on the same features gets three values of `alpha`. And one question
# for this chapter: does putting the title in front of the text help? We try both inputs and pick
# on validation.

# In[14]:


tfidf_trials = []  # one row per model, input, setting and decoding
tfidf_fitted = {}  # (model, input, setting) -> fitted pipeline on raw texts
for input_name, make_input in INPUTS.items():
    train_texts, valid_texts = make_input(train_df), make_input(valid_df)
    print(f"{input_name}:", end=" ")
    # words and word pairs seen twice or more, C chosen on validation accuracy
    logistic, _ = baselines.tuned_tfidf_logistic(
        train_texts, train_df.rating, valid_texts, valid_stars, min_df=2, verbose=True)
    C = logistic[-1].C
    tfidf_fitted["logistic", input_name, C] = logistic
    probabilities = logistic.predict_proba(valid_texts)
    argmax = logistic.classes_[probabilities.argmax(axis=1)]
    expected = ratings.expected_rating(probabilities)
    for decoding, predicted in [("arg-max", argmax), ("expected", expected)]:
        tfidf_trials.append({"model": "logistic", "input": input_name, "setting": C,
                             "decoding": decoding,
                             **ratings.scores(valid_stars, predicted)})
    vectorizer = logistic[0]  # the logistic regression's TF-IDF features, for ridge
    train_features = vectorizer.transform(train_texts)
    valid_features = vectorizer.transform(valid_texts)
    for alpha in (0.3, 1.0, 3.0):
        regressor = Ridge(alpha=alpha).fit(train_features, train_df.rating)
        predicted = np.clip(regressor.predict(valid_features), 1, 5)
        tfidf_trials.append({"model": "ridge", "input": input_name, "setting": alpha,
                             "decoding": "clipped to 1-5",
                             **ratings.scores(valid_stars, predicted)})
        tfidf_fitted["ridge", input_name, alpha] = make_pipeline(vectorizer, regressor)
tfidf_trials = pd.DataFrame(tfidf_trials)
tfidf_trials.style.format(precision=3).hide(axis="index")


# Ridge's raw predictions can fall outside the scale (a glowing review may get more than five
# stars); clipping them to 1-5 can only bring them closer to the truth, so we always clip. From
# this table we take, on validation, the logistic regression with the best accuracy and the
# TF-IDF model with the lowest RMSE, whichever it is:

# In[15]:


def pick(trials, measure, lowest):
    """The row of ``trials`` with the best validation ``measure``."""
    return trials.loc[trials[measure].idxmin() if lowest else trials[measure].idxmax()]


logistic_trials = tfidf_trials[tfidf_trials.model == "logistic"]
tfidf_acc = pick(logistic_trials, "accuracy", lowest=False)
tfidf_rmse = pick(tfidf_trials, "rmse", lowest=True)
for name, row in [("tfidf (accuracy)", tfidf_acc), ("tfidf (RMSE)", tfidf_rmse)]:
    print(f"{name}: {row.model}, {row.input}, setting {row.setting:g}, {row.decoding} "
          f"-> "
          f"accuracy {row.accuracy:.3f}, RMSE {row.rmse:.3f}")
for input_name in INPUTS:
    rows = tfidf_trials[tfidf_trials.input == input_name]
    print(f"best on validation with {input_name:>12}: "
          f"accuracy {rows.accuracy.max():.3f}, "
          f"RMSE {rows.rmse.min():.3f}")
MEASURES = ["accuracy", "rmse", "mae", "macro_f1"]
same_pick = tfidf_rmse.name == tfidf_acc.name  # the same row of the table
TFIDF_RMSE_NAME = "tfidf logistic" if same_pick else "tfidf best-RMSE"
tfidf_picks = {"tfidf logistic": tfidf_acc, TFIDF_RMSE_NAME: tfidf_rmse}  # one or two
for name, row in tfidf_picks.items():
    candidates[name] = row[MEASURES].to_dict()
print(f"TF-IDF models to compare: {', '.join(tfidf_picks)}")


# Validation chose `C` = 4 for both inputs, and both picks are the logistic regression on title
# and text, decoded two ways: its most likely star has the best accuracy ("tfidf logistic",
# 0.659), its expected rating the lowest RMSE ("tfidf best-RMSE", 0.664, below ridge's 0.685).
# With the title, the best validation RMSE falls from 0.697 to 0.664, while the best accuracy
# barely moves (0.654 to 0.659, a tie). This linear model is the one to beat. It sees which words
# and word pairs occur and nothing of their order beyond pairs, yet it already predicts far
# better than the constants (validation accuracy 0.659 against 0.554, RMSE 0.664 against
# 1.115). A neural model that reads the words in order has to beat it to earn its cost.
# 
# ## A better LSTM
# 
# Four changes to the tutorial's model, each for a reason seen above or well known:
# 
# - **Read each review to its end, and take the state at its last real token**
#   (`models.RecurrentClassifier`, chapter 4's model, does this): no cut at 70 tokens, no padding
#   between the last word and the classifier. Batches group reviews of similar length, and each
#   batch is cut to its longest review, so little padding is computed at all.
# - **Start from GloVe** {cite}`pennington2014glove`: the 50-number vectors of GloVe 6B (trained
#   on 6 billion words of Wikipedia and news) give each word a meaning before training; 15,850
#   reviews are few to learn word meanings from scratch.
# - **Keep punctuation** (an exclamation mark says something about a review), lower-cased for
#   GloVe, tokenized by spaCy without the whitespace tokens.
# - **Train with care**: batches of 64, Adam at 0.002, dropout 0.3 on the embeddings and before
#   the head on every batch, gradient clipping, at most eight epochs (stopping after two without
#   a lower validation loss), and the epoch with the lowest validation loss restored.
# 
# And two ways to use the order of the stars: decode the five-class head as the **expected
# rating** under its softmax (for RMSE) beside its most likely star (for accuracy), or give the
# model a **regression head** that predicts the rating as one number, trained with the squared
# error, which is exactly what RMSE measures.

# In[16]:


tokenize = text.tokenizer("spacy")


def lower_tokens(review):
    return tokenize(review.lower())


glove = vectors.glove_6b_50d()
encoded = {}  # input name -> (vocabulary, GloVe matrix, train / valid / test datasets)
for input_name, make_input in INPUTS.items():
    vocab = text.build_vocab(map(lower_tokens, make_input(train_df)), min_freq=2)
    weights, coverage = vectors.embedding_matrix(vocab, glove)
    datasets = [text.encode_frame(df, lower_tokens, vocab, text_column=make_input)
                for df in (train_df, valid_df, test_df)]
    encoded[input_name] = (vocab, weights, *datasets)
    print(f"{input_name:>12}: {vocab} | {coverage}")


# In[17]:


def rating_lstm(weights, outputs=5):
    """GloVe-initialised embeddings, an LSTM of 100 units, and a head on its output at
    each review's last real token: five class scores (outputs=5) or one rating
    (outputs=1). Dropout 0.3 on the embedded tokens and before the head."""
    return models.RecurrentClassifier(len(weights), weights.shape[1], 100, outputs,
                                      cell="lstm", dropout=0.3, embed_dropout=0.3,
                                      embeddings=weights)


# Before training, two checks. An untrained model must give the same output for a review
# whether it is scored in a padded batch or alone; and we time a training step with one and with
# two threads, as for the tutorial's model, and keep the second thread only if it saves at
# least 5 % of a step.

# In[18]:


vocab, weights, train_set, valid_set, test_set = encoded["text"]
probe = rating_lstm(weights).eval()
sample = [valid_set[i] for i in range(16)]
with torch.no_grad():
    together = probe(*text.collate(sample)[:2])
    alone = torch.cat([probe(*text.collate([review])[:2]) for review in sample])
difference = (together - alone).abs().max()
print(f"largest difference, padded batch vs one at a time: {difference:.1e}")

BATCH = 64
batch = next(iter(text.data_loader(train_set, BATCH, bucket=True)))
print(f"a training step (batch {BATCH}, {batch[0].shape[1]} steps), the median of ten:")
LSTM_THREADS = training.best_thread_count(  # after a warm-up step
    probe, [batch] * 11, lambda p: torch.optim.Adam(p, lr=2e-3), nn.CrossEntropyLoss())


# The difference is rounding error, so the padding plays no part. `train_rating_model` sets
# PyTorch's random seed to 0 just before it builds each model, and draws the order of the
# training batches from seed 0 as well. It trains with `training.fit`, with the thread count
# chosen above, given the rating loss (`ratings.RatingLoss`: cross-entropy, or squared error for
# the regression head) and the rating validation (`ratings.validator`). It restores the epoch
# with the lowest validation loss and prints each epoch's validation accuracy (of the arg-max
# star, or of the nearest star for the regression head) and RMSE (of the expected rating, or of
# the predicted rating for the regression head).

# In[19]:


EPOCHS, PATIENCE = 8, 2
trained = {}    # name -> (model, input name, head)
histories = {}  # name -> training history


def train_rating_model(name, input_name, head, build=rating_lstm):
    """Train ``build(weights, outputs)`` on one input and head; score on validation."""
    _, weights, train_set, valid_set, _ = encoded[input_name]
    torch.manual_seed(0)
    model = build(weights, outputs=5 if head == "classes" else 1)
    if head == "regression":
        with torch.no_grad():
            model.head.bias.fill_(mean_rating)  # start from the best constant
    train_loader = text.data_loader(train_set, BATCH, bucket=True, seed=0)
    valid_loader = text.data_loader(valid_set, 256, bucket=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    with training.using_threads(LSTM_THREADS):
        histories[name] = training.fit(
            model, train_loader, valid_loader, optimizer, ratings.RatingLoss(head),
            device, EPOCHS, clip_norm=1.0, patience=PATIENCE,
            validate=ratings.validator(head), progress=False)
        true, argmax, expected, _ = ratings.predict(model, valid_loader, device, head)
    trained[name] = (model, input_name, head)
    if head == "classes":
        candidates[f"{name} arg-max"] = ratings.scores(true, argmax)
        candidates[f"{name} expected"] = ratings.scores(true, expected)
    else:
        candidates[name] = ratings.scores(true, np.clip(expected, 1, 5))


train_rating_model("lstm classes, text", "text", "classes")


# ### Does the title help?
# 
# A title is a summary of the review in a few words, written by the same person who gave the
# stars. We give the same model the title in front of the text:

# In[20]:


train_rating_model("lstm classes, title + text", "title + text", "classes")
lstm_rows = [name for name in candidates if "lstm" in name]
pd.DataFrame(candidates).T.loc[lstm_rows].style.format("{:.3f}")


# With the title, the expected rating's validation RMSE falls from 0.707 to 0.668, while the
# arg-max accuracy stays level (0.655 against 0.656). The input with the lower validation RMSE
# of the expected rating is the one the regression head gets (a choice made on validation, like
# all others):

# In[21]:


text_rmse = candidates["lstm classes, text expected"]["rmse"]
title_rmse = candidates["lstm classes, title + text expected"]["rmse"]
REGRESSION_INPUT = "title + text" if title_rmse < text_rmse else "text"
print(f"validation RMSE of the expected rating: text {text_rmse:.3f}, title + text "
      f"{title_rmse:.3f} -> regression head on {REGRESSION_INPUT}")
train_rating_model(f"lstm regression, {REGRESSION_INPUT}", REGRESSION_INPUT,
                   "regression")


# ### Reading in both directions
# 
# A unidirectional LSTM's last state has read the end of the review most recently. The shared
# bidirectional model of `textclf.models` (built for chapter 6) also reads each review
# backwards, and its head sees the two final states together with the maximum and the mean of
# all outputs over the review, so a strong sentence in the middle can reach the head without
# passing through everything after it. We give it the regression head and the same input, GloVe
# vectors and training recipe.

# In[22]:


def bidirectional(weights, outputs):
    """The shared BiLSTMClassifier (one layer, pooled outputs) on GloVe vectors."""
    model = models.BiLSTMClassifier(len(weights), weights.shape[1], 100, outputs,
                                    num_layers=1, dropout=0.3, pooling="final+max+mean")
    with torch.no_grad():
        model.embedding.weight.copy_(weights)
    return model


train_rating_model(f"bilstm regression, {REGRESSION_INPUT}", REGRESSION_INPUT,
                   "regression", build=bidirectional)


# In[23]:


fig, (rmse_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
plots.validation_curves(histories, "valid_rmse", ax=rmse_ax, mark_best=True,
                        title="expected / predicted rating", ylabel="validation RMSE")
plots.validation_curves(histories, "valid_accuracy", ax=acc_ax, mark_best=True,
                        title="arg-max / nearest star")
rmse_ax.get_legend().remove()  # the same runs in the same colours: one legend
fig.tight_layout()


# ## Choosing on validation
# 
# Every model and every way of decoding it, on the validation part. The arg-max of a classifier
# is a whole star, so it can be exactly right (accuracy) but pays fully for every miss; the
# expected rating is rarely a whole star, so its accuracy after rounding can go either way. Here
# it is lower in every case (0.634 against 0.655 and 0.645 against 0.656 for the LSTM
# classifiers; 0.633 against 0.654 and 0.646 against 0.659 for the logistic regressions in the
# TF-IDF table), but it hedges between neighbouring stars and has the lower RMSE in every case
# (for the chosen logistic regression 0.664 against 0.808).

# In[24]:


board = pd.DataFrame(candidates).T
best_rmse_name, best_accuracy_name = board.rmse.idxmin(), board.accuracy.idxmax()
neural = [name for name in board.index if "lstm" in name]
best_neural_name = board.loc[neural].rmse.idxmin()
print(f"lowest validation RMSE:   {best_rmse_name}")
print(f"highest validation accuracy: {best_accuracy_name}")
print(f"lowest validation RMSE among the LSTMs: {best_neural_name}")
board.style.format("{:.3f}")


# ## The test, read once
# 
# Validation picks a different model for each measure. The TF-IDF logistic regression's arg-max
# has the highest accuracy (0.659; the best LSTM, the title + text classifier's arg-max, has
# 0.656, a tie). The bidirectional LSTM with the regression head has the lowest RMSE (0.656),
# with the logistic regression's expected rating at 0.664 and the LSTM classifier's on title +
# text at 0.668: lowest on validation, by less than a hundredth of a star, in one run of each.
# Now every model meets the test reviews, once. The tutorial's model is the one after its 90th
# epoch, the others as chosen above.

# In[25]:


test_stars = test_df.rating.to_numpy()
test_predictions = {  # name -> predicted stars (whole or real) on the test part
    "majority": np.full(len(test_df), majority_star),
    "mean": np.full(len(test_df), mean_rating),
}
tutorial_test_loader = text.data_loader(tutorial_test, TUTORIAL_BATCH,
                                        length=TUTORIAL_STEPS)
_, test_predictions["tutorial model"], *_ = ratings.predict(
    tutorial_model, tutorial_test_loader, device, "classes")
for name, row in tfidf_picks.items():
    fitted = tfidf_fitted[row.model, row.input, row.setting]
    texts = INPUTS[row.input](test_df)
    if row.model == "ridge":
        test_predictions[name] = np.clip(fitted.predict(texts), 1, 5)
    else:
        probabilities = fitted.predict_proba(texts)
        test_predictions[name] = (ratings.expected_rating(probabilities)
                                  if row.decoding == "expected"
                                  else fitted.classes_[probabilities.argmax(axis=1)])
for name, (model, input_name, head) in trained.items():
    loader = text.data_loader(encoded[input_name][4], 256)
    true, argmax, expected, _ = ratings.predict(model, loader, device, head)
    assert (true == test_stars).all()
    if head == "classes":
        test_predictions[f"{name} arg-max"] = argmax
        test_predictions[f"{name} expected"] = expected
    else:
        test_predictions[name] = np.clip(expected, 1, 5)
test_board = pd.DataFrame({name: ratings.scores(test_stars, predicted)
                           for name, predicted in test_predictions.items()}).T
test_board.style.format("{:.3f}")


# Read the table from the top. The tutorial's model (third row) is the honest version of its
# validation log: the same recipe, judged on reviews that played no part in any choice. Its
# accuracy is that of always answering five stars (0.557 against 0.554), and its RMSE (0.984)
# lies between the mean's (1.115) and the TF-IDF RMSE pick's (0.674).
# 
# The linear model chosen on validation accuracy keeps the best test accuracy (0.664; the best
# LSTM row has 0.649). The bidirectional LSTM chosen on validation RMSE also has the lowest test
# RMSE (0.649, against 0.674 for the TF-IDF RMSE pick and 0.666 for the two other LSTMs that read
# title + text and predict a rating). The model first on validation RMSE is first on test too,
# but each model was trained once, and how far the gaps would move with other random seeds was
# not measured.
# 
# Within each classifier (the two TF-IDF rows are one logistic regression too), the arg-max and
# the expected-rating rows are the same model decoded two ways: the first for accuracy, the
# second for RMSE.
# 
# ### Where the errors sit
# 
# A confusion matrix for four of the models, each row normalised to the reviews with that true
# rating: the diagonal is the share of each rating that the model gets right. Models that output
# a real number are rounded to the nearest star for this picture.

# In[26]:


shown = ["tutorial model", "tfidf logistic", f"{best_neural_name}",
         "lstm classes, title + text arg-max"]
shown = list(dict.fromkeys(shown))  # the same model may appear twice
fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 4.4))
label_names = [str(star) for star in ratings.STARS]
for ax, name in zip(axes, shown):
    predicted = ratings.nearest_star(test_predictions[name])
    plots.confusion_matrix(test_stars - 1, predicted - 1, label_names, normalize=True,
                           title=name, ax=ax)
    ax.set(xlabel="predicted stars", ylabel="true stars")
fig.tight_layout()


# In[27]:


def error_profile(predicted):
    """Where the nearest-star predictions go wrong, as shares of the test reviews."""
    stars = ratings.nearest_star(predicted)
    wrong = stars != test_stars
    four_five = wrong & np.isin(test_stars, [4, 5]) & np.isin(stars, [4, 5])
    return {"wrong": wrong.mean(), "4 vs 5": four_five.mean(),
            "off by one": (np.abs(stars - test_stars) == 1).mean(),
            "off by 2+": (np.abs(stars - test_stars) >= 2).mean(),
            "4 vs 5, share of errors": four_five.sum() / max(wrong.sum(), 1)}


pd.DataFrame({name: error_profile(test_predictions[name]) for name in test_predictions
              if name not in ("majority", "mean")}).T.style.format("{:.1%}")


# For every model in the table, 43.9 to 49.1 % of the errors confuse four and five stars, and most
# errors are off by one star: the tutorial's model is wrong on 44.3 % of the test reviews and off
# by one on 33.0 %, the TF-IDF logistic regression (arg-max) on 33.6 % and 26.6 %. Four and five
# stars are also the two most common ratings (21.7 % and 55.4 % of each part). Errors of two or
# more stars are what RMSE punishes hardest (in squared error, a miss by two stars costs four
# misses by one); the bidirectional LSTM makes the fewest (3.5 % of the test reviews, against
# 4.7 % for the TF-IDF RMSE pick, 7.0 % for its arg-max and 11.2 % for the tutorial's model),
# although it is wrong more often than the TF-IDF arg-max (36.1 % against 33.6 %).
# 
# ### Against the targets
# 
# Before the run we set ourselves three targets on the test part, thresholds of this chapter
# only, not a published standard: a best RMSE of at most 0.68, a best accuracy of at least 0.66
# (each from the model chosen on validation for that measure), and a lower test RMSE for the
# best LSTM than for the best TF-IDF model (each chosen on validation RMSE).

# In[28]:


best_rmse = test_board.rmse[best_rmse_name]
best_accuracy = test_board.accuracy[best_accuracy_name]
neural_rmse = test_board.rmse[best_neural_name]
tfidf_test_rmse = test_board.rmse[TFIDF_RMSE_NAME]
checks = [
    ("best RMSE <= 0.68", best_rmse <= 0.68, f"{best_rmse:.4f} ({best_rmse_name})"),
    ("best accuracy >= 0.66", best_accuracy >= 0.66,
     f"{best_accuracy:.4f} ({best_accuracy_name})"),
    ("best LSTM beats TF-IDF on RMSE", neural_rmse < tfidf_test_rmse,
     f"{neural_rmse:.4f} ({best_neural_name}) vs {tfidf_test_rmse:.4f}"),
]
for target, met, achieved in checks:
    print(f"{target:<32} {'met' if met else 'MISSED'}: {achieved}")


# All three of our targets are met, the accuracy target only just (0.6642 against 0.66). The
# first and the third rest on the same model, the bidirectional LSTM that validation chose for
# RMSE. On test it is further ahead of the TF-IDF RMSE pick (0.6485 against 0.6744) than on
# validation (0.656 against 0.664); with one training run of each model, that is what this run
# shows, not a gap measured across random seeds.
# 
# ## Results
# 
# The numbers of this run, as recorded in `results/08_star_ratings.json`:

# In[29]:


def key(name):
    """A results key for a model name: lower case, underscores ("tutorial model" ->
    "tutorial_model", "tfidf best-RMSE" -> "tfidf_best_rmse")."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


record = {
    "tutorial_model.test_accuracy": test_board.accuracy["tutorial model"],
    "tutorial_model.test_rmse": test_board.rmse["tutorial model"],
    "tutorial_model.batch_averaged_rmse": ratings.batch_averaged_rmse(
        test_stars, test_predictions["tutorial model"], 64),
    "tutorial_model.last_epoch_valid_rmse": tutorial_log.rmse.iloc[-1],
    "tutorial_model.lowest_valid_rmse": tutorial_log.rmse.min(),
    "majority.test_accuracy": test_board.accuracy["majority"],
    "mean.test_rmse": test_board.rmse["mean"],
    "tfidf.test_accuracy": test_board.accuracy["tfidf logistic"],
    "tfidf.test_rmse": tfidf_test_rmse,
    "best_rmse.test_rmse": best_rmse,
    "best_accuracy.test_accuracy": best_accuracy,
}
for name, row in test_board.iterrows():
    for measure in ("accuracy", "rmse", "mae"):
        record[f"{key(name)}.test_{measure}"] = row[measure]
threads_used = sorted({TUTORIAL_THREADS, LSTM_THREADS})  # what the two trainings chose
threads = " and ".join(map(str, threads_used))  # e.g. "1 and 2", or "2"
results.save("08_star_ratings", record, device=device, threads=threads)


# The tutorial model's `batch_averaged_rmse` (0.9732) is the tutorial's measure on that
# model's test predictions, with batches of 64 in file order; its `test_rmse` (0.9844) is the
# RMSE of the same predictions.
# 
# ## Summary
# 
# - Ratings are ordered, so a rating model is judged by how far it misses (RMSE, mean absolute
#   error) as well as by how often it hits (accuracy). Compute RMSE once over all predictions; an
#   average of per-batch RMSEs is never higher, lower as soon as the batches' errors differ, and
#   depends on the batching.
# - The tutorial's LSTM reads padding before it classifies, cuts long reviews, trains with
#   dropout off after the first batch of each training call and is scored only on its validation
#   reviews. Rebuilt faithfully and tested on unseen reviews, its accuracy is that of always
#   answering five stars (0.557 against 0.554), and its RMSE (0.984) lies between the best
#   constant's (1.115) and the TF-IDF RMSE pick's (0.674).
# - Validation picks a different model for each measure. For accuracy, a TF-IDF logistic
#   regression on title and text (0.659, tied with the best LSTM's 0.656); on test it keeps the
#   best accuracy (0.664, against at most 0.649 for an LSTM). For RMSE, a bidirectional LSTM with
#   a regression head (0.656, the lowest by less than a hundredth); on test its RMSE is the
#   lowest too (0.649, against 0.674 for the linear model's expected rating), in one run each.
# - The order of the stars is worth using: decoding a classifier as its expected rating instead
#   of its most likely star lowered its test RMSE (LSTM: 0.786 to 0.719 on the text, 0.734 to
#   0.666 with the title; TF-IDF logistic regression: 0.818 to 0.674). The title lowers RMSE too
#   (validation: 0.707 to 0.668 for the LSTM's expected rating, 0.697 to 0.664 for TF-IDF).
#   Nearly half of the remaining errors (43.9 to 49.1 %) are four against five stars.
# 
# ## Exercises
# 
# 1. The tutorial's "RMSE" averaged per-batch RMSEs. Show with two batches of two reviews each
#    that the average can be lower than the RMSE of all four, and say when the two are equal.
# 2. Train the tutorial's `FixedLengthLSTM` with the padding moved to the front of each review
#    (left padding) for 30 epochs at the tutorial's settings. What does `h_n[-1]` read now, and
#    does validation RMSE improve?
# 3. For the LSTM classifiers, the expected rating lowered RMSE but also accuracy. Find, on
#    validation, thresholds that turn the expected rating into whole stars (instead of plain
#    rounding) with the best accuracy. Does the gain carry over to the test part?
# 4. Train `rating_lstm` with the regression head on the other input than the one chosen above.
#    How large is the difference on validation, and is it larger than the difference between two
#    training runs with different seeds?
# 5. Average the best LSTM's predicted rating and the TF-IDF RMSE pick's expected rating. Choose
#    the weight on validation. Why can an average of two models have a lower RMSE than both?
# 
# :::{admonition} Answers
# :class: dropdown
# 
# 1. Errors (0, 0) in the first batch and (2, 0) in the second: per-batch RMSEs 0 and √2, average
#    0.71; the RMSE of all four is √(4/4) = 1. Since √ is concave, the average of per-batch RMSEs
#    is never above the RMSE; they are equal when every batch has the same mean squared error,
#    and in particular when there is only one batch (the tutorial's validation part, 20 % of
#    22,641 reviews, fitted in one batch of 5,000, so there its number was right by luck).
# 2. With left padding the 70th step is always a real token (the review's last one, or the 70th
#    for cut reviews), so `h_n[-1]` summarises the review without having read padding after it;
#    the padding is read first, before any word. Whether validation RMSE improves is for the run
#    to show: the chapter did not train this variant. Problem 3's measurement (accuracy on the
#    padded reviews 0.622 with the padding removed, 0.601 with it) suggests it may.
# 3. Sort the validation expected ratings and search four cut points (for example on a grid of
#    quantiles) that maximise accuracy. The chapter did not run this. Cut points chosen on 3,396
#    validation reviews partly fit that part's noise, so expect a smaller gain on test, if any.
# 4. The chapter chose title + text, so train
#    `train_rating_model("lstm regression, text", "text", "regression")` and compare its row of
#    `candidates` with the chosen model's. For the spread between seeds, train the chosen input
#    again with another seed. A `torch.manual_seed(1)` before the call changes nothing, because
#    `train_rating_model` calls `torch.manual_seed(0)` itself just before it builds the model;
#    reseed in its `build` argument instead, which runs after that call. With a function
#    `reseeded(weights, outputs)` that calls `torch.manual_seed(1)` and returns
#    `rating_lstm(weights, outputs)`, run
#    `train_rating_model("lstm, seed 1", "title + text", "regression", build=reseeded)`.
#    That changes the initial weights and the dropout masks; the order of the batches stays that
#    of seed 0 (`text.data_loader(..., seed=0)` inside `train_rating_model`). Differences between
#    the inputs smaller than the spread between seeds are not evidence for either input.
# 5. `w * lstm + (1 - w) * tfidf` with `w` from a grid on validation. The two models make partly
#    different errors (one reads order, the other counts word pairs), so their errors partly
#    cancel, and the squared error of an average is at most the average of the squared errors.
# :::
