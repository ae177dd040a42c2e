"""Figures of a classifier's robustness (``genlab evaluate RUN --attack ...`` results), for the report.

* :func:`plot_robust_accuracy`: robust accuracy against the attack's radius ε, one line per attack
  (its settings other than ε), starting from the clean accuracy at ε = 0;
* :func:`plot_examples`: a grid of clean images, their adversarial versions and the perturbations
  (grey is zero; the scale is the largest perturbation shown), with labels and predictions.

Drawn with matplotlib's object API and returned as PNG bytes.
"""

from __future__ import annotations

import io
from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from genlab.evaluation.classifier import describe


def plot_robust_accuracy(result: Mapping[str, Any]) -> bytes | None:
    """Robust accuracy vs ε of every attack with a radius; ``None`` when none has one."""
    lines: dict[str, list[tuple[float, float]]] = {}
    for entry in result["attacks"]:
        if entry["radius"] is None:
            continue
        settings = {k: v for k, v in entry["settings"].items() if k not in ("eps", "xi")}
        inner = settings.get("attack")
        if isinstance(inner, Mapping):
            settings["attack"] = {k: v for k, v in inner.items() if k not in ("eps", "xi")}
        lines.setdefault(describe(settings), []).append((entry["radius"], entry["robust_accuracy"]))
    if not lines:
        return None
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    for label, points in lines.items():
        points = sorted([(0.0, result["clean_accuracy"])] + points)
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.set(xlabel="ε (radius of the threat model)", ylabel="robust accuracy", ylim=(0, 1.02),
           title=f"robust accuracy on {result['n_images']} held-out images")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def plot_examples(examples: Mapping[str, Tensor], title: str = "") -> bytes:
    """Three rows — clean, adversarial, perturbation — of the examples' images (C = 1 or 3)."""
    clean = _hwc(examples["clean"])  # (n, H, W, C) in [0, 1]
    adversarial = _hwc(examples["adversarial"])
    delta = adversarial - clean
    scale = max(float(np.abs(delta).max()), 1e-12)
    shown = delta / (2 * scale) + 0.5  # grey = no change
    n = len(clean)
    fig = Figure(figsize=(1.3 * n + 0.8, 4.4), layout="constrained")
    axes = np.atleast_2d(fig.subplots(3, n, squeeze=False))
    labels = examples["labels"].tolist()
    before, after = examples["clean_predictions"].tolist(), examples["adversarial_predictions"].tolist()
    for i in range(n):
        for row, (images, caption) in enumerate(((clean, f"y={labels[i]} → {before[i]}"),
                                                 (adversarial, f"→ {after[i]}"), (shown, ""))):
            ax = axes[row, i]
            image = images[i]
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(caption, fontsize=8)
    for row, name in enumerate(("clean", "adversarial", f"perturbation (±{scale:.3g})")):
        axes[row, 0].set_ylabel(name, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return _png(fig)


def _hwc(x: Tensor) -> np.ndarray:
    """(n, C, H, W) inputs in [0, 1] -> (n, H, W, C) float array."""
    return x.detach().float().cpu().numpy().transpose(0, 2, 3, 1)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
