"""ACC, BWT and FWT of hand-made accuracy matrices (Lopez-Paz & Ranzato 2017's definitions)."""

from __future__ import annotations

import pytest

from genlab.classifiers.continual.metrics import continual_metrics


def test_metrics_of_a_hand_made_matrix():
    rows = [[0.1, 0.2, 0.3],  # b: before any training
            [0.9, 0.3, 0.4],
            [0.8, 0.95, 0.5],
            [0.7, 0.85, 0.9]]
    m = continual_metrics(rows)
    assert m.acc == pytest.approx((0.7 + 0.85 + 0.9) / 3, abs=1e-15)
    assert m.bwt == pytest.approx(((0.7 - 0.9) + (0.85 - 0.95)) / 2, abs=1e-15)
    assert m.fwt == pytest.approx(((0.3 - 0.2) + (0.5 - 0.3)) / 2, abs=1e-15)
    assert m.baseline == [0.1, 0.2, 0.3] and m.matrix[1] == [0.8, 0.95, 0.5]
    assert m.final_accuracies == [0.7, 0.85, 0.9]


def test_no_forgetting_and_no_transfer_give_zero():
    m = continual_metrics([[0.5, 0.5], [1.0, 0.5], [1.0, 1.0]])
    assert (m.acc, m.bwt, m.fwt) == (1.0, 0.0, 0.0)


def test_one_experience_has_no_transfer_and_a_bad_shape_is_refused():
    m = continual_metrics([[0.1], [0.8]])
    assert m.acc == 0.8 and m.bwt is None and m.fwt is None
    with pytest.raises(ValueError, match="T \\+ 1 rows"):
        continual_metrics([[0.9, 0.1], [0.9, 0.9]])  # no row before training
