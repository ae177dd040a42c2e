"""Figures of samples: points as a scatter plot beside a 2D density histogram, images as a grid.

Each modality's evaluator (:mod:`genlab.evaluation.registry`) picks its figure; these functions
only draw. Figures are drawn with matplotlib's object API (no pyplot, no global backend state)
and saved atomically.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from genlab.utils.atomic import atomic_write_bytes


def plot_points(samples: Any, path: str | Path, *, reference: Any = None, title: str | None = None) -> Path:
    """Scatter (samples over grey reference points) and a 2D histogram of the first two coordinates."""
    x = _numpy(samples)[:, :2]  # (n, 2)
    ref = None if reference is None else _numpy(reference)[:, :2]
    lo, hi = _extent(x if ref is None else ref)
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    scatter, density = fig.subplots(1, 2)
    if ref is not None:
        scatter.scatter(ref[:, 0], ref[:, 1], s=2, c="0.75", label="data", rasterized=True)
    scatter.scatter(x[:, 0], x[:, 1], s=2, c="C0", label="samples", rasterized=True)
    scatter.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), aspect="equal", title="samples")
    if ref is not None:
        scatter.legend(loc="upper right", markerscale=4)
    bins = int(np.clip(1.5 * np.sqrt(len(x)), 20, 150))
    density.hist2d(x[:, 0], x[:, 1], bins=bins, range=[[lo[0], hi[0]], [lo[1], hi[1]]], cmap="viridis")
    density.set(aspect="equal", title="density of samples")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_images(samples: Any, path: str | Path, *, reference: Any = None, title: str | None = None) -> Path:
    """A square grid of up to 64 images; values in [-1, 1]."""
    x = _numpy(samples)[:64]  # (n, C, H, W)
    n, c, h, w = x.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1, c), 0.5, dtype=np.float32)  # grey borders
    for i, image in enumerate((x.clip(-1, 1) + 1) / 2):
        r, q = divmod(i, cols)
        grid[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + q * (w + 1) : 1 + q * (w + 1) + w] = image.transpose(1, 2, 0)
    fig = Figure(figsize=(0.6 * cols + 0.5, 0.6 * rows + 0.5), layout="constrained")
    ax = fig.subplots()
    ax.imshow(grid[..., 0] if c == 1 else grid, cmap="gray" if c == 1 else None, vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return _save(fig, path)


def _numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def _extent(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds holding 99.8% of ``x`` along each axis, padded by 10%."""
    lo, hi = np.percentile(x, 0.1, axis=0), np.percentile(x, 99.9, axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-6)
    return lo - pad, hi + pad


def _save(fig: Figure, path: str | Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    return atomic_write_bytes(path, buffer.getvalue())
