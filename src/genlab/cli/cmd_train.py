"""``genlab train CONFIG.yaml --out RUN [--set key=value ...]`` and ``genlab train --resume RUN``."""

from __future__ import annotations

import argparse

from genlab.errors import GenlabError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a config into a run directory",
        description="Train the family a config describes. The run directory gets config.json (resolved), "
        "weights.safetensors (EMA weights), checkpoints/, logs/ (metrics.csv, tensorboard/), samples/ and plots/.",
    )
    p.add_argument("config", nargs="?", help="YAML or JSON config (not with --resume)")
    p.add_argument("--out", help="new run directory")
    p.add_argument("--resume", metavar="RUN", help="continue RUN from checkpoints/last")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.max_steps=2000 (repeatable); "
                   "with --resume only train.max_steps and logging/checkpoint intervals may change")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genlab import api

    if args.resume:
        if args.config or args.out:
            raise GenlabError("--resume RUN takes neither a config nor --out")
        trained = api.resume(args.resume, args.overrides or None, progress=not args.quiet)
    else:
        if not args.config or not args.out:
            raise GenlabError("give a config and --out RUN (or --resume RUN)")
        trained = api.train(args.config, args.out, args.overrides, progress=not args.quiet)
    print(f"trained {trained.dir.root}: weights {trained.dir.weights}")
    return 0
