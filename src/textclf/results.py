"""Each chapter's numbers, saved to ``results/<notebook stem>.json`` with how the run was made."""

from __future__ import annotations

import json
import math
import numbers
import platform
from datetime import datetime, timezone

import torch

from . import settings, training
from .files import atomic_write


def save(stem: str, metrics: dict[str, float], device: torch.device | None = None) -> None:
    """Write ``{"run": ..., "metrics": ...}`` for the chapter ``stem`` and print it.

    ``metrics`` is a flat mapping of dotted names to numbers (``"lstm.test_accuracy": 0.87``).
    A quick-mode run writes under ``results/quick/`` so it never overwrites a full run's file.
    """
    for name, value in metrics.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"metric names are non-empty strings, got {name!r}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"metric {name!r} must be a finite number, got {value!r}")
    quick = settings.quick_mode()
    device = device or training.pick_device()
    record = {
        "run": {
            "mode": "quick" if quick else "full",
            "device": training.describe_device(device),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "wall_seconds": round(training.seconds_since_setup(), 1),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        },
        "metrics": {name: int(v) if isinstance(v, numbers.Integral) else float(v) for name, v in metrics.items()},
    }
    path = settings.results_dir() / ("quick" if quick else "") / f"{stem}.json"
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.chmod(0o644)  # mkstemp makes it private; results are for everyone to read
    print(f"saved results/{path.relative_to(settings.results_dir())}:")
    print(json.dumps(record, indent=2))


def load(stem: str) -> dict:
    """Read a chapter's saved results (the full-run file)."""
    path = settings.results_dir() / f"{stem}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results for {stem!r} at {path}; run the chapter in full mode first")
    return json.loads(path.read_text())
