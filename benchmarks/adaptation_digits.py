"""Digit adaptation from MNIST to the four other digit domains: every method on one budget.

    python benchmarks/adaptation_digits.py --out DIR [--seeds 0 1 2] [--methods source_only mcd ...]
    python benchmarks/adaptation_digits.py --out DIR --experiment join

``methods`` (default: all) trains, one after the other, on the same data (MNIST as the source;
MNIST-M-style, UCI, SynDigits-style and inverted MNIST as the targets; ``--limit`` training and
``--limit-heldout`` test images per domain) and the same optimiser (AdamW, batches of
``--batch-size``):

* ``source_only``: ``--steps`` steps on the source labels;
* ``mcd_<target>``: MCD on one target, ``--mcd-steps`` iterations (steps A, B, C with num_k 4);
* ``mcd_multi``: centralised multi-target MCD (all targets' images in one place), ``--mcd-steps``;
* ``fedavg_mcd``: ``--steps`` pre-training steps, then ``--rounds`` rounds of ``--fedavg-steps``
  MCD iterations per client, averaged;
* ``dualadapt``: ``--steps`` pre-training steps, then ``--rounds`` rounds (client and server steps
  as the family's ``--client-steps`` and ``--server-steps``).

Each run is scored by the adaptation evaluator (accuracy on every target's test images, their
mean); DIR/results.json holds every run's result and settings, DIR/results.md the table.

``--client-statistics off`` runs DualAdapt with the server's batch-normalisation statistics on every
client; ``--tag=_off`` (with the ``=``: the tag starts like an option) keeps such runs apart.

``--experiment join`` is the new-client experiment: DualAdapt with the first three targets for
``--join-round`` rounds, then inverted MNIST joins for ``--rounds`` more, its local classifier
started from the nearest client's (by its GMM) or from the global one; the table gives the
joiner's accuracy after each round and the rounds it takes to reach the other clients' mean
accuracy at the join.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from genlab.api import train
from genlab.classifiers.adaptation.federated import FederatedModel
from genlab.evaluation.adaptation import AdaptationEvaluator
from genlab.trainable import FAMILIES
from genlab.training.federated.engine import train_federated
from genlab.training.federated.run_dir import read_rounds

TARGETS = ["mnist_m", "uci_digits", "syn_digits", "mnist_inverted"]
NETWORK = {"features": {"name": "mcd_features", "variant": "usps"},
           "classifier": {"name": "mcd_classifier", "variant": "usps"}}


def base(args: argparse.Namespace, seed: int, targets: list[str]) -> dict[str, Any]:
    return {
        "data": {"name": "domain_adaptation", "source": "mnist", "targets": targets, "limit": args.limit,
                 "limit_heldout": args.limit_heldout, "seed": 0},
        "network": NETWORK,
        "train": {"max_steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "weight_decay": 5e-4,
                  "ema_decay": None, "grad_clip": None, "seed": seed, "checkpoint_every": 10_000, "log_every": 50},
    }


def configs(args: argparse.Namespace, seed: int) -> dict[str, dict[str, Any]]:
    out = {"source_only": {**base(args, seed, TARGETS), "family": {"name": "source_only"}}}
    for target in TARGETS:
        config = base(args, seed, [target])
        config["family"] = {"name": "mcd", "num_k": 4}
        config["train"]["max_steps"] = args.mcd_steps
        out[f"mcd_{target}"] = config
    multi = base(args, seed, TARGETS)
    multi["family"] = {"name": "mcd", "num_k": 4}
    multi["train"]["max_steps"] = args.mcd_steps
    out["mcd_multi"] = multi
    out["fedavg_mcd"] = {**base(args, seed, TARGETS), "family": {
        "name": "fedavg_mcd", "clients": 4, "rounds": args.rounds, "client_steps": args.fedavg_steps, "num_k": 4}}
    out["dualadapt"] = {**base(args, seed, TARGETS), "family": dualadapt(args, clients=4)}
    return out


def dualadapt(args: argparse.Namespace, clients: int, **extra: Any) -> dict[str, Any]:
    return {"name": "dualadapt", "clients": clients, "rounds": args.rounds, "client_steps": args.client_steps,
            "server_steps": args.server_steps, "num_k": 4, "gmm_components": 10, "gmm_dim": args.gmm_dim,
            "gmm_images": 2000, "client_statistics": args.client_statistics == "on", **extra}


def train_any(config: dict[str, Any], out: Path) -> Any:
    federated = issubclass(FAMILIES.get(config["family"]["name"]), FederatedModel)
    return train_federated(config, out, progress=True) if federated else train(config, out, progress=False)


def run_all(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for seed in args.seeds:
        for name, config in configs(args, seed).items():
            if args.methods and not any(name == m or name.startswith(m + "_") for m in args.methods):
                continue
            folder = args.out / f"{name}{args.tag}-seed{seed}"
            start = time.perf_counter()
            run = train_any(config, folder)
            seconds = time.perf_counter() - start
            result = AdaptationEvaluator().evaluate(run)
            rows.append({"method": name + args.tag, "seed": seed, "train_seconds": round(seconds, 1), "config": config,
                         "accuracy": {t["target"]: t["accuracy"] for t in result["targets"]},
                         "mean_accuracy": result["mean_accuracy"], "rounds": result.get("rounds")})
            print(f"{name} seed {seed}: mean {result['mean_accuracy']:.4f} {rows[-1]['accuracy']} ({seconds:.0f} s)",
                  flush=True)
            write(args.out, rows, "results" + args.tag)
    return rows


def run_join(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for seed in args.seeds:
        for init in ("nearest", "global"):
            config = base(args, seed, TARGETS)
            config["family"] = dualadapt(args, clients=4, rounds=args.join_round + args.rounds,
                                         join_round=args.join_round, join_init=init)
            folder = args.out / f"join_{init}-seed{seed}"
            start = time.perf_counter()
            train_federated(config, folder, progress=True)
            rounds = read_rounds(folder)
            joiner, others = TARGETS[-1], TARGETS[:-1]
            at_join = rounds[args.join_round - 1]["accuracy"]
            threshold = sum(at_join[t] for t in others) / len(others)
            curve = [r["accuracy"][joiner] for r in rounds[args.join_round:]]
            reached = next((i + 1 for i, a in enumerate(curve) if a >= threshold), None)
            first = rounds[args.join_round]["client_metrics"].get(str(len(TARGETS) - 1), {})
            rows.append({"method": f"join_{init}", "seed": seed, "train_seconds": round(time.perf_counter() - start, 1),
                         "config": config, "others_mean_at_join": threshold, "joiner_accuracy_before_joining":
                         at_join[joiner], "joiner_curve": curve, "rounds_to_reach": reached,
                         "joined_from": first.get("joined_from"),
                         "bytes_per_round": [r["bytes"]["total"] for r in rounds]})
            print(f"join {init} seed {seed}: others {threshold:.4f}, joiner {curve}, reached after {reached}",
                  flush=True)
            write(args.out, rows)
    return rows


def write(out: Path, rows: list[dict[str, Any]], name: str = "results") -> None:
    (out / f"{name}.json").write_text(json.dumps(rows, indent=1))
    lines = []
    if rows and "accuracy" in rows[0]:
        lines += ["| method | seed | " + " | ".join(TARGETS) + " | mean | train s |",
                  "|---" * (len(TARGETS) + 4) + "|"]
        for r in rows:
            cells = [f"{r['accuracy'][t]:.4f}" if t in r["accuracy"] else "" for t in TARGETS]
            lines.append(f"| {r['method']} | {r['seed']} | " + " | ".join(cells) +
                         f" | {r['mean_accuracy']:.4f} | {r['train_seconds']:.0f} |")
    else:
        lines += ["| init | seed | others' mean at join | joiner before | joiner after each round "
                  "| rounds to reach | from |",
                  "|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['method']} | {r['seed']} | {r['others_mean_at_join']:.4f} | "
                         f"{r['joiner_accuracy_before_joining']:.4f} | "
                         f"{', '.join(f'{a:.4f}' for a in r['joiner_curve'])} | {r['rounds_to_reach']} | "
                         f"{r['joined_from']} |")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--experiment", choices=("methods", "join"), default="methods")
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--limit", type=int, default=5000)
    parser.add_argument("--limit-heldout", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--steps", type=int, default=600, help="source-only steps = federated pre-training steps")
    parser.add_argument("--mcd-steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--fedavg-steps", type=int, default=12)
    parser.add_argument("--client-steps", type=int, default=100)
    parser.add_argument("--server-steps", type=int, default=50)
    parser.add_argument("--gmm-dim", type=int, default=16)
    parser.add_argument("--join-round", type=int, default=3)
    parser.add_argument("--client-statistics", choices=("on", "off"), default="on",
                        help="DualAdapt's clients estimate G's batch-normalisation statistics on their images")
    parser.add_argument("--tag", default="", help="appended to each run's folder name (dualadapt-off, ...)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    (args.out / "settings.json").write_text(json.dumps({k: str(v) if isinstance(v, Path) else v
                                                        for k, v in vars(args).items()}, indent=1))
    run_join(args) if args.experiment == "join" else run_all(args)


if __name__ == "__main__":
    main()
