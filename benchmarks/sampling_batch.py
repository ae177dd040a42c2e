"""Sampling throughput of a trained run against the sampling batch size, in one process.

    python benchmarks/sampling_batch.py RUN [--n 10000] [--batch-sizes 10000,1024,256]

For each batch size B: the wall time of ``Run.sample(n, batch_size=B)`` (the family's default
sampler, seed 0) and of one network call per sample (the same work without the sampler's own
arithmetic), so the ratio between rows is the speed-up measured under the same conditions.
This is how ``genlab.sampling.run.CPU_SAMPLE_BATCH`` was chosen.
"""

from __future__ import annotations

import argparse
import time

import torch

from genlab.api import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--batch-sizes", default="10000,1024,256")
    args = parser.parse_args()
    run = load(args.run)
    rows = []
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        start = time.perf_counter()
        result = run.sample(args.n, seed=0, batch_size=batch)
        seconds = time.perf_counter() - start
        rows.append((batch, seconds, result.nfe))
        print(f"batch {batch:>6}: {seconds:7.1f} s for {args.n} samples, NFE {result.nfe}, "
              f"{seconds / result.nfe:.3f} s per network call over all samples", flush=True)
    base = rows[0][1]
    for batch, seconds, _ in rows[1:]:
        print(f"speed-up of batch {batch} over batch {rows[0][0]}: {base / seconds:.2f}x")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
