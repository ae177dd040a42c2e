"""Every continual-learning method on permuted MNIST (10 tasks), one at a time, into one JSON.

    python benchmarks/continual_permuted_mnist.py --out runs/continual [--methods gpm,ewc] [--set KEY=VALUE ...]

Trains ``configs/continual/permuted_mnist_<method>.yaml`` for each method (in this process, one
after the other) into ``OUT/<method>``, evaluates it with the continual evaluator (ACC, BWT, FWT,
the loaded run rescored) and writes ``OUT/results.json``: per method the metrics, the accuracy
matrix, the wall-clock seconds of training and the config overrides, plus torch's version and
thread count. ``--set`` overrides apply to every method (e.g. ``train.max_steps=500`` for a
quick pass). A method whose run directory already holds a finished run is evaluated, not trained.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict
from pathlib import Path

import torch

from genlab.api import load, train
from genlab.evaluation.continual import ContinualEvaluator
from genlab.paths import configs_dir

METHODS = ("finetune", "l2", "ewc", "online_ewc", "gpm", "sparse_gpm", "ogd", "coreset", "generative_replay",
           "joint")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.json"
    results = json.loads(results_file.read_text()) if results_file.is_file() else {}
    results["environment"] = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                              "machine": platform.machine(), "python": platform.python_version()}
    for method in args.methods.split(","):
        config = configs_dir() / "continual" / f"permuted_mnist_{method}.yaml"
        run_dir = out / method
        seconds = None
        if not (run_dir / "weights.safetensors").is_file():
            start = time.perf_counter()
            train(config, run_dir, args.overrides, progress=False)
            seconds = round(time.perf_counter() - start, 1)
        result = ContinualEvaluator().evaluate(load(run_dir))
        m = result.metrics
        results[method] = {"config": str(config.relative_to(configs_dir().parent)), "overrides": args.overrides,
                           "acc": m.acc, "bwt": m.bwt, "fwt": m.fwt, "train_seconds": seconds
                           if seconds is not None else results.get(method, {}).get("train_seconds"),
                           "max_rescore_difference": result.max_rescore_difference, "metrics": asdict(m)}
        fwt = "–" if m.fwt is None else f"{100 * m.fwt:+.2f}"
        print(f"{method:18s} ACC {100 * m.acc:6.2f}  BWT {100 * m.bwt:+6.2f}  FWT {fwt}  "
              f"train {results[method]['train_seconds']} s", flush=True)
        results_file.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
