"""``uci_digits``: scikit-learn's copy of the UCI optical-recognition handwritten digits.

1,797 images 8 × 8 with 17 grey levels (Alpaydin & Kaynak 1998: 43 writers, bitmaps scanned and
block-counted into 4 × 4 cells) — other writers and another acquisition than MNIST, a real domain
shift like USPS's. Grey levels 0..16 are scaled to 0..255 and the images upsampled to 32 × 32; a
stratified draw with ``seed`` holds out :data:`N_TEST` of them for the test split.
"""

from __future__ import annotations

import numpy as np

from genlab.data.digit_domains.registry import DOMAINS, DomainArrays
from genlab.data.digit_domains.resize import to_rgb32

N_TEST = 500


@DOMAINS.register("uci_digits")
def uci_digits(seed: int = 0) -> DomainArrays:
    from sklearn.datasets import load_digits

    data = load_digits()
    images = np.round(np.asarray(data.images) * (255.0 / 16.0)).astype(np.uint8)  # (1797, 8, 8)
    labels = np.asarray(data.target, dtype=np.int64)
    test = _stratified(labels, N_TEST, np.random.default_rng([seed, 0x5543]))
    train = np.setdiff1d(np.arange(len(labels)), test)
    rgb = to_rgb32(images)
    return DomainArrays(rgb[train], labels[train], rgb[test], labels[test])


def _stratified(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``n`` items with each class in proportion to its count."""
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts * n / len(labels)).astype(int)
    for k in np.argsort(-(counts * n / len(labels) - quota))[: n - quota.sum()]:
        quota[k] += 1  # largest remainders first
    picked = [rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(picked))
