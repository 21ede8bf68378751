"""Shared fixtures: a private data cache per test session, and the real data mirror."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

# tests/compat needs torch 2.3 + torchtext in their own environment: `make compat` runs it.
# tests/browser needs the built book: `make browser` runs it after `make book`.
collect_ignore = ["compat", "browser", "lab"]


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The real datasets mirror (TEXTCLF_DATA_MIRROR). CI and `make test` always set it."""
    configured = os.environ.get("TEXTCLF_DATA_MIRROR")
    if not configured:
        pytest.skip("TEXTCLF_DATA_MIRROR is not set: the real-data tests need the datasets mirror")
    return Path(configured)


@pytest.fixture(scope="session")
def real_cache(tmp_path_factory, mirror) -> Path:
    """One fresh data cache for all real-data tests, so they exercise mirror -> cache -> parse once."""
    return tmp_path_factory.mktemp("data-cache")


@pytest.fixture
def real_data(real_cache, mirror, monkeypatch):
    """Loads come from the real mirror into the session's fresh cache, full size."""
    monkeypatch.setenv("TEXTCLF_DATA_DIR", str(real_cache))
    monkeypatch.setenv("TEXTCLF_DATA_MIRROR", str(mirror))
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)


@pytest.fixture
def empty_env(tmp_path, monkeypatch) -> Path:
    """An empty cache and a fresh mirror directory (returned), full mode."""
    monkeypatch.setenv("TEXTCLF_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TEXTCLF_DATA_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    (tmp_path / "mirror").mkdir()
    return tmp_path / "mirror"
