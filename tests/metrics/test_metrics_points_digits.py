"""Known answers for the points and digits metrics and the ``genlab evaluate`` dispatch.

Sliced W1 of a set and its copy shifted by c is (1/K) Σ_k |θ_k·c| exactly (each 1-D projection is
the same empirical measure shifted by θ_k·c), ≈ 2‖c‖/π over the circle; MMD² of two point masses a
distance c apart is 2 - 2 mean_h exp(-c²/2h²); both are 0 for a set against itself. The digits
classifier is trained once into a temporary cache (≈ 10-30 s on one core) and reloaded.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from genlab.metrics.points import (
    MMD_BANDWIDTHS,
    mmd2,
    projections,
    sliced_wasserstein,
    wasserstein_1d,
)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((500, 2)) * [1.0, 0.3]


def test_sliced_w1_of_a_set_with_itself_is_zero_and_of_a_shift_is_known():
    assert sliced_wasserstein(X, X) == 0.0
    c = np.array([0.7, -0.4])
    theta = projections(2)
    expected = np.abs(theta @ c).mean()
    assert sliced_wasserstein(X, X + c) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(2 * np.linalg.norm(c) / math.pi, rel=0.03)  # 512 directions
    # unequal sizes take the CDF route; the shifted copy of a duplicated set is the same measure
    assert sliced_wasserstein(np.concatenate([X, X]), X + c) == pytest.approx(expected, rel=1e-9)


def test_w1_1d_matches_a_hand_computed_case():
    # {0, 1} vs {0, 0, 3}: F_a - F_b = 1/2 - 2/3 on [0, 1), 1 - 2/3 on [1, 3): W1 = 1/6 + 2/3
    assert wasserstein_1d(np.array([0.0, 1.0]), np.array([0.0, 0.0, 3.0])) == pytest.approx(5 / 6)


def test_mmd_is_zero_for_the_same_set_and_known_for_point_masses():
    assert mmd2(X, X) == 0.0
    for c in (0.1, 0.5, 2.0):
        expected = 2 - 2 * np.mean([math.exp(-c**2 / (2 * h**2)) for h in MMD_BANDWIDTHS])
        assert mmd2(np.zeros((3, 2)), np.tile([c, 0.0], (4, 1))) == pytest.approx(expected, rel=1e-9)
    values = [mmd2(X, X + [s, 0.0]) for s in (0.05, 0.2, 1.0, 3.0)]
    assert all(a < b for a, b in itertools.pairwise(values))


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    import os

    from genlab.metrics import digits

    old = os.environ.get("GENLAB_CACHE")
    os.environ["GENLAB_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    digits.digits_classifier.cache_clear()
    try:
        yield digits.digits_classifier()
    finally:
        digits.digits_classifier.cache_clear()
        if old is None:
            os.environ.pop("GENLAB_CACHE")
        else:
            os.environ["GENLAB_CACHE"] = old


def test_digits_classifier_accuracy_and_cached_features_are_identical(classifier):
    from genlab.metrics import digits

    assert classifier.heldout_accuracy >= 0.95
    _, _, x_heldout, y_heldout = digits._labelled_split()
    assert (digits.predict_digits(x_heldout, classifier) == y_heldout.numpy()).mean() == pytest.approx(
        classifier.heldout_accuracy)
    features = digits.digit_features(x_heldout, classifier)
    digits.digits_classifier.cache_clear()  # reload from the safetensors file
    reloaded = digits.digits_classifier()
    assert reloaded is not classifier and reloaded.path == classifier.path
    assert np.array_equal(digits.digit_features(x_heldout, reloaded), features)


def test_frechet_distance_known_answers(classifier):
    from genlab.metrics.digits import frechet_distance

    f = RNG.standard_normal((400, 5))
    assert frechet_distance(f, f) == pytest.approx(0.0, abs=1e-8)
    # same covariance, mean shifted by m: FD = ‖m‖²
    assert frechet_distance(f + 2.0, f) == pytest.approx(20.0, rel=1e-8)
    # isotropic Gaussians with scales 1 and s (exact covariances): FD = d (1 - s)²
    a = RNG.standard_normal((400, 5))
    g = np.linalg.qr(a - a.mean(0))[0] * math.sqrt(399)  # centred orthogonal columns: cov exactly I
    assert frechet_distance(3.0 * g, g) == pytest.approx(5 * (3.0 - 1.0) ** 2, rel=1e-6)


def test_evaluate_dispatches_points_and_digits_sample_files(tmp_path, classifier, capsys):
    from genlab.cli.main import main
    from genlab.data.points import make_points
    from genlab.errors import DataError
    from genlab.evaluation.registry import evaluator, evaluator_for_file

    assert evaluator("points").reference_data("points:moons") == {"name": "points", "dataset": "moons"}
    with pytest.raises(DataError, match="points samples are scored against points data"):
        evaluator("points").reference_data("qm9")
    heldout = make_points("8gaussians", 5000, np.random.default_rng([0, 1]))
    np.savez(tmp_path / "p.npz", samples=heldout, nfe=np.int64(7))  # a file without a modality record: 2-D is points
    result = evaluator_for_file(tmp_path / "p.npz").evaluate_file(tmp_path / "p.npz", "points:8gaussians")
    assert result["sliced_w1"] == 0.0 and result["mmd2"] == 0.0 and result["nfe"] == 7
    assert result["far_fraction"] == 0.0

    from genlab.data.images import digits as digits_bundle

    held = torch.stack([digits_bundle().heldout[i] for i in range(297)]).numpy()
    np.savez(tmp_path / "d.npz", samples=held, nfe=np.int64(3))
    assert main(["evaluate", str(tmp_path / "d.npz"), "--reference", "digits",
                 "--json", str(tmp_path / "d.json")]) == 0
    assert "fd" in capsys.readouterr().out
    import json

    assert json.loads((tmp_path / "d.json").read_text())["fd"] == pytest.approx(0.0, abs=1e-6)
