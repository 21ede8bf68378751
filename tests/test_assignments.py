"""The classroom assignments: Otter Assign builds them, `otter run` grades them, and the grading is fair.

Every assignment is built with ``assignments/build.py`` into a temporary ``dist``, then graded in
quick mode on the real data mirror, offline and without Docker:

- the solution notebook scores full points;
- the unmodified student notebook scores no more than the free points (there are none);
- a solution with one realistic mistake loses points in that question only, exactly as many as
  the test cases that catch the mistake are worth;
- the student notebook holds no solution line and no hidden test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "assignments"))
import build  # noqa: E402  (assignments/build.py)

NAMES = build.names()
#: Points a student gets without writing anything. Every test fails on the `...` placeholders.
FREE_POINTS = {name: 0.0 for name in NAMES}
#: One realistic mistake for each of the two faster assignments (assignment 1 trains two models,
#: which a third grading run would repeat): (question, line in the solution, the mistaken line,
#: that question's score with the mistake). The score is what the test cases that still pass are
#: worth; each case of a question is worth the question's points divided by its number of cases.
MISTAKES = {
    "02_battlefield": (
        "q4",  # reading the LSTM at the last column of the padded batch, not at the last real step
        "pooled_lengths = -(-lengths // self.pool.kernel_size)     # ceil(length / pool)",
        "pooled_lengths = torch.full_like(lengths, x.shape[1])",
        3 * 3 / 4,  # shape, parameters and learning pass; the padding test fails
    ),
    "03_lstm_cell": (
        "q4",  # the two directions concatenated along time instead of features
        "return np.concatenate([forward, backward_reversed[:, ::-1]], axis=2)",
        "return np.concatenate([forward, backward_reversed[:, ::-1]], axis=1)",
        0.0,
    ),
}


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Path:
    """Every assignment built by Otter Assign, as `make assignments` does, into a fresh directory."""
    out = tmp_path_factory.mktemp("dist")
    for name in NAMES:
        build.build(name, out)
    return out


@pytest.fixture(scope="session")
def grading_env(mirror, real_cache) -> dict[str, str]:
    """Quick mode, the real data mirror, and one data cache for the whole session."""
    return {**os.environ, "TEXTCLF_QUICK": "1", "TEXTCLF_DATA_MIRROR": str(mirror),
            "TEXTCLF_DATA_DIR": str(real_cache)}


def grade(notebook: Path, autograder_zip: Path, env: dict[str, str], workdir: Path) -> dict[str, tuple]:
    """Grade one notebook with `otter run`; returns {question: (score, max_score)}."""
    workdir.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(autograder_zip), "-o", str(workdir),
                          "--no-logo", str(notebook)], env=env, cwd=workdir, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, f"otter run failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    results = json.loads((workdir / "results.json").read_text())
    return {test["name"]: (test["score"], test["max_score"]) for test in results["tests"] if "max_score" in test}


def solution_notebook(dist: Path, name: str) -> Path:
    return dist / name / "autograder" / f"{name}.ipynb"


def autograder_zip(dist: Path, name: str) -> Path:
    return dist / name / "autograder" / "autograder.zip"


def test_every_assignment_is_built(dist):
    assert NAMES == ["01_sentiment_rnns", "02_battlefield", "03_lstm_cell"]
    for name in NAMES:
        assert (dist / name / "student" / f"{name}.ipynb").is_file()
        assert solution_notebook(dist, name).is_file() and autograder_zip(dist, name).is_file()


@pytest.mark.parametrize("name", NAMES)
def test_solution_scores_full_points(name, dist, grading_env, tmp_path):
    scores = grade(solution_notebook(dist, name), autograder_zip(dist, name), grading_env, tmp_path)
    assert scores and all(score == maximum for score, maximum in scores.values()), scores


@pytest.mark.parametrize("name", NAMES)
def test_unmodified_student_notebook_scores_no_more_than_the_free_points(name, dist, grading_env, tmp_path):
    student = dist / name / "student" / f"{name}.ipynb"
    scores = grade(student, autograder_zip(dist, name), grading_env, tmp_path)
    assert sum(score for score, _ in scores.values()) <= FREE_POINTS[name], scores


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_one_wrong_answer_costs_that_question_only(name, dist, grading_env, tmp_path):
    question, right, wrong, expected = MISTAKES[name]
    notebook = nbformat.read(solution_notebook(dist, name), as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code" and right in cell.source]
    assert len(cells) == 1, f"the line to break is not in exactly one cell of {name}: {right!r}"
    cells[0].source = cells[0].source.replace(right, wrong)
    mistaken = tmp_path / f"{name}.ipynb"
    nbformat.write(notebook, mistaken)
    scores = grade(mistaken, autograder_zip(dist, name), grading_env, tmp_path / "grading")
    assert scores[question][0] == pytest.approx(expected), scores
    assert all(score == maximum for q, (score, maximum) in scores.items() if q != question), scores


def solution_lines(source_notebook: Path) -> list[str]:
    """The lines of every solution in a source notebook (code and written answers), stripped."""
    lines, inside_block = [], False
    for cell in nbformat.read(source_notebook, as_version=4).cells:
        source = cell.source.splitlines()
        if cell.cell_type == "raw":
            inside_block = {"# BEGIN SOLUTION": True, "# END SOLUTION": False}.get(source[0].strip() if source else "",
                                                                                     inside_block)
            continue
        if inside_block and cell.cell_type == "markdown":
            lines += source
            continue
        in_code_block = False
        for line in source:
            if line.strip() == "# BEGIN SOLUTION":
                in_code_block = True
            elif line.strip() == "# END SOLUTION":
                in_code_block = False
            elif in_code_block or line.rstrip().endswith("# SOLUTION"):
                lines.append(re.sub(r"\s*# SOLUTION$", "", line))
    return [line.strip() for line in lines if len(line.strip()) >= 12]


def hidden_test_names(source_notebook: Path) -> list[str]:
    """The function names of the hidden tests in a source notebook."""
    names = []
    for cell in nbformat.read(source_notebook, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith("# HIDDEN"):
            names += re.findall(r"^def (test_\w+)", cell.source, flags=re.M)
    return names


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_has_no_solution_and_no_hidden_test(name, dist):
    source = ROOT / "assignments" / f"{name}.ipynb"
    solutions, hidden = solution_lines(source), hidden_test_names(source)
    assert len(solutions) >= 5 and len(hidden) >= 3, "the parser found too few solutions or hidden tests"
    student_files = sorted(p.relative_to(dist / name / "student") for p in (dist / name / "student").rglob("*")
                           if p.is_file())
    assert student_files == [Path(f"{name}.ipynb")], student_files
    student = nbformat.read(dist / name / "student" / f"{name}.ipynb", as_version=4)
    visible = "\n".join(cell.source for cell in student.cells)
    leaked = [line for line in solutions if line in visible]
    assert not leaked, f"solution lines in the student notebook: {leaked[:5]}"
    everything = (dist / name / "student" / f"{name}.ipynb").read_text(encoding="utf-8")   # metadata too
    assert not [test for test in hidden if test in everything], "a hidden test is in the student notebook"
    with zipfile.ZipFile(autograder_zip(dist, name)) as archive:
        graded = "\n".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("tests/"))
    assert all(f"def {test}(" in graded for test in hidden), "a hidden test is missing from autograder.zip"


# --- the hidden tests judge the answer, not its names: checked directly, without otter ------------

def _definitions(name: str, *wanted: str) -> dict:
    """The functions or classes ``wanted`` from the cells of a source notebook, with what they import."""
    import ast

    import numpy as np
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence

    namespace = {"np": np, "torch": torch, "nn": nn, "pack_padded_sequence": pack_padded_sequence}
    missing = set(wanted)
    for cell in nbformat.read(ROOT / "assignments" / f"{name}.ipynb", as_version=4).cells:
        if cell.cell_type == "code" and any(f" {w}(" in cell.source for w in missing):
            found = [node for node in ast.parse(cell.source).body if getattr(node, "name", None) in missing]
            exec(compile(ast.Module(body=found, type_ignores=[]), name, "exec"), namespace)
            missing -= {node.name for node in found}
    assert not missing, f"not defined in {name}: {sorted(missing)}"
    return namespace


def _renamed(solution):
    """The solution's model kept under another attribute name (a student's own naming)."""
    from torch import nn

    class Renamed(nn.Module):
        def __init__(self, *args, **kwargs):
            super().__init__()
            self.inner_model = solution(*args, **kwargs)

        def forward(self, ids, lengths):
            return self.inner_model(ids, lengths)

    return Renamed


@pytest.mark.parametrize("test_name,model_name", [("test_cnn_ignores_padding", "ConvMaxPool"),
                                                  ("test_cnn_lstm_ignores_padding", "ConvLSTM")])
def test_padding_tests_accept_a_convolution_under_any_name(test_name, model_name):
    test = _definitions("02_battlefield", test_name)[test_name]
    test(_renamed(_definitions("02_battlefield", model_name, "pad_mask")[model_name]))


def test_bilstm_test_needs_the_last_layer_and_dropout_whatever_the_names():
    import torch
    from torch import nn

    test = _definitions("01_sentiment_rnns", "test_bilstm_reads_the_last_layer_with_dropout")[
        "test_bilstm_reads_the_last_layer_with_dropout"]
    solution = _definitions("01_sentiment_rnns", "BiLSTM")["BiLSTM"]
    test(solution)
    test(_renamed(solution))

    class FirstLayer(solution):  # reads the first layer's states, h_n[0] and h_n[1]
        def forward(self, ids, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.dropout(self.embedding(ids)), lengths.cpu(),
                                                       batch_first=True, enforce_sorted=False)
            _, (h_n, _) = self.lstm(packed)
            return self.fc(self.dropout(torch.cat([h_n[0], h_n[1]], dim=1)))

    class NoDropout(solution):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.dropout = nn.Identity()

    for wrong in (FirstLayer, NoDropout):
        with pytest.raises(AssertionError):
            test(wrong)


def test_sigmoid_test_accepts_a_clipped_sigmoid():
    import numpy as np

    test = _definitions("03_lstm_cell", "test_sigmoid_extremes")["test_sigmoid_extremes"]
    test(lambda z: 1 / (1 + np.exp(-np.clip(z, -500, 500))))  # 7e-218 at -1000, no overflow
    with pytest.raises(AssertionError):
        test(lambda z: np.full_like(z, 0.5))
