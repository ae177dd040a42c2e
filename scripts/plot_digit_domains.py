"""Draw a grid of every digit domain (one row each, the first test images of each class) for the docs.

    python scripts/plot_digit_domains.py --out docs/images/digit_domains.png
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from genlab.data.digit_domains.dataset import domain_arrays  # noqa: E402
from genlab.data.digit_domains.registry import DOMAINS  # noqa: E402

ORDER = ("mnist", "mnist_m", "uci_digits", "syn_digits", "mnist_inverted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--per-class", type=int, default=2)
    args = parser.parse_args()
    DOMAINS.load_providers()
    rows = []
    for domain in ORDER:
        arrays = domain_arrays(domain)
        picks = [np.flatnonzero(arrays.test_labels == c)[:args.per_class] for c in range(10)]
        rows.append(np.concatenate([arrays.test_images[i] for p in picks for i in p], axis=1))  # (32, 32 * n, 3)
    fig, axes = plt.subplots(len(rows), 1, figsize=(10 * args.per_class / 2, 0.62 * len(rows) + 0.2))
    for ax, domain, row in zip(axes, ORDER, rows):
        ax.imshow(row, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(domain, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
