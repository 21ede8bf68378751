"""textclf: the small pipeline every chapter of the book reuses.

Modules: ``data`` (datasets), ``files`` (checksummed fetching), ``vectors`` (pre-trained
embeddings), ``text`` (tokenizers, vocabulary, batching), ``training``, ``metrics``, ``plots``,
``explain`` (LIME), ``models`` (shared model pieces),
``probes`` (gradients reaching each step), ``leakage`` (grouped splits, near-duplicates)
and ``results`` (each chapter's recorded numbers).
"""

__version__ = "0.1.0"
