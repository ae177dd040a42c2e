"""The meta-learning evaluator: error or accuracy after adapting to held-out tasks.

``MetaEvaluator().evaluate(run, MetaRequest())`` scores a run of any meta-learner
(:mod:`genlab.classifiers.meta`; ``genlab evaluate RUN`` calls it and writes ``RUN/meta.json``):

* regression (``loss: mse``, e.g. sinusoids): for each K in ``shots``, ``n_tasks`` held-out tasks
  of the run's data section with ``k_shot: K`` and ``query_points`` query points; the mean squared
  error on the query points after 0 and each of ``steps`` gradient steps on the K support points
  (Finn et al. 2017, sec. 5.1, Figs. 2–3: K = 5 and 10, 1 and 10 steps);
* classification: the accuracy on the first ``n_tasks`` held-out episodes of the run's data (N-way
  K-shot as configured; 600 episodes, as Finn et al. report) after ``test_steps`` steps;
* Omniglot runs (``data: omniglot``) also get Lake et al.'s 20-way within-alphabet one-shot task:
  in each of the 20 runs the learner adapts on the 20 training images (labels 0..19) and
  predicts the class of each of the 20 test items; a run's error is the fraction predicted wrong,
  the result the mean over runs (as the Omniglot repository's one-shot demo scores it).

Each mean comes with the half-width of its 95 % Student-t interval over tasks (or runs).
Batch normalisation uses each task's support or query batch, as in training.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import scipy.stats
import torch

from genlab import __version__
from genlab.classifiers.meta.learner import MetaLearner
from genlab.data.episodes import Task, TaskBatch, collate_tasks
from genlab.data.labelled import scale_uint8
from genlab.data.omniglot import one_shot_runs
from genlab.data.registry import DATASETS
from genlab.errors import GenlabError
from genlab.evaluation.registry import register_run_evaluator
from genlab.utils import checks
from genlab.utils.atomic import atomic_write_json, json_safe

#: what ``genlab evaluate RUN`` writes into a meta-learning run
META_FILE = "meta.json"
#: ``genlab evaluate`` options that have no meaning for a meta-learning run
FOREIGN_OPTIONS = ("reference", "train", "correct", "nspdk", "plot", "attack", "attacks", "eps", "steps", "alpha",
                   "restarts", "norm", "surrogate", "images", "seed")


@dataclass(frozen=True)
class MetaRequest:
    """How much to evaluate: ``n_tasks`` held-out tasks (episodes), ``batch_size`` tasks at a
    time; regression runs also ``shots``, ``steps`` and ``query_points``."""

    n_tasks: int = 600
    batch_size: int = 50
    shots: tuple[int, ...] = (5, 10)
    steps: tuple[int, ...] = (1, 10)
    query_points: int = 100

    def __post_init__(self) -> None:
        for key in ("n_tasks", "batch_size", "query_points"):
            checks.at_least(key, getattr(self, key), 1)
        for k in self.shots:
            checks.at_least("shots", k, 1)
        for s in self.steps:
            checks.non_negative("steps", s)


@dataclass
class Estimate:
    """A mean over ``n`` tasks (or runs) and the half-width of its 95 % t-interval."""

    mean: float
    ci95: float
    n: int


def estimate(values: torch.Tensor) -> Estimate:
    v = values.double().cpu().numpy()  # (n,)
    half = float(scipy.stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
    return Estimate(float(v.mean()), half, len(v))


@register_run_evaluator(MetaLearner)
class MetaEvaluator:
    """Scores a meta-learning run on held-out tasks (see the module docstring)."""

    bench_datasets = ()

    def evaluate(self, run: Any, request: MetaRequest = MetaRequest()) -> dict[str, Any]:
        start = time.perf_counter()
        learner: MetaLearner = run.family
        out: dict[str, Any] = {"learner": run.config["family"]["name"], "loss": learner.task_loss.name}
        if learner.task_loss.classification:
            out["episodes"] = self._episodes(run, request)
            runs = EXTRA_PROTOCOLS.get(run.config["data"]["name"])
            if runs is not None:
                out["one_shot_runs"] = runs(run, request)
        else:
            out["regression"] = self._regression(run, request)
        out["protocol"] = {"genlab_version": __version__, "run": str(run.dir.root), "data": run.config["data"],
                           **asdict(request)}
        out["seconds"] = round(time.perf_counter() - start, 3)
        return json_safe(out)

    def _regression(self, run: Any, request: MetaRequest) -> list[dict[str, Any]]:
        rows = []
        for k in request.shots:
            section = {**run.config["data"], "k_shot": k, "q_query": request.query_points,
                       "heldout_length": request.n_tasks}
            tasks = DATASETS.build(section).heldout
            for steps in (0, *request.steps):
                errors = _per_task(run.family, tasks, request, steps,
                                   lambda out, y: ((out - y) ** 2).flatten(1).mean(1))  # (T,)
                rows.append({"k_shot": k, "steps": steps, "mse": asdict(estimate(errors))})
        return rows

    def _episodes(self, run: Any, request: MetaRequest) -> dict[str, Any]:
        tasks = run.bundle.heldout
        first = tasks[0]
        correct = _per_task(run.family, tasks, request, run.family.test_steps,
                            lambda out, y: (out.argmax(-1) == y).double().mean(1))  # (T,)
        return {"n_way": int(first.support_y.max()) + 1, "k_shot": int((first.support_y == 0).sum()),
                "q_query": int((first.query_y == 0).sum()), "steps": run.family.test_steps,
                "accuracy": asdict(estimate(correct))}

    def format(self, result: dict[str, Any]) -> str:
        """The printed table."""
        lines = [f"learner {result['learner']} ({result['loss']})"]
        if "regression" in result:
            lines.append(f"{'K':>4} {'steps':>6} {'MSE':>10} {'± 95%':>9} {'tasks':>6}")
            for row in result["regression"]:
                m = row["mse"]
                lines.append(f"{row['k_shot']:>4} {row['steps']:>6} {m['mean']:>10.4f} {m['ci95']:>9.4f} {m['n']:>6}")
        if "episodes" in result:
            e = result["episodes"]
            a = e["accuracy"]
            lines.append(f"{e['n_way']}-way {e['k_shot']}-shot held-out episodes: accuracy {100 * a['mean']:.2f} % "
                         f"± {100 * a['ci95']:.2f} ({a['n']} episodes, {e['steps']} steps)")
        runs = result.get("one_shot_runs")
        if runs is not None and "error" in runs:
            r = runs["error"]
            lines.append(f"Omniglot 20-way within-alphabet one-shot runs: error {100 * r['mean']:.2f} % "
                         f"± {100 * r['ci95']:.2f} ({r['n']} runs)")
        elif runs is not None:
            lines.append(f"Omniglot one-shot runs: not scored ({runs['skipped']})")
        return "\n".join(lines)

    def evaluate_command(self, run: Any, args: argparse.Namespace) -> int:
        """``genlab evaluate RUN [--n N] [--batch-size B] [--json OUT]`` on a meta-learning run."""
        given = [f"--{name.replace('_', '-')}" for name in FOREIGN_OPTIONS
                 if getattr(args, name, None) not in (None, False)]
        if given:
            raise GenlabError(f"a meta-learning run is scored on held-out tasks; {', '.join(given)} does not apply "
                              "(options: --n tasks, --batch-size, --json)", path=run.dir.root)
        changes = {k: v for k, v in (("n_tasks", args.n), ("batch_size", args.batch_size)) if v is not None}
        try:
            request = MetaRequest(**changes)
        except checks.ImpossibleValue as exc:
            option = {"n_tasks": "--n", "batch_size": "--batch-size"}.get(exc.argument, exc.argument)
            raise GenlabError(f"{option}: {exc.reason}") from None
        result = self.evaluate(run, request)
        print(self.format(result))
        atomic_write_json(run.dir.root / META_FILE, result)
        if args.json:
            atomic_write_json(args.json, result)
        return 0


def _per_task(learner: MetaLearner, tasks: Any, request: MetaRequest, steps: int,
              score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``score(query outputs, query targets)`` (T,) of the first ``n_tasks`` tasks, in batches."""
    n = min(request.n_tasks, len(tasks))
    values = []
    for start in range(0, n, request.batch_size):
        batch = collate_tasks([tasks[i] for i in range(start, min(n, start + request.batch_size))])
        out, y = learner.query_outputs(batch, steps)  # (T, Q, ...)
        values.append(score(out, y))
    return torch.cat(values)


def omniglot_one_shot_runs(run: Any, request: MetaRequest) -> dict[str, Any]:
    """Lake et al.'s 20 runs: per run the fraction of its 20 test items given the wrong class."""
    learner: MetaLearner = run.family
    data = run.config["data"]
    runs = one_shot_runs({**DATASETS.defaults(data["name"]), **data}["size"])
    tasks = [Task(scale_uint8(torch.from_numpy(r.train_images)), torch.arange(len(r.train_images)),
                  scale_uint8(torch.from_numpy(r.test_images)), torch.from_numpy(r.answers)) for r in runs]
    batch: TaskBatch = collate_tasks(tasks)
    with torch.no_grad():
        classes = learner.network(learner.task_tensors(batch).support_x[0]).shape[-1]  # (20, classes)
    if classes != batch.support_y.shape[1]:
        return {"skipped": f"the network has {classes} outputs; the runs are 20-way"}
    out, y = learner.query_outputs(batch, learner.test_steps)  # (20, 20, 20)
    errors = (out.argmax(-1) != y).double().mean(1)  # (20,)
    return {"steps": learner.test_steps, "error": asdict(estimate(errors)), "per_run": errors.tolist()}


#: data names whose runs get a further protocol beside the held-out episodes
EXTRA_PROTOCOLS: dict[str, Callable[[Any, MetaRequest], dict[str, Any]]] = {"omniglot": omniglot_one_shot_runs}
