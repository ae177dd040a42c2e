"""``genlab sample RUN --n N --out FILE [--sampler NAME --steps K --seed S --batch-size B] [--chunk-size C [--resume]]``."""

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
    p.add_argument("--batch-size", type=int, default=None, metavar="B",
                   help="samples per network batch (default: all at once on a GPU, 1024 on the CPU)")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="skip the figure")
    p.add_argument("--chunk-size", type=int, default=None, metavar="C",
                   help="draw C samples at a time and keep each finished chunk in OUT.chunks/, so an "
                   "interrupted run can be continued with --resume (see genlab.sampling.chunks)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted chunked run with the same arguments; finished chunks are kept")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genlab.errors import GenlabError
    from genlab.evaluation.registry import evaluator_for
    from genlab.sampling.chunks import remove_chunks
    from genlab.sampling.run import Run

    if args.n < 1:
        raise GenlabError(f"--n must be at least 1, got {args.n}")
    trained = Run(args.run, device=args.device)
    out = Path(args.out) if args.out else trained.dir.samples / f"samples-seed{args.seed}.npz"
    start = time.perf_counter()
    chunked = args.chunk_size is not None or args.resume
    if chunked and args.batch_size is not None:
        raise GenlabError("--batch-size and --chunk-size cannot be combined: a chunk is one batch")
    if chunked:
        result, note = _sample_in_chunks(trained, out, args)
    else:
        result = trained.sample(args.n, sampler=args.sampler, steps=args.steps, seed=args.seed,
                                batch_size=args.batch_size)
        note = ""
    seconds = time.perf_counter() - start
    evaluator = evaluator_for(trained.modality)
    files = evaluator.write(result, trained.modality, out).files
    if chunked:
        remove_chunks(out)
    if args.plot and evaluator.plots:
        reference = trained.reference(len(result.samples)) if evaluator.plot_reference else None
        files.append(evaluator.plot(result.samples, trained.dir.plots / f"{out.stem}.png", reference=reference))
    print(f"{args.n} samples{note}, {result.nfe} network evaluations, {seconds:.1f} s: " + ", ".join(map(str, files)))
    return 0


def _sample_in_chunks(trained, out: Path, args: argparse.Namespace):
    import sys

    from genlab.errors import GenlabError
    from genlab.sampling.chunks import ChunkPlan, file_sha256, read_plan, sample_in_chunks

    chunk_size = args.chunk_size
    if chunk_size is None:  # --resume alone: the interrupted run's chunk size
        chunk_size = int(read_plan(out)["chunk_size"])
    if chunk_size < 1:
        raise GenlabError(f"--chunk-size must be at least 1, got {chunk_size}")
    plan = ChunkPlan(n=args.n, chunk_size=chunk_size, seed=args.seed, sampler=args.sampler, steps=args.steps,
                     weights_sha256=file_sha256(trained.dir.weights))
    result, reused = sample_in_chunks(trained.sample, out, plan, resume=args.resume,
                                      report=lambda line: print(line, file=sys.stderr))
    return result, f" ({plan.n_chunks} chunks, {reused} from an earlier run)"
