"""Each chapter's numbers, saved to ``results/<notebook stem>.json`` with how the run was made."""

from __future__ import annotations

import json
import math
import numbers
import os
import platform
import re
import subprocess
from collections.abc import Mapping
from datetime import datetime, timezone

import numpy as np
import torch

from . import settings, training
from .checks import DataError, check_int
from .files import atomic_write, read_json

_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: Largest integer saved exactly (JSON readers turn larger ones into imprecise floats).
MAX_INT = 2**53


def check_stem(stem: object) -> str:
    """A plain chapter stem such as ``04_rnn_baseline_imdb``: no directories, no ``..``."""
    if not isinstance(stem, str):
        raise TypeError(f"stem must be the chapter's notebook name (str), got {type(stem).__name__}")
    if not _STEM.match(stem) or ".." in stem or stem.endswith(".json"):
        raise ValueError(
            f"stem must be a plain notebook name such as '04_rnn_baseline_imdb' (letters, digits, '_', '-', '.'; "
            f"no path separators, '..' or .json), got {stem!r}"
        )
    return stem


def save(stem: str, metrics: dict[str, float], device: torch.device | None = None, *,
         threads: int | str | None = None, precision: str | None = None) -> None:
    """Write ``{"run": ..., "metrics": ...}`` for the chapter ``stem`` and print it.

    ``metrics`` is a flat mapping of dotted names to numbers (``"lstm.test_accuracy": 0.87``).
    ``threads`` and ``precision`` say what the training used when a chapter changed them inside
    ``training.using_threads`` / ``using_precision`` (e.g. ``"1 and 2"``, ``"fp32 and bf16"``);
    by default the values in force now are recorded.
    A quick-mode run writes under ``results/quick/`` so it never overwrites a full run's file.
    """
    stem = check_stem(stem)
    if not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a dict of name -> number, got {type(metrics).__name__}")
    if not metrics:
        raise ValueError("metrics is empty: a chapter records at least one number")
    for name, value in metrics.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"metric names are non-empty strings, got {name!r}")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ValueError(f"metric {name!r} must be a finite number, got {value!r:.60}")
        if isinstance(value, numbers.Integral):
            if abs(value) > MAX_INT:
                raise ValueError(f"metric {name!r} is an integer too large to save exactly (over 2**53: {int(value).bit_length()} bits)")
        elif not math.isfinite(value):
            raise ValueError(f"metric {name!r} must be a finite number, got {value!r}")
    if device is not None and not isinstance(device, torch.device):
        raise TypeError(f"device must be a torch.device (what training.setup returns) or None, got {device!r:.40}")
    threads = torch.get_num_threads() if threads is None else _run_note(threads, "threads", integer=True)
    precision = training.precision() if precision is None else _run_note(precision, "precision")
    quick = settings.quick_mode()
    device = device or training.pick_device()
    record = {
        "run": {
            "mode": "quick" if quick else "full",
            "device": training.describe_device(device),
            "processor": training.describe_processor(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "wall_seconds": round(training.seconds_since_setup(), 1),
            "threads": threads,
            "precision": precision,
            "seed": training.setup_seed(),
            "load_average_at_start": training.setup_load(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "commit": _commit(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        },
        "metrics": {name: int(v) if isinstance(v, numbers.Integral) else float(v) for name, v in metrics.items()},
    }
    path = settings.results_dir() / ("quick" if quick else "") / f"{stem}.json"
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.chmod(0o644)  # mkstemp makes it private; results are for everyone to read
    print(summary(record, f"results/{path.relative_to(settings.results_dir())}"))


def _run_note(value: object, name: str, integer: bool = False) -> object:
    """``value`` if it is a short non-empty text (or, with ``integer``, an int >= 1), else a clear error.

    With ``integer``, a text of digits alone (``"2"``) is saved as the number, as an int would be."""
    if isinstance(value, str):
        text = value.strip()
        if not 0 < len(text) <= 40:
            raise ValueError(f"{name} must be a non-empty text of at most 40 characters, got {value!r:.60}")
        if integer and text.isascii() and text.isdigit():
            return check_int(int(text), name, 1)
        return text
    if integer and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return check_int(value, name, 1)
    raise TypeError(f"{name} must be a short text{' or int' if integer else ''}, got {type(value).__name__}")


def _commit() -> str:
    """The book's git commit (with ``+changes`` when the work tree differs), or ``unknown``."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=settings.PROJECT_ROOT, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
    try:
        head = git("rev-parse", "--short=12", "HEAD")
        return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def summary(record: dict, name: str) -> str:
    """A short, readable table of a results record: one metric per line, then how the run was made."""
    run = record["run"]
    width = max(len(k) for k in record["metrics"])
    lines = [f"{name} ({run['mode']} run, {run['device']}, {run.get('processor', 'processor ?')}, "
             f"torch {run['torch']}, "
             f"{run.get('threads', '?')} threads, seed {run.get('seed', '?')}, "
             f"{run['wall_seconds'] / 60:.1f} min, {run['date']}, commit {run.get('commit', '?')}, "
             f"load at start {run.get('load_average_at_start', '?')}"
             + (f", {run['precision']}" if run.get("precision", "fp32") != "fp32" else "") + ")"]
    for key, value in record["metrics"].items():
        shown = f"{value:,}" if isinstance(value, int) else f"{value:.4g}"
        lines.append(f"  {key:<{width}}  {shown}")
    return "\n".join(lines)


def load(stem: str) -> dict:
    """Read a chapter's saved results (the full-run file)."""
    path = settings.results_dir() / f"{check_stem(stem)}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results for {stem!r} at {path}; run the chapter in full mode first")
    record = read_json(path, "a results file", "; run the chapter again")
    if not isinstance(record, dict) or not isinstance(record.get("run"), dict) or not isinstance(record.get("metrics"), dict):
        raise DataError(f"{path} is not a results file (it lacks 'run' and 'metrics'); run the chapter again")
    return record
