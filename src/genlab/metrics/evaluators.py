"""``genlab evaluate`` for sample files of points and digits runs: one evaluator per data kind.

The ``--reference`` names a held-out split as a data config section, which
:data:`genlab.data.registry.DATASETS` builds exactly as training did:

=========================  ==============================================================
``--reference``            held-out set
=========================  ==============================================================
``points:<dataset>``       ``{"name": "points", "dataset": <dataset>}`` (default seed, sizes)
``digits``                 ``{"name": "digits"}`` (default split)
a run directory            the ``data`` section of ``RUN/config.json`` (the run's own split)
=========================  ==============================================================

:data:`EVALUATORS` maps the section's ``name`` to a function ``(samples, heldout) -> dict``; a
reference that is none of the above (``qm9``, ``moses``, a molecule file) is not handled here and
goes to the molecule suite (:mod:`genlab.metrics.evaluate`). Sample files are what ``genlab
sample`` writes (:mod:`genlab.sample_io`): ``.npz`` or ``.safetensors`` holding ``samples`` and
``nfe``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab import __version__
from genlab.errors import DataError, GenlabError
from genlab.registry import Registry

#: data name -> fn(samples (n, ...) float64, heldout (m, ...) float64) -> JSON-able dict
EVALUATORS: Registry[dict[str, Any]] = Registry("evaluator")

#: a sample counts as "far" when no held-out point lies within this distance (points, data units)
FAR_DISTANCE = 1.0


@EVALUATORS.register("points")
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


@EVALUATORS.register("digits")
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


def reference_data(reference: str) -> dict[str, Any] | None:
    """The data config section named by ``reference``, or ``None`` when it is not a points/digits
    reference (then it is a molecule reference)."""
    run_config = Path(reference) / "config.json"
    if run_config.is_file():
        try:
            data = json.loads(run_config.read_text(encoding="utf-8"))["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise GenlabError(f"cannot read the run's data section: {exc}", path=run_config) from None
        return dict(data) if data.get("name") in EVALUATORS else None
    kind, _, dataset = reference.partition(":")
    if kind not in EVALUATORS:
        return None
    return {"name": kind, **({"dataset": dataset} if dataset else {})}


def read_sample_file(path: str | Path) -> tuple[np.ndarray, int | None]:
    """(samples as float64, NFE or ``None``) from a ``genlab sample`` ``.npz``/``.safetensors`` file."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path=path)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            if "samples" not in archive.files:
                raise DataError(f"no array 'samples' in archive (has {list(archive.files)})", path=path)
            nfe = int(archive["nfe"]) if "nfe" in archive.files else None
            return archive["samples"].astype(np.float64), nfe
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            if "samples" not in f.keys():  # noqa: SIM118 (safe_open has no __contains__)
                raise DataError(f"no tensor 'samples' (has {list(f.keys())})", path=path)
            nfe = (f.metadata() or {}).get("nfe")
            return f.get_tensor("samples").double().numpy(), None if nfe is None else int(nfe)
    raise DataError(f"points/digits samples must be .npz or .safetensors, got '{path.suffix}'", path=path)


def evaluate_sample_file(path: str | Path, reference: str) -> dict[str, Any] | None:
    """Evaluate a points/digits sample file against ``reference``; ``None`` if the reference is a
    molecule reference (the caller then runs the molecule suite)."""
    data = reference_data(reference)
    if data is None:
        return None
    from genlab.data.registry import DATASETS, load_providers

    start = time.perf_counter()
    samples, nfe = read_sample_file(path)
    load_providers()
    heldout_items = DATASETS.build(data).heldout
    heldout = torch.stack([heldout_items[i] for i in range(len(heldout_items))]).double().numpy()
    if samples.shape[1:] != heldout.shape[1:]:
        raise DataError(f"samples have shape {samples.shape[1:]} per item, the {data['name']} held-out set "
                        f"{heldout.shape[1:]}", path=path)
    metrics = EVALUATORS.get(data["name"])(samples, heldout)
    protocol = metrics.pop("protocol")
    result = {"n_samples": len(samples), "nfe": nfe, **metrics}
    result["protocol"] = {"genlab_version": __version__, "input": str(path),
                          "reference": {"data": data, "n": len(heldout)}, **protocol}
    result["seconds"] = {"total": round(time.perf_counter() - start, 3)}
    return result


def format_scalars(result: dict[str, Any]) -> str:
    """A two-column text table of the result's numbers (protocol and timings left out)."""
    rows = [(k, v) for k, v in result.items() if k not in ("protocol", "seconds")]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {_fmt(v)}" for k, v in rows)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    if isinstance(v, list):
        return " ".join(_fmt(x) for x in v)
    return str(v)


def _finite_rows(samples: np.ndarray) -> tuple[np.ndarray, int]:
    finite = np.isfinite(samples.reshape(len(samples), -1)).all(1)  # (n,)
    if finite.sum() < 2:
        raise DataError(f"only {int(finite.sum())} of {len(samples)} samples are finite; need at least 2")
    return samples[finite], int((~finite).sum())

