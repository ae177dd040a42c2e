"""The few-shot transfer evaluator: a logistic regression on frozen features, episode by episode.

The protocol of Phoo & Hariharan (2021, after Guo et al. 2020's BSCD-FSL benchmark):
the evaluated network's features (everything before its final linear layer,
:func:`~genlab.classifiers.transfer.features.feature_split`) are computed once for every held-out
image, in eval mode, and frozen; each N-way K-shot episode (:class:`~genlab.data.episodes.EpisodeSet`:
``n_way`` classes, ``k_shot`` support and ``q_query`` query images of each) fits scikit-learn's
multinomial ``LogisticRegression`` (L2 penalty ``C``) on the support features and is scored by
its accuracy on the query features. For each K in ``shots`` the result is the mean accuracy over
``episodes`` episodes with the half-width of its 95 % interval, 1.96 · std / √episodes (the
population standard deviation over episodes, as the authors' evaluation script computes it).

The episodes come from the held-out split of a data section: the run's own (a
``few_shot_transfer`` run: its evaluation characters), or another's (``source``): so the teacher,
a plain classifier run, is scored on the very episodes of its students — the transfer baseline.
The held-out split must be labelled items (images and classes) of the run's modality.
``genlab evaluate RUN`` reaches this evaluator for the transfer learners
(:class:`~genlab.classifiers.transfer.learner.TransferLearner`), and ``genlab evaluate RUN
--few-shot [SOURCE]`` for any run whose network has a feature split; both write ``RUN/few_shot.json``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from genlab import __version__
from genlab.classifiers.transfer.features import embed, feature_split
from genlab.classifiers.transfer.learner import TransferLearner
from genlab.config import load_config
from genlab.data.episodes import EpisodeSet
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError, GenlabError
from genlab.evaluation.registry import register_run_evaluator
from genlab.modalities.registry import modality_name
from genlab.sampling.run_dir import RunDir
from genlab.utils import checks
from genlab.utils.atomic import atomic_write_json, json_safe

#: what ``genlab evaluate`` writes into the evaluated run
FEW_SHOT_FILE = "few_shot.json"
#: ``genlab evaluate`` options that have no meaning for a few-shot evaluation
FOREIGN_OPTIONS = ("reference", "train", "attack", "attacks", "eps", "steps", "alpha", "restarts", "norm",
                   "surrogate", "images")


@dataclass(frozen=True)
class FewShotRequest:
    """``episodes`` N-way episodes for each K of ``shots`` with ``q_query`` queries per class,
    drawn with ``seed``; ``C`` is the logistic regression's inverse L2 strength."""

    shots: tuple[int, ...] = (1, 5)
    n_way: int = 5
    q_query: int = 15
    episodes: int = 600
    seed: int = 0
    C: float = 1.0

    def __post_init__(self) -> None:
        checks.at_least("n_way", self.n_way, 2)
        checks.at_least("q_query", self.q_query, 1)
        checks.at_least("episodes", self.episodes, 1)
        checks.non_negative("seed", self.seed)
        checks.positive("C", self.C)
        for k in self.shots:
            checks.at_least("shots", k, 1)


@dataclass
class EpisodeScore:
    """The mean query accuracy over ``episodes`` N-way K-shot episodes, its 95 % half-width and
    the accuracy of each episode (in episode order, for paired comparisons of two runs)."""

    n_way: int
    k_shot: int
    q_query: int
    episodes: int
    accuracy: float
    ci95: float
    per_episode: list[float]


def episode_accuracy(support_h: np.ndarray, support_y: np.ndarray, query_h: np.ndarray, query_y: np.ndarray,
                     C: float = 1.0) -> float:
    """Fit a logistic regression on (support features (S, F), labels (S,)); its accuracy on the
    query (Q, F), (Q,)."""
    from sklearn.linear_model import LogisticRegression  # scikit-learn loads only when episodes are scored

    model = LogisticRegression(C=C, max_iter=1000).fit(support_h, support_y)
    return float((model.predict(query_h) == query_y).mean())


def few_shot_accuracy(features: np.ndarray, classes: np.ndarray, k_shot: int, request: FewShotRequest) -> EpisodeScore:
    """Episodes over frozen ``features`` (N, F) of images of ``classes`` (N,)."""
    episodes = EpisodeSet(torch.arange(len(classes)), torch.as_tensor(classes), request.n_way, k_shot,
                          request.q_query, seed=request.seed, length=request.episodes)
    accuracies = np.empty(request.episodes)
    for i in range(request.episodes):
        _, support, query = episodes.indices(i)  # (n_way, k_shot), (n_way, q_query) pool indices
        label_s = np.repeat(np.arange(request.n_way), k_shot)  # (n_way k_shot,)
        label_q = np.repeat(np.arange(request.n_way), request.q_query)  # (n_way q_query,)
        accuracies[i] = episode_accuracy(features[support.reshape(-1)], label_s, features[query.reshape(-1)],
                                         label_q, request.C)
    half = 1.96 * accuracies.std() / np.sqrt(len(accuracies))
    return EpisodeScore(request.n_way, k_shot, request.q_query, request.episodes, float(accuracies.mean()), float(half),
                        accuracies.tolist())


@register_run_evaluator(TransferLearner)
class FewShotTransferEvaluator:
    """Scores a run's frozen features on few-shot episodes (see the module docstring)."""

    bench_datasets = ()

    def evaluate(self, run: Any, request: FewShotRequest = FewShotRequest(),
                 source: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``source``: the data section whose held-out split gives the episodes (default: the run's)."""
        start = time.perf_counter()
        section = dict(run.config["data"] if source is None else source)
        images, classes = self._episode_pool(section, run.modality)
        network = run.family.network
        split = feature_split(network, tuple(images.shape[1:]))
        was_training = run.family.training
        run.family.eval()
        x = run.modality.to_inputs(run.modality.encode(images.to(run.device)))  # (N, C, H, W) inputs
        features = embed(split, x).double().cpu().numpy()  # (N, F)
        run.family.train(was_training)
        rows = [few_shot_accuracy(features, classes, k, request) for k in request.shots]
        return json_safe({
            "model": run.config["family"]["name"], "feature_dim": split.dim,
            "episodes": [asdict(r) for r in rows],
            "protocol": {"genlab_version": __version__, "run": str(run.dir.root), "data": section,
                         "images": len(classes), "classes": int(len(np.unique(classes))), **asdict(request)},
            "seconds": round(time.perf_counter() - start, 3)})

    @staticmethod
    def _episode_pool(section: dict[str, Any], modality: Any) -> tuple[torch.Tensor, np.ndarray]:
        """The held-out images (N, C, H, W) in the modality's data range and their classes (N,)."""
        with torch.random.fork_rng(devices=[]):
            bundle = DATASETS.build(section)
        held = bundle.heldout
        if not (hasattr(held, "inputs") and hasattr(held, "labels")):
            raise ConfigError(f"the held-out split of '{section.get('name')}' is not labelled images; few-shot "
                              "episodes need images and classes (e.g. data: few_shot_transfer)", key="data")
        ours = {"name": modality_name(modality), **modality.config()}
        theirs = {"name": modality_name(bundle.modality), **bundle.modality.config()}
        if ours != theirs:
            raise ConfigError(f"the episodes' images are {theirs}, the run reads {ours}", key="data")
        images = held.inputs if held.transform is None else held.transform(held.inputs)  # (N, C, H, W)
        return images.float(), held.labels.numpy()

    def format(self, result: dict[str, Any]) -> str:
        """The printed table."""
        p = result["protocol"]
        lines = [f"{result['model']} features ({result['feature_dim']}) on {p['classes']} held-out classes of "
                 f"'{p['data']['name']}', logistic regression per episode"]
        for row in result["episodes"]:
            lines.append(f"{row['n_way']}-way {row['k_shot']}-shot: accuracy {100 * row['accuracy']:.2f} % "
                         f"± {100 * row['ci95']:.2f} ({row['episodes']} episodes, {row['q_query']} queries per class)")
        return "\n".join(lines)

    def evaluate_command(self, run: Any, args: argparse.Namespace) -> int:
        """``genlab evaluate RUN [--few-shot [SOURCE]] [--n EPISODES] [--seed S] [--json OUT]``."""
        given = [f"--{name.replace('_', '-')}" for name in FOREIGN_OPTIONS if getattr(args, name, None)]
        if given or getattr(args, "correct", False):
            raise GenlabError(f"few-shot episodes score the run's features; {', '.join(given) or '--correct'} does "
                              "not apply (options: --few-shot SOURCE, --n episodes, --seed, --json)", path=run.dir.root)
        changes = {k: v for k, v in (("episodes", args.n), ("seed", getattr(args, "seed", None))) if v is not None}
        try:
            request = FewShotRequest(**changes)
        except checks.ImpossibleValue as exc:
            option = {"episodes": "--n"}.get(exc.argument, f"--{exc.argument}")
            raise GenlabError(f"{option}: {exc.reason}") from None
        source = getattr(args, "few_shot", None)
        result = self.evaluate(run, request, source=data_section(source) if source else None)
        print(self.format(result))
        atomic_write_json(run.dir.root / FEW_SHOT_FILE, result)
        if args.json:
            atomic_write_json(args.json, result)
        return 0


def data_section(source: str | Path) -> dict[str, Any]:
    """The ``data`` section of a config file (YAML/JSON) or of a run directory's ``config.json``."""
    path = Path(source)
    config = RunDir(path).read_config() if path.is_dir() else load_config(path)
    if not isinstance(config.get("data"), Mapping):
        raise GenlabError("has no data section to draw episodes from", path=path)
    return dict(config["data"])
