"""``DOMAINS``: a digit domain's name -> its recipe ``(seed) -> DomainArrays``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.registry import Registry

#: every domain's images are (N, SIZE, SIZE, 3) uint8
SIZE = 32


@dataclass(frozen=True)
class DomainArrays:
    """A domain's splits: images (N, 32, 32, 3) uint8 RGB and labels (N,) int64 in 0..9."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            if images.dtype != np.uint8 or images.shape[1:] != (SIZE, SIZE, 3):
                raise ValueError(f"{split} images must be (N, {SIZE}, {SIZE}, 3) uint8, got "
                                 f"{images.shape} {images.dtype}")
            if labels.shape != (images.shape[0],):
                raise ValueError(f"{split}: {images.shape[0]} images but labels shaped {labels.shape}")


DOMAINS: Registry[DomainArrays] = Registry("domain", providers=(
    "genlab.data.digit_domains.mnist_domains",
    "genlab.data.digit_domains.uci_digits",
    "genlab.data.digit_domains.syn_digits",
))
