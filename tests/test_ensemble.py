import numpy as np
import pytest

from textclf import ensemble


def two_columns(p1):
    """Binary probabilities (examples, 2) from the probabilities of class 1."""
    p1 = np.asarray(p1, dtype=float)
    return np.stack([1 - p1, p1], axis=1)


# Each model is sure where it is right and only just wrong where it is wrong: alone each gets 2
# of 4, blended with enough weight on both they get all 4.
LABELS = np.array([1, 1, 0, 0])
P_A = two_columns([0.9, 0.45, 0.1, 0.55])
P_B = two_columns([0.45, 0.9, 0.55, 0.1])


def test_blend_is_the_weighted_average():
    assert np.array_equal(ensemble.blend(P_A, P_B, 1), P_A)
    assert np.array_equal(ensemble.blend(P_A, P_B, 0.0), P_B)
    assert np.allclose(ensemble.blend(P_A, P_B, 0.25), 0.25 * P_A + 0.75 * P_B)


def test_choose_weight_finds_the_blend_that_beats_both_models():
    weight, table = ensemble.choose_weight(P_A, P_B, LABELS)
    assert list(table) == list(ensemble.DEFAULT_WEIGHTS)
    assert table[0.0] == table[0.1] == table[0.9] == table[1.0] == 0.5
    assert table[0.2] == table[0.5] == table[0.8] == 1.0
    assert weight == 0.2                                           # the first of the best


def test_disagreements_count_each_case():
    counts = ensemble.disagreements([1, 1, 0, 1, 0], [1, 0, 1, 1, 1], [1, 1, 1, 0, 0])
    assert counts == {"both_right": 1, "only_a": 2, "only_b": 1, "both_wrong": 1}


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="p_a and p_b must have one shape"):
        ensemble.blend(P_A, P_B[:3], 0.5)
    with pytest.raises(ValueError, match=r"p_b must have shape \(examples, classes\)"):
        ensemble.blend(P_A, P_B[:, 1], 0.5)
    with pytest.raises(ValueError, match="p_a must hold probabilities"):
        ensemble.blend(P_A * 2, P_B, 0.5)
    with pytest.raises(TypeError, match="p_a must be an array"):
        ensemble.blend("probabilities", P_B, 0.5)
    with pytest.raises(ValueError, match=r"weight must be a number in \[0, 1\] \(the share of p_a\)"):
        ensemble.blend(P_A, P_B, 1.5)
    with pytest.raises(ValueError, match=r"labels must hold one class per example \(4\), got 3"):
        ensemble.choose_weight(P_A, P_B, LABELS[:3])
    with pytest.raises(TypeError, match="labels must be a 1-D array of integer"):
        ensemble.choose_weight(P_A, P_B, LABELS.astype(float))
    with pytest.raises(ValueError, match="weights must be a non-empty list"):
        ensemble.choose_weight(P_A, P_B, LABELS, weights=())
    with pytest.raises(ValueError, match=r"every weight must be a number in \[0, 1\]"):
        ensemble.choose_weight(P_A, P_B, LABELS, weights=(0.5, 2))
    with pytest.raises(ValueError, match=r"pred_b must hold one class per example \(3\)"):
        ensemble.disagreements([1, 0, 1], [1, 0], [1, 1, 0])
    with pytest.raises(ValueError, match="labels must be a non-empty 1-D array"):
        ensemble.disagreements([], [], [])
