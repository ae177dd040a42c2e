"""The domains made from MNIST's digits: ``mnist``, ``mnist_m`` and ``mnist_inverted``.

Each keeps MNIST's split (genlab's 50,000 training and 10,000 test images) and labels.

``mnist_m`` follows the recipe of MNIST-M (Ganin & Lempitsky 2015, §4.1: "blending digits from the
original set over patches randomly extracted from color photos"): the digit is binarised
(m = 1 where its grey level is above 0), a 28 × 28 patch p is cut at a random place of a random
photograph (:mod:`genlab.data.digit_domains.photos`) shown at a random scale of 1, 1/2 or 1/4, and
the image is the difference blend |p − 255 m| per channel, so strokes take the photograph's
complementary colour. ``seed`` draws the patches.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from genlab.data.digit_domains.photos import photographs
from genlab.data.digit_domains.registry import DOMAINS, DomainArrays
from genlab.data.digit_domains.resize import to_rgb32
from genlab.data.mnist import cached_arrays

#: the scales a photograph is shown at before a patch is cut (1/4: more of the scene in a patch)
PHOTO_SCALES = (1.0, 0.5, 0.25)
PATCH = 28


def _mnist_splits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    arrays = cached_arrays()
    return (arrays["train_images"], arrays["train_labels"].astype(np.int64),
            arrays["test_images"], arrays["test_labels"].astype(np.int64))


@DOMAINS.register("mnist")
def mnist(seed: int = 0) -> DomainArrays:
    """MNIST as RGB 32 × 32 (``seed`` is unused: nothing is drawn)."""
    x_train, y_train, x_test, y_test = _mnist_splits()
    return DomainArrays(to_rgb32(x_train), y_train, to_rgb32(x_test), y_test)


@DOMAINS.register("mnist_inverted")
def mnist_inverted(seed: int = 0) -> DomainArrays:
    """MNIST with grey level y -> 255 - y: dark strokes on a light ground."""
    x_train, y_train, x_test, y_test = _mnist_splits()
    return DomainArrays(to_rgb32(255 - x_train), y_train, to_rgb32(255 - x_test), y_test)


@DOMAINS.register("mnist_m")
def mnist_m(seed: int = 0) -> DomainArrays:
    """MNIST digits difference-blended over photograph patches (the module's recipe)."""
    x_train, y_train, x_test, y_test = _mnist_splits()
    rng = np.random.default_rng([seed, 0x4D4D])
    scaled = [_rescaled(photo, s) for photo in photographs() for s in PHOTO_SCALES]
    return DomainArrays(to_rgb32(_blend(x_train, scaled, rng)), y_train,
                        to_rgb32(_blend(x_test, scaled, rng)), y_test)


def _blend(digits: np.ndarray, backgrounds: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """(N, 28, 28) uint8 digits -> (N, 28, 28, 3) uint8 |patch - 255 * (digit > 0)|."""
    n = digits.shape[0]
    which = rng.integers(len(backgrounds), size=n)
    corner = rng.random((n, 2))
    patches = np.empty((n, PATCH, PATCH, 3), dtype=np.int16)
    for i in range(n):
        photo = backgrounds[which[i]]
        top = int(corner[i, 0] * (photo.shape[0] - PATCH + 1))
        left = int(corner[i, 1] * (photo.shape[1] - PATCH + 1))
        patches[i] = photo[top:top + PATCH, left:left + PATCH]
    strokes = (digits > 0).astype(np.int16)[..., None] * 255  # (N, 28, 28, 1)
    return np.abs(patches - strokes).astype(np.uint8)


def _rescaled(photo: np.ndarray, scale: float) -> np.ndarray:
    """(H, W, 3) uint8 shown at ``scale`` (antialiased), still uint8."""
    if scale == 1.0:
        return photo
    x = torch.from_numpy(np.array(photo)).permute(2, 0, 1)[None].float()  # (1, 3, H, W)
    size = (max(PATCH, round(photo.shape[0] * scale)), max(PATCH, round(photo.shape[1] * scale)))
    x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return x[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
