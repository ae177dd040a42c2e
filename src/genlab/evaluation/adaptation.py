"""The domain-adaptation evaluator: accuracy on each target's test split and their mean.

``AdaptationEvaluator().evaluate(run)`` scores a run of any adaptation model
(:mod:`genlab.classifiers.adaptation`: ``source_only``, ``mcd``, ``dualadapt``, ``fedavg_mcd``):
each target domain of the run's ``data`` section is predicted as that domain (a federated model
uses the target's own client classifier), and the result holds per target the number of images
and the fraction classified correctly, the unweighted mean over targets (the "Avg" column of
Saito et al. 2018 and Yao et al. 2022), and for a federated run its rounds' statistics
(:mod:`genlab.training.federated.run_dir`: bytes sent, client metrics). ``genlab evaluate RUN``
prints the table and writes ``RUN/adaptation.json`` (and ``--json``).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from typing import Any

from genlab import __version__
from genlab.classifiers.adaptation.base import AdaptationModel
from genlab.classifiers.adaptation.scoring import TargetAccuracy, target_accuracies
from genlab.errors import GenlabError
from genlab.evaluation.registry import register_run_evaluator
from genlab.training.federated.run_dir import read_rounds
from genlab.utils.atomic import atomic_write_json, json_safe

#: what ``genlab evaluate RUN`` writes into an adaptation run
ADAPTATION_FILE = "adaptation.json"
#: ``genlab evaluate`` options that have no meaning for an adaptation run
FOREIGN_OPTIONS = ("reference", "train", "attack", "attacks", "eps", "steps", "alpha", "restarts", "norm",
                   "surrogate", "images", "seed")


@dataclass
class AdaptationResult:
    targets: list[TargetAccuracy]
    mean_accuracy: float
    source: str
    method: str
    seconds: float


@register_run_evaluator(AdaptationModel)
class AdaptationEvaluator:
    """Scores an adaptation run on its targets' test splits."""

    bench_datasets: tuple[str, ...] = ()

    def evaluate(self, run: Any, *, n: int | None = None, batch_size: int = 500) -> dict[str, Any]:
        """The JSON-able result (:class:`AdaptationResult` and the protocol) of ``run``."""
        start = time.perf_counter()
        bundle = run.bundle
        names = list(bundle.info["targets"])
        model: AdaptationModel = run.family
        model.eval()
        rows = target_accuracies(model, bundle.heldout.splits, names, n=n, batch_size=batch_size)
        result = AdaptationResult(targets=rows, mean_accuracy=sum(r.accuracy for r in rows) / len(rows),
                                  source=str(bundle.info["source"]), method=run.config["family"]["name"],
                                  seconds=round(time.perf_counter() - start, 3))
        out = asdict(result)
        rounds = read_rounds(run.dir.root)
        if rounds:
            out["rounds"] = {"n": len(rounds), "bytes_per_round": [r["bytes"]["total"] for r in rounds],
                             "bytes_total": sum(r["bytes"]["total"] for r in rounds)}
        out["protocol"] = {"genlab_version": __version__, "run": str(run.dir.root), "data": run.config["data"],
                           "n": n, "batch_size": batch_size}
        return json_safe(out)

    def format(self, result: dict[str, Any]) -> str:
        """The printed table: one line per target, then the mean."""
        lines = [f"{result['method']}: source {result['source']}", f"{'target':<16} {'images':>7} {'accuracy':>9}"]
        for row in result["targets"]:
            lines.append(f"{row['target']:<16} {row['n_images']:>7} {row['accuracy']:>9.4f}")
        lines.append(f"{'mean':<16} {'':>7} {result['mean_accuracy']:>9.4f}")
        if "rounds" in result:
            r = result["rounds"]
            lines.append(f"{r['n']} rounds, {r['bytes_total'] / 2**20:.2f} MiB sent")
        return "\n".join(lines)

    def evaluate_command(self, run: Any, args: argparse.Namespace) -> int:
        """``genlab evaluate RUN [--n N] [--batch-size B] [--json OUT]`` on an adaptation run."""
        given = [f"--{name.replace('_', '-')}" for name in FOREIGN_OPTIONS if getattr(args, name, None)]
        if given or getattr(args, "correct", False):
            raise GenlabError(f"an adaptation run is scored by its accuracy on the targets' test splits; "
                              f"{', '.join(given) or '--correct'} does not apply (options: --n images per target, "
                              "--batch-size, --json)", path=run.dir.root)
        for option, value in (("--n", args.n), ("--batch-size", args.batch_size)):
            if value is not None and value < 1:
                raise GenlabError(f"{option}: must be at least 1, got {value}")
        result = self.evaluate(run, n=args.n, batch_size=args.batch_size or 500)
        print(self.format(result))
        atomic_write_json(run.dir.root / ADAPTATION_FILE, result)
        if args.json:
            atomic_write_json(args.json, result)
        return 0
