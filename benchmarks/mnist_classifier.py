"""Clean and PGD accuracy of a trained classifier run on its whole held-out set, in one process.

    python benchmarks/mnist_classifier.py RUN [--eps 0.3 --alpha 0.01 --steps 40] [--batch-size 500]

Clean accuracy: the most likely class of every held-out image. Robust accuracy: the fraction still
classified correctly after L∞ PGD (:class:`genlab.classifiers.attacks.pgd.PGD`, one random start
seeded by ``--seed``) inside the ``--eps`` ball around each image, pixels kept in [0, 1].
``--steps 0`` skips the attack.
"""

from __future__ import annotations

import argparse
import time

import torch

from genlab.classifiers.attacks.pgd import PGD
from genlab.sampling.run import Run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--eps", type=float, default=0.3)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run = Run(args.run)
    classifier, heldout = run.family, run.bundle.heldout
    attack = PGD(eps=args.eps, alpha=args.alpha, steps=args.steps) if args.steps > 0 else None
    generator = torch.Generator().manual_seed(args.seed)
    clean = robust = 0
    start = time.perf_counter()
    for first in range(0, len(heldout), args.batch_size):
        batch = run.bundle.collate([heldout[i] for i in range(first, min(first + args.batch_size, len(heldout)))])
        x, y = classifier.inputs(batch)  # (B, C, H, W) pixels in [0, 1], (B,)
        clean += int((classifier.predict(x) == y).sum())
        if attack is not None:
            x_adv = attack(classifier.logits, x, y, bounds=classifier.input_range, generator=generator)
            robust += int((classifier.predict(x_adv) == y).sum())
    seconds = time.perf_counter() - start
    n = len(heldout)
    print(f"clean accuracy {clean / n:.4f} ({clean}/{n})")
    if attack is not None:
        print(f"PGD-{args.steps} (eps {args.eps}, alpha {args.alpha}) robust accuracy {robust / n:.4f} ({robust}/{n})")
    print(f"{seconds:.0f} s; torch {torch.__version__}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
