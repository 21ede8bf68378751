"""Where the book keeps its files and which mode it runs in, read from environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from .checks import check_int

#: Root of the book's repository (the package is installed editable from ``src/``).
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def quick_mode() -> bool:
    """True when ``TEXTCLF_QUICK`` is set to 1/true/yes: small data, capped training, for tests.

    Unset, empty, 0/false/no/off mean full mode; any other value is an error, so that a typo
    never starts an hour-long full run by surprise.
    """
    value = os.environ.get("TEXTCLF_QUICK", "").strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"", "0", "false", "no", "off"}:
        return False
    raise ValueError(f"TEXTCLF_QUICK={os.environ['TEXTCLF_QUICK']!r} is not understood: use 1 (quick mode) or 0 (full mode)")


def full_or_quick(full: int, quick: int) -> int:
    """``full`` in a real run, ``quick`` in quick mode: for sample sizes and repetitions that set a
    chapter's cost but not what it teaches (LIME samples, reviews explained, timed batches)."""
    full, quick = check_int(full, "full", 1), check_int(quick, "quick", 1)
    return quick if quick_mode() else full


def data_dir() -> Path:
    """The data cache: ``TEXTCLF_DATA_DIR`` if set, else ``data/`` at the project root."""
    configured = os.environ.get("TEXTCLF_DATA_DIR")
    return Path(configured).expanduser().resolve() if configured else PROJECT_ROOT / "data"


def mirror_dirs() -> list[Path]:
    """Local mirror directories from ``TEXTCLF_DATA_MIRROR`` (separated by ``os.pathsep``)."""
    configured = os.environ.get("TEXTCLF_DATA_MIRROR", "")
    return [Path(p).expanduser().resolve() for p in configured.split(os.pathsep) if p.strip()]


def results_dir() -> Path:
    """Where chapters record their numbers: ``results/`` at the project root."""
    return PROJECT_ROOT / "results"
