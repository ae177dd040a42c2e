"""The metric suites of points and digits samples: ``(samples, heldout) -> dict`` of numbers.

Each function scores samples ``(n, ...)`` (float64) against held-out data of the same shape and
returns its numbers plus a ``protocol`` entry saying how they were computed. The evaluation layer
(:mod:`genlab.evaluation`) reads the sample files, builds the held-out set and calls them:
:func:`evaluate_points` for the points modality, :func:`evaluate_digits` for digits images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.errors import DataError

#: a sample counts as "far" when no held-out point lies within this distance (points, data units)
FAR_DISTANCE = 1.0


def evaluate_points(samples: np.ndarray, heldout: np.ndarray) -> dict[str, Any]:
    """Sliced W1 and MMD² to the held-out points (:mod:`genlab.metrics.points`), plus the
    fraction of samples farther than :data:`FAR_DISTANCE` from every held-out point."""
    from scipy.spatial import cKDTree

    from genlab.metrics.points import (
        MMD_BANDWIDTHS,
        N_PROJECTIONS,
        PROJECTION_SEED,
        mmd2,
        sliced_wasserstein,
    )

    samples, n_nonfinite = _finite_rows(samples)
    nearest, _ = cKDTree(heldout).query(samples)  # (n,)
    return {
        "n_nonfinite": n_nonfinite,
        "sliced_w1": sliced_wasserstein(samples, heldout),
        "mmd2": mmd2(samples, heldout),
        "far_fraction": float((nearest > FAR_DISTANCE).mean()),
        "protocol": {
            "sliced_w1": f"mean exact 1-D W1 over {N_PROJECTIONS} fixed unit directions "
                         f"(normalised N(0, I) draws of numpy default_rng({PROJECTION_SEED}))",
            "mmd2": f"biased V-statistic, Gaussian kernel averaged over bandwidths {list(MMD_BANDWIDTHS)}",
            "far_fraction": f"samples with no held-out point within {FAR_DISTANCE}",
            "nonfinite": "non-finite samples are counted and left out of every metric",
        },
    }


def evaluate_digits(samples: np.ndarray, heldout: np.ndarray) -> dict[str, Any]:
    """Fréchet distance in the features of genlab's digits classifier (:mod:`genlab.metrics.digits`),
    plus the fraction of samples the classifier assigns to each class."""
    from genlab.metrics.digits import (
        FEATURE_DIM,
        digit_features,
        digits_classifier,
        frechet_distance,
        predict_digits,
    )

    samples, n_nonfinite = _finite_rows(samples)
    classifier = digits_classifier()
    feat_g, feat_r = digit_features(samples, classifier), digit_features(heldout, classifier)
    counts = np.bincount(predict_digits(samples, classifier), minlength=10)
    return {
        "n_nonfinite": n_nonfinite,
        "fd": frechet_distance(feat_g, feat_r),
        "class_fractions": [round(float(c) / len(samples), 4) for c in counts],
        "protocol": {
            "fd": f"FID formula on the {FEATURE_DIM}-d penultimate ReLU features of genlab's digits CNN "
                  "(scipy sqrtm, unbiased covariances); biased upwards for small sets",
            "classifier": {"recipe_hash": classifier.recipe_hash,
                           "heldout_accuracy": round(classifier.heldout_accuracy, 4), "path": classifier.path},
            "nonfinite": "non-finite samples are counted and left out of every metric",
        },
    }


def _finite_rows(samples: np.ndarray) -> tuple[np.ndarray, int]:
    finite = np.isfinite(samples.reshape(len(samples), -1)).all(1)  # (n,)
    if finite.sum() < 2:
        raise DataError(f"only {int(finite.sum())} of {len(samples)} samples are finite; need at least 2")
    return samples[finite], int((~finite).sum())

