"""textclf: the small pipeline every chapter of the book reuses.

| module | holds |
|---|---|
| ``settings`` | where files go, quick or full mode |
| ``checks`` | ``DataError`` and ``check_int``, the one integer-argument check |
| ``files`` | checksummed fetching, atomic writes, the data errors |
| ``data`` | the book's data sets (loaders, splits) |
| ``text`` | tokenizers, vocabulary, encoding, batching |
| ``vectors`` | pre-trained embeddings (GloVe) |
| ``models`` | the model pieces several chapters share (BiLSTM, last real step) |
| ``training`` | set-up, precision, ``fit``, ``evaluate``, ``predict``, the restore rule |
| ``metrics``, ``plots`` | accuracy, RMSE, reports; training curves, confusion matrices |
| ``ratings`` | star ratings: expected rating, RMSE, the rating heads |
| ``probes`` | gradients reaching each step |
| ``leakage`` | grouped splits, near-duplicates |
| ``baselines`` | TF-IDF + logistic regression, C chosen on validation |
| ``language_model`` | a word-level LSTM language model, its windows, transfer into a classifier |
| ``ensemble`` | two models' probabilities blended, the weight chosen on validation |
| ``explain`` | LIME for the book's models |
| ``classifier`` | ``TextClassifier``: fit, predict, save and load on your own data |
| ``cli`` | the ``textclf`` command line (train, predict, explain) |
| ``results`` | each chapter's recorded numbers |
"""

__version__ = "0.1.0"
