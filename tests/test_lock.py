"""requirements.lock pins the whole stack, CPU torch first, and nothing of CUDA."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_lock_pins_every_direct_requirement_at_its_version():
    lock, direct = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements.txt")
    assert {name: lock.get(name) for name in direct} == direct


def test_lock_pins_cpu_torch_and_no_cuda_package():
    lock = _pins(ROOT / "requirements.lock")
    assert lock["torch"] == "2.13.0"
    cuda = [name for name in lock if name.startswith(("nvidia-", "cuda-")) or name == "triton"]
    assert cuda == []
    assert len(lock) > 100  # the whole tree, not just the direct requirements


def test_make_installs_cpu_torch_first_then_the_lock():
    recipe = (ROOT / "Makefile").read_text()
    torch_at, lock_at = recipe.index("--extra-index-url $(TORCH_INDEX) torch==2.13.0"), recipe.index("-r requirements.lock")
    assert torch_at < lock_at
    assert "TORCH_INDEX ?= https://download.pytorch.org/whl/cpu" in recipe  # where the 2.13.0+cpu wheel is
