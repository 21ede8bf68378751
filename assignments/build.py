"""Build the classroom assignments with Otter Assign: ``python assignments/build.py [name ...]``.

For each source notebook ``assignments/<name>.ipynb`` this writes ``dist/<name>/student/`` (the
notebook to hand out: no solutions, no hidden tests) and ``dist/<name>/autograder/`` (the
solution notebook and ``autograder.zip``, which ``otter run`` grades with). Without names, every
assignment is built.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def names() -> list[str]:
    """The assignments, by file stem, in order."""
    return sorted(path.stem for path in HERE.glob("[0-9]*.ipynb"))


def build(name: str, dist: Path = ROOT / "dist") -> Path:
    """Run ``otter assign`` on one assignment; returns ``dist/<name>``."""
    source = HERE / f"{name}.ipynb"
    if not source.is_file():
        raise FileNotFoundError(f"no assignment {name!r} ({source}); the assignments are: {', '.join(names())}")
    out = Path(dist) / name
    shutil.rmtree(out, ignore_errors=True)
    # The tests of every assignment are checked by tests/test_assignments.py (solution, blank and
    # wrong notebooks), so Otter Assign need not run them once more here.
    subprocess.run([sys.executable, "-m", "otter", "assign", "--no-run-tests", str(source), str(out)],
                   check=True)
    zips = sorted((out / "autograder").glob(f"{name}-autograder_*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"otter assign should write one autograder zip for {name}, found {zips}")
    zips[0].rename(out / "autograder" / "autograder.zip")
    return out


def main(argv: list[str]) -> None:
    for name in argv or names():
        out = build(name)
        print(f"{name}: {out / 'student'} and {out / 'autograder' / 'autograder.zip'}")


if __name__ == "__main__":
    main(sys.argv[1:])
