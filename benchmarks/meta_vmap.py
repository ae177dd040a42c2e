"""Meta-training throughput: ``torch.func.vmap`` over the tasks of a meta-batch against the Python
loop over tasks, side by side in one process.

    python benchmarks/meta_vmap.py [--configs meta/sinusoid_maml.yaml,meta/omniglot_20way_1shot.yaml]
                                   [--batch-size 25] [--repeats 20] [--json OUT]

For each config: the learner is built twice from the config, once with ``vectorise: true`` and
once with ``false``, with the same weights; one meta-batch of ``batch-size`` training tasks is
drawn; one meta-training step (the meta-loss and its gradient) is timed ``repeats`` times for each
variant, the two interleaved so that a shared machine's load falls on both alike; the median
gives tasks per second. The two meta-gradients are checked to agree first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from genlab.api import read_config
from genlab.build import build_family
from genlab.data.episodes import collate_tasks
from genlab.paths import find_config


def step_seconds(learner: torch.nn.Module, batch) -> float:
    start = time.perf_counter()
    learner.zero_grad(set_to_none=True)
    loss, _ = learner(batch)
    loss.backward()
    return time.perf_counter() - start


def gradients(learner: torch.nn.Module, batch) -> list[torch.Tensor]:
    """The meta-gradient, zeros for parameters the loss does not use (e.g. ANIL's zero head)."""
    learner.zero_grad(set_to_none=True)
    learner(batch)[0].backward()
    return [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in learner.parameters()]


def compare(name: str, batch_size: int, repeats: int) -> dict:
    config = read_config(find_config(name))
    learners = {}
    for vectorise in (True, False):
        torch.manual_seed(0)
        learners[vectorise], bundle = build_family({**config, "family": {**config["family"], "vectorise": vectorise}})
    batch = collate_tasks([bundle.train[i] for i in range(batch_size)])
    for a, b in zip(gradients(learners[True], batch), gradients(learners[False], batch)):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeats):
        for vectorise in (True, False):
            times[vectorise].append(step_seconds(learners[vectorise], batch))
    vmap_s, loop_s = statistics.median(times[True]), statistics.median(times[False])
    return {"config": name, "learner": config["family"]["name"], "tasks": batch_size,
            "vmap_tasks_per_s": batch_size / vmap_s, "loop_tasks_per_s": batch_size / loop_s,
            "speedup": loop_s / vmap_s, "vmap_median_s": vmap_s, "loop_median_s": loop_s, "repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="meta/sinusoid_maml.yaml,meta/omniglot_20way_1shot.yaml")
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    for name in args.configs.split(","):
        row = compare(name, args.batch_size, args.repeats)
        rows.append(row)
        print(f"{name:<32} {row['learner']:<8} vmap {row['vmap_tasks_per_s']:8.1f} tasks/s   loop "
              f"{row['loop_tasks_per_s']:8.1f} tasks/s   speed-up {row['speedup']:.2f}x", flush=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "torch": torch.__version__, "threads": torch.get_num_threads()}, f, indent=2)


if __name__ == "__main__":
    main()
