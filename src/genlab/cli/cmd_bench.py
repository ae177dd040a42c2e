"""``genlab bench {qm9,moses,points,digits,mnist-robust} --out DIR``: every family on one budget
(:mod:`genlab.evaluation.bench`); ``mnist-robust`` compares classifier training objectives by clean
and robust accuracy."""

from __future__ import annotations

import argparse
from pathlib import Path

from genlab.errors import GenlabError


def add_parser(sub: argparse._SubParsersAction) -> None:
    from genlab.evaluation.bench import MODALITIES

    p = sub.add_parser(
        "bench", help="train, sample and evaluate every family of a modality on the same budget",
        description="For each family config under configs/<modality>/ and each seed: train with the config's "
        "train section on the given budget, sample, evaluate (mnist-robust: the classifier configs of "
        "configs/mnist/ — standard, PGD, fast and TRADES training — scored by clean accuracy and PGD-40 robust "
        "accuracy on 1,000 test images, nothing sampled). Writes DIR/results.json (one row per family and "
        "seed, kept when interrupted: a rerun resumes), DIR/results.md and DIR/results.html (mean ± std).",
    )
    p.add_argument("modality", choices=MODALITIES)
    p.add_argument("--families", default="all", help="all, or config names separated by commas (e.g. ddpm,flow_matching)")
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--steps", type=int, help="training iterations per family (train.max_steps)")
    budget.add_argument("--budget-minutes", type=float, help="wall-clock training budget per family")
    p.add_argument("--samples", type=int, default=10_000, help="samples drawn and evaluated per row (generative "
                   "benches)")
    p.add_argument("--seeds", type=int, default=1, help="seeds 0..K-1 (train.seed and the sampling seed)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--configs", default="configs", help="folder holding <modality>/*.yaml")
    p.add_argument("--out", required=True, help="results folder (reused to resume)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genlab.evaluation.bench import BenchSettings, bench

    if args.seeds < 1:
        raise GenlabError(f"--seeds must be at least 1, got {args.seeds}")
    families = None if args.families == "all" else [f.strip() for f in args.families.split(",") if f.strip()]
    settings = BenchSettings(modality=args.modality, steps=args.steps, budget_minutes=args.budget_minutes,
                             samples=args.samples, device=args.device)
    rows = bench(settings, args.out, families=families, seeds=args.seeds, configs_root=args.configs)
    print(Path(args.out, "results.md").read_text(encoding="utf-8"))
    print(f"{len(rows)} rows in {args.out}/results.json")
    return 0
