"""The classifier evaluator: clean and robust accuracy of a classifier run on held-out images.

``ClassifierEvaluator().evaluate(run, request)`` scores the run's classifier on its held-out split
(the ``data`` section's test split; or a user ``.npz`` of labelled images) under each attack of
the request, every attack section one ε, built by :data:`~genlab.classifiers.attacks.registry.ATTACKS`:

* ``clean_accuracy``: the fraction of images classified correctly;
* per attack, ``robust_accuracy``: the fraction classified correctly both clean and attacked (the
  attacker may leave an image as it is, so robust accuracy never exceeds clean accuracy);
  ``success_rate``: of the images classified correctly, the fraction the attack makes
  misclassified (the one-pixel attack's success rate); ``fooling_rate``: the fraction whose
  prediction changes at all (the measure of universal perturbations, Moosavi-Dezfooli et al.
  2017); ``mean_l2`` and ``mean_linf``: the mean perturbation norms of the successful adversarial
  images (what a minimal-norm attack such as ``cw_l2`` is judged by);
* with a surrogate run, ``transfer`` attacks crafted on the surrogate and scored on the run (the
  target never queried): their success rate is the transfer success;
* for a run trained on poisoned data (:mod:`genlab.classifiers.poisoning`), the backdoor's trigger
  success on the held-out images of the other classes.

A universal perturbation is fitted (its ``fit``) on ``fit_images`` training images first and then
applied to the held-out images. Each attack draws its randomness from its own generator seeded
with ``seed``, so an evaluation repeats exactly. ``genlab evaluate RUN --attack ...`` and
``genlab bench mnist-robust`` call this; ``genlab report`` draws the result
(:mod:`genlab.evaluation.robustness_plots`).
"""

from __future__ import annotations

import inspect
import math
import time
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor

from genlab import __version__
from genlab.classifiers.attacks.registry import ATTACKS
from genlab.classifiers.attacks.universal import UniversalPerturbation
from genlab.classifiers.classifier import Classifier
from genlab.classifiers.poisoning import trigger_success
from genlab.config import check_value_type
from genlab.errors import ConfigError, DataError, GenlabError
from genlab.evaluation.registry import register_run_evaluator
from genlab.modalities.base import LabelledBatch
from genlab.utils import checks
from genlab.utils.atomic import json_safe

#: keys of an attack section that hold its threat model's radius (the x-axis of robustness plots)
RADIUS_KEYS = ("eps", "xi")
#: keys of a robustness config file (``genlab evaluate RUN --attacks FILE``)
REQUEST_KEYS = ("attacks", "n", "batch_size", "seed", "fit_images")
#: adversarial examples kept for the report's image grid
N_EXAMPLES = 8
#: what ``genlab evaluate RUN --attack ...`` writes into a classifier run (``genlab report`` reads them)
ROBUSTNESS_FILE, ROBUSTNESS_EXAMPLES = "robustness.json", "robustness_examples.safetensors"
#: ``genlab bench mnist-robust``: the attacks of each row (L∞ PGD-40, step 0.01, Madry et al.'s
#: training attack) and the held-out images they are run on
BENCH_ATTACKS = ({"name": "pgd", "eps": [0.1, 0.2, 0.3], "steps": 40, "alpha": 0.01},)
BENCH_IMAGES = 1000


@dataclass(frozen=True)
class RobustnessRequest:
    """What to evaluate: attack sections (``{name: pgd, eps: 0.3, steps: 40}``; a list of ε expands
    to one section each), on the first ``n`` held-out images (all when ``None``)."""

    attacks: tuple[dict[str, Any], ...] = ()
    n: int | None = None
    batch_size: int = 500
    seed: int = 0
    fit_images: int = 1000

    def __post_init__(self) -> None:
        if self.n is not None:
            checks.at_least("n", self.n, 1)
        checks.at_least("batch_size", self.batch_size, 1)
        checks.non_negative("seed", self.seed)
        checks.at_least("fit_images", self.fit_images, 1)
        object.__setattr__(self, "attacks", tuple(s for a in self.attacks for s in expand_radii(a)))

    @classmethod
    def from_config(cls, data: Any, *, path: str | Path | None = None) -> "RobustnessRequest":
        """From a robustness config file's mapping; unknown keys and impossible values name their key."""
        if not isinstance(data, Mapping) or not isinstance(data.get("attacks"), list):
            raise ConfigError("expected a mapping with a list of attack sections under 'attacks'", path=path)
        for key in data:
            if key not in REQUEST_KEYS:
                raise ConfigError(f"unknown key; a robustness config has {', '.join(REQUEST_KEYS)}", key=key, path=path)
        hints = typing.get_type_hints(cls)
        try:
            values = {k: check_value_type(v, hints[k], key=k) for k, v in data.items() if k != "attacks"}
            return cls(**values, attacks=tuple(data["attacks"]))
        except checks.ImpossibleValue as exc:
            raise ConfigError(exc.reason, key=exc.argument, path=path) from None
        except ConfigError as exc:
            exc.path = None if path is None else str(path)
            raise


@dataclass
class AttackResult:
    """One attack at one radius on ``n`` images."""

    attack: str
    settings: dict[str, Any]  # the attack section with every constructor default written out
    radius: float | None
    kind: str  # "white-box" or "transfer"
    robust_accuracy: float
    success_rate: float
    fooling_rate: float
    mean_l2: float | None
    mean_linf: float | None
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. a universal perturbation's fit


@register_run_evaluator(Classifier)
class ClassifierEvaluator:
    """Scores a classifier run: clean accuracy, each attack, the backdoor of a poisoned run."""

    bench_datasets = ("mnist-robust",)

    def evaluate(self, run: Any, request: RobustnessRequest, *, surrogate: Any = None,
                 images: str | Path | None = None) -> tuple[dict[str, Any], dict[str, Tensor]]:
        """(the JSON-able result, the example tensors of the report's grid) for ``run``."""
        start = time.perf_counter()
        classifier: Classifier = run.family
        bounds = classifier.input_range
        x, y, source = self._heldout(run, request.n, images)
        predict = lambda inputs: _batched(classifier.predict, inputs, request.batch_size)
        clean_pred = predict(x)
        correct = clean_pred == y
        results, examples, worst = [], {}, math.inf
        for section in request.attacks:
            result, x_adv = self._attack(run, section, x, y, clean_pred, request, surrogate)
            results.append(result)
            if result.kind == "white-box" and result.robust_accuracy < worst:
                worst, examples = result.robust_accuracy, _examples(x, x_adv, y, clean_pred, predict(x_adv), result)
        out: dict[str, Any] = {"n_images": len(y), "clean_accuracy": float(correct.float().mean()),
                               "attacks": [json_safe(asdict(r)) for r in results]}
        backdoor = run.bundle.info.get("backdoor") if images is None else None
        if backdoor is not None:
            success, n = trigger_success(classifier.predict, x, y, backdoor, bounds, request.batch_size)
            out["backdoor"] = {"trigger_success": success, "n_images": n, "target": backdoor.target,
                               "trigger": asdict(backdoor.trigger)}
        out["protocol"] = {"genlab_version": __version__, "run": str(run.dir.root), "heldout": source,
                           "surrogate": None if surrogate is None else str(surrogate.dir.root),
                           "seed": request.seed, "batch_size": request.batch_size}
        out["seconds"] = round(time.perf_counter() - start, 3)
        return out, examples

    def _attack(self, run: Any, section: dict[str, Any], x: Tensor, y: Tensor, clean_pred: Tensor,
                request: RobustnessRequest, surrogate: Any) -> tuple[AttackResult, Tensor]:
        classifier = run.family
        start = time.perf_counter()
        attack = build_attack(section, surrogate)
        generator = torch.Generator().manual_seed(request.seed)
        extra: dict[str, Any] = {}
        if isinstance(attack, UniversalPerturbation):  # fitted on training images, applied to held-out ones
            fit_x, _, _ = _items(run.bundle.train, classifier, request.fit_images)
            attack.fit(classifier.logits, fit_x, bounds=classifier.input_range, generator=generator)
            extra = {"fit_images": len(fit_x), "fit_fooling_rate": attack.fooling_rate, "passes": attack.passes}
        x_adv = torch.cat([attack(classifier.logits, x[i:i + request.batch_size], y[i:i + request.batch_size],
                                  bounds=classifier.input_range, generator=generator)
                           for i in range(0, len(x), request.batch_size)])
        adv_pred = _batched(classifier.predict, x_adv, request.batch_size)
        correct, fooled = clean_pred == y, adv_pred != y
        success = correct & fooled  # (N,)
        delta = (x_adv - x).flatten(1)  # (N, D)
        settings = resolved(section)
        return AttackResult(
            attack=section["name"], settings=settings, radius=radius(settings),
            kind="transfer" if "surrogate" in _parameters(section["name"]) else "white-box",
            robust_accuracy=float((correct & ~fooled).float().mean()),
            success_rate=float(success.sum() / correct.sum()) if correct.any() else math.nan,
            fooling_rate=float((adv_pred != clean_pred).float().mean()),
            mean_l2=float(delta[success].norm(dim=1).mean()) if success.any() else None,
            mean_linf=float(delta[success].abs().amax(dim=1).mean()) if success.any() else None,
            seconds=round(time.perf_counter() - start, 3), extra=extra,
        ), x_adv

    def _heldout(self, run: Any, n: int | None, images: str | Path | None) -> tuple[Tensor, Tensor, dict[str, Any]]:
        """Inputs (N, ...) in the classifier's input view, labels (N,), and where they came from."""
        classifier = run.family
        if images is None:
            x, y, total = _items(run.bundle.heldout, classifier, n)
            return x, y, {"data": run.config["data"], "n": len(y), "of": total}
        from genlab.data.images import load_npz_images, load_npz_labels

        try:
            data = load_npz_images(images, labels_key="labels")
            labels = torch.from_numpy(load_npz_labels(images, "labels", len(data)))
        except DataError as exc:  # named for the command line, not for a data section
            raise DataError(f"{exc.message}; --images needs uint8 images and an integer array 'labels', one class "
                            "per image", path=images) from None
        expected = tuple(next(iter(classifier.modality.shapes().values())))
        if tuple(data.shape[1:]) != expected:
            shape = "×".join(map(str, data.shape[1:]))
            raise DataError(f"images are {shape} (C×H×W); the run's classifier reads {'×'.join(map(str, expected))}",
                            path=images)
        data_t = torch.from_numpy(data)[:n]
        x, y = classifier.inputs(LabelledBatch(data_t, labels[:n]))
        return x, y, {"file": str(images), "n": len(y), "of": len(data)}

    def format(self, result: dict[str, Any]) -> str:
        """The printed table: clean accuracy, one line per attack, the backdoor."""
        lines = [f"images          {result['n_images']}", f"clean accuracy  {result['clean_accuracy']:.4f}"]
        if result["attacks"]:
            lines.append(f"{'attack':<36} {'robust acc':>10} {'success':>8} {'fooling':>8} {'mean L2':>8} "
                         f"{'mean Linf':>9}")
        for a in result["attacks"]:
            lines.append(f"{describe(a):<36} {_fmt(a['robust_accuracy']):>10} {_fmt(a['success_rate']):>8} "
                         f"{_fmt(a['fooling_rate']):>8} {_fmt(a['mean_l2']):>8} {_fmt(a['mean_linf']):>9}")
        if "backdoor" in result:
            b = result["backdoor"]
            lines.append(f"backdoor trigger success  {_fmt(b['trigger_success'])} "
                         f"({b['n_images']} held-out images not of class {b['target']})")
        return "\n".join(lines)

    def columns(self, dataset: str) -> tuple[str, ...]:
        """``genlab bench mnist-robust`` columns: clean accuracy, robust accuracy at each ε."""
        return ("clean_accuracy",) + tuple(bench_column(s) for a in BENCH_ATTACKS for s in expand_radii(a))

    def evaluate_run(self, run: Any, result: Any, dataset: str, path: Path) -> dict[str, Any]:
        """``genlab bench``: the bench's attacks on :data:`BENCH_IMAGES` held-out images."""
        out, _ = self.evaluate(run, RobustnessRequest(attacks=BENCH_ATTACKS, n=BENCH_IMAGES))
        metrics = {"clean_accuracy": out["clean_accuracy"], "eval_seconds": out["seconds"]}
        for a in out["attacks"]:
            metrics[bench_column(a["settings"])] = a["robust_accuracy"]
        return metrics


# --- attack sections ------------------------------------------------------------------------


def expand_radii(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One section per radius: ``{name: pgd, eps: [0.1, 0.3]}`` -> two sections; a ``transfer``
    section's inner ``attack`` expands the same way."""
    if not isinstance(section, Mapping) or "name" not in section:
        raise ConfigError(f"an attack section needs a 'name', got {section!r}", key="attack")
    out = [dict(section)]
    for key in RADIUS_KEYS:
        if isinstance(section.get(key), list):
            if not section[key]:
                raise ConfigError("an empty list of radii", key=f"attack.{key}")
            out = [{**s, key: r} for s in out for r in section[key]]
    if isinstance(section.get("attack"), Mapping):
        out = [{**s, "attack": inner} for s in out for inner in expand_radii(section["attack"])]
    return out


def build_attack(section: Mapping[str, Any], surrogate: Any = None) -> Any:
    """The attack of ``section``; an attack that takes a ``surrogate`` gets the surrogate run's logits."""
    if "surrogate" in _parameters(str(section["name"])):
        if surrogate is None:
            raise GenlabError(f"the {section['name']} attack crafts its inputs on another model; give --surrogate RUN")
        return ATTACKS.build(section, surrogate=surrogate.family.logits)
    return ATTACKS.build(section)


def resolved(section: Mapping[str, Any]) -> dict[str, Any]:
    """The section with every constructor default written out (nested attack sections too)."""
    defaults = {k: v for k, v in ATTACKS.defaults(section["name"]).items()}
    out = {"name": section["name"], **defaults, **{k: v for k, v in section.items() if k != "name"}}
    if isinstance(out.get("attack"), str):
        out["attack"] = {"name": out["attack"]}
    if isinstance(out.get("attack"), Mapping):
        out["attack"] = resolved(out["attack"])
    return json_safe(out)


def radius(settings: Mapping[str, Any]) -> float | None:
    """The threat model's radius of a resolved section (a transfer's: its inner attack's)."""
    for key in RADIUS_KEYS:
        if isinstance(settings.get(key), (int, float)):
            return float(settings[key])
    inner = settings.get("attack")
    return radius(inner) if isinstance(inner, Mapping) else None


def describe(entry: Mapping[str, Any]) -> str:
    """A short label: ``pgd eps=0.3 steps=50 restarts=10`` (a transfer: ``transfer(pgd ...)``)."""
    settings = entry["settings"] if "settings" in entry else entry
    keys = [k for k in ("eps", "xi", "steps", "restarts", "norm", "c") if k in settings]
    text = " ".join([settings["name"]] + [f"{k}={settings[k]}" for k in keys])
    inner = settings.get("attack")
    return f"{text} from ({describe(inner)})" if isinstance(inner, Mapping) else text


def bench_column(settings: Mapping[str, Any]) -> str:
    return f"robust_{settings['name']}@{radius(settings):g}"


def _parameters(name: str) -> Any:
    return inspect.signature(ATTACKS.get(name)).parameters


# --- helpers ----------------------------------------------------------------------------------


def _items(dataset: Any, classifier: Classifier, n: int | None) -> tuple[Tensor, Tensor, int]:
    """The first ``n`` items of a labelled dataset as classifier inputs (n, ...), labels (n,), and its size."""
    total = len(dataset)
    if total == 0:
        raise DataError("the run's held-out split is empty")
    items = [dataset[i] for i in range(min(total, n or total))]
    batch = LabelledBatch(torch.stack([x for x, _ in items]), torch.stack([torch.as_tensor(y) for _, y in items]))
    x, y = classifier.inputs(batch)
    return x, y, total


@torch.no_grad()
def _batched(fn: Any, x: Tensor, batch_size: int) -> Tensor:
    return torch.cat([fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def _examples(x: Tensor, x_adv: Tensor, y: Tensor, clean_pred: Tensor, adv_pred: Tensor,
              result: AttackResult) -> dict[str, Tensor]:
    """Up to :data:`N_EXAMPLES` images the attack fooled (others when it fooled fewer)."""
    fooled = ((clean_pred == y) & (adv_pred != y)).nonzero().flatten().tolist()
    rest = [i for i in range(len(y)) if i not in set(fooled[:N_EXAMPLES])]
    keep = torch.tensor((fooled + rest)[:N_EXAMPLES], dtype=torch.long)
    return {"clean": x[keep].contiguous(), "adversarial": x_adv[keep].contiguous(), "labels": y[keep].contiguous(),
            "clean_predictions": clean_pred[keep].contiguous(), "adversarial_predictions": adv_pred[keep].contiguous()}



def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"
