"""Toy 2D distributions, registered in ``DATASETS`` as ``points``.

Each generator is a seeded NumPy function ``(n, rng) -> (n, 2) float32``; the training set uses
``np.random.default_rng([seed, 0])`` and the held-out set ``np.random.default_rng([seed, 1])``,
so the same seed gives the same arrays and the two sets never share a stream. All sets are
roughly centred with coordinates in [-4, 4].
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from genlab.data.bundle import DataBundle
from genlab.data.registry import DATASETS
from genlab.modalities.points import PointsModality
from genlab.registry import Registry

#: name -> fn(n, rng) -> (n, 2) array
TOY_2D: Registry[np.ndarray] = Registry("toy 2D distribution")


@TOY_2D.register("8gaussians")
def eight_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    """Eight Gaussians (std 0.2) centred on a circle of radius 2.5."""
    angles = 2 * np.pi * rng.integers(0, 8, n) / 8
    centers = 2.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return centers + 0.2 * rng.standard_normal((n, 2))


@TOY_2D.register("checkerboard")
def checkerboard(n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform on the dark squares of a 4×4 board covering [-2, 2]²."""
    x = rng.uniform(-2, 2, n)
    column = np.floor(x)  # -2, -1, 0, 1
    row = 2 * rng.integers(0, 2, n) - 2 + (column % 2)  # same parity as the column
    y = row + rng.uniform(0, 1, n)
    return np.stack([x, y], axis=1)


@TOY_2D.register("moons")
def moons(n: int, rng: np.random.Generator) -> np.ndarray:
    """Two interleaved half circles (noise 0.05), scaled by 1.5 and centred."""
    upper = rng.random(n) < 0.5
    a = rng.uniform(0, np.pi, n)
    x = np.where(upper, np.cos(a), 1 - np.cos(a))
    y = np.where(upper, np.sin(a), 0.5 - np.sin(a))
    pts = np.stack([x - 0.5, y - 0.25], axis=1) * 1.5
    return pts + 0.05 * 1.5 * rng.standard_normal((n, 2))


@TOY_2D.register("circles")
def circles(n: int, rng: np.random.Generator) -> np.ndarray:
    """Two concentric circles of radii 1 and 2.5 (noise 0.08)."""
    radius = np.where(rng.random(n) < 0.5, 1.0, 2.5)
    a = rng.uniform(0, 2 * np.pi, n)
    return radius[:, None] * np.stack([np.cos(a), np.sin(a)], axis=1) + 0.08 * rng.standard_normal((n, 2))


@TOY_2D.register("swissroll")
def swissroll(n: int, rng: np.random.Generator) -> np.ndarray:
    """The 2D Swiss roll r = θ, θ ∈ [1.5π, 4.5π], scaled by 1/4 (noise 0.1)."""
    theta = 1.5 * np.pi * (1 + 2 * rng.random(n))
    pts = np.stack([theta * np.cos(theta), theta * np.sin(theta)], axis=1) / 4
    return pts + 0.1 * rng.standard_normal((n, 2))


@TOY_2D.register("2spirals")
def two_spirals(n: int, rng: np.random.Generator) -> np.ndarray:
    """Two interleaved Archimedean spirals (the second rotated by π), noise 0.1."""
    r = np.sqrt(rng.random(n)) * 3 * np.pi
    sign = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    pts = sign[:, None] * np.stack([-np.cos(r) * r, np.sin(r) * r], axis=1) / 3
    return pts + 0.1 * rng.standard_normal((n, 2))


@TOY_2D.register("pinwheel")
def pinwheel(n: int, rng: np.random.Generator) -> np.ndarray:
    """Five arms: radial N(1, 0.3²), tangential N(0, 0.05²), rotated by 0.25·exp(radius)."""
    arm = rng.integers(0, 5, n)
    radial = 1.0 + 0.3 * rng.standard_normal(n)
    tangential = 0.05 * rng.standard_normal(n)
    angle = 2 * np.pi * arm / 5 + 0.25 * np.exp(radial)
    c, s = np.cos(angle), np.sin(angle)
    return 2 * np.stack([c * radial - s * tangential, s * radial + c * tangential], axis=1)


def make_points(dataset: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of a toy distribution as (n, 2) float32."""
    return np.asarray(TOY_2D.get(dataset)(n, rng), dtype=np.float32)


class TensorItems(Dataset):
    """Items are the rows of one tensor; the default collate stacks them into a batch."""

    def __init__(self, data: torch.Tensor) -> None:
        self.data = data

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.data[i]


@DATASETS.register("points")
def points(dataset: str = "8gaussians", n_train: int = 20000, n_heldout: int = 5000, seed: int = 0) -> DataBundle:
    """A toy 2D dataset; batches are (B, 2) float tensors."""
    train = make_points(dataset, n_train, np.random.default_rng([seed, 0]))
    heldout = make_points(dataset, n_heldout, np.random.default_rng([seed, 1]))
    return DataBundle(
        modality=PointsModality(dim=2),
        train=TensorItems(torch.from_numpy(train)),
        heldout=TensorItems(torch.from_numpy(heldout)),
        info={"dataset": dataset, "seed": seed},
    )

