"""``genlab sample RUN --n N --out FILE [--sampler NAME --steps K --seed S]``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a trained run",
        description="Sample a trained run with its EMA weights. Points and images are written as .npz "
        "(arrays samples, nfe) or .safetensors; a modality with its own format (molecules) writes it. "
        "A figure is written to RUN/plots/<FILE stem>.png where the modality has one.",
    )
    p.add_argument("run", help="run directory written by `genlab train`")
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--out", help="sample file (default RUN/samples/samples-seed<S>.npz)")
    p.add_argument("--sampler", default=None, help="sampler name (default: the family's)")
    p.add_argument("--steps", type=int, default=None, help="sampler steps (default: the family's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="skip the figure")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genlab.errors import GenlabError
    from genlab.training.run import Run

    if args.n < 1:
        raise GenlabError(f"--n must be at least 1, got {args.n}")
    trained = Run(args.run, device=args.device)
    out = Path(args.out) if args.out else trained.dir.samples / f"samples-seed{args.seed}.npz"
    start = time.perf_counter()
    result = trained.sample(args.n, sampler=args.sampler, steps=args.steps, seed=args.seed)
    seconds = time.perf_counter() - start
    files = trained.write_samples(result, out)
    if args.plot:
        figure = trained.plot(result, trained.dir.plots / f"{out.stem}.png")
        if figure is not None:
            files.append(figure)
    print(f"{args.n} samples, {result.nfe} network evaluations, {seconds:.1f} s: " + ", ".join(map(str, files)))
    return 0
