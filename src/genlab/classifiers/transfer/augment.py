"""Random views of grey images for SimCLR and STARTUP, drawn on tensors with torch alone.

SimCLR (Chen et al. 2020, Appendix A) composes a random resized crop, colour distortion
and blur; STARTUP's released code (Phoo & Hariharan 2021) draws the target views with a random
resized crop, brightness/contrast/colour jitter and a horizontal flip. For 28×28 grey strokes
(digits, characters) :class:`ViewAugmentation` keeps what carries over and leaves out what does not:

* a random resized crop — a window of a fraction of the image's area uniform in ``crop_scale`` and
  a log-uniform aspect ratio in [3/4, 4/3] (narrowed where the window would not fit), placed
  uniformly inside the image, resized back to the full size (bilinear); ``crop_scale: [1, 1]``
  keeps the whole image;
* a rotation by an angle uniform in [−``rotation``, ``rotation``] degrees (standing in for the
  flip: a mirrored character is another character);
* brightness and contrast jitter (the grey part of colour jitter): the image is multiplied by
  b ~ U[1 − ``brightness``, 1 + ``brightness``], then its deviation from its mean grey level by
  c ~ U[1 − ``contrast``, 1 + ``contrast``], and clamped to the input range.

Crop and rotation are one affine map per image, applied by ``affine_grid`` / ``grid_sample`` with
zero padding (the black background of strokes bright on black). Every draw comes from the
``generator`` given (default: torch's global generator, which the trainer seeds and checkpoints).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from genlab.utils import checks

#: the aspect-ratio range of the random resized crop (SimCLR's, after Szegedy et al. 2015)
ASPECT = (3 / 4, 4 / 3)


class ViewAugmentation:
    """``view = augmentation(x)``: x (B, C, H, W) in ``bounds`` -> one random view of each image."""

    def __init__(self, crop_scale: Sequence[float] = (0.5, 1.0), rotation: float = 15.0, brightness: float = 0.4,
                 contrast: float = 0.4, bounds: tuple[float, float] = (0.0, 1.0)) -> None:
        if len(crop_scale) != 2:
            raise checks.ImpossibleValue("crop_scale", "must be two fractions [low, high]", list(crop_scale))
        low, high = float(crop_scale[0]), float(crop_scale[1])
        checks.positive("crop_scale", low)
        checks.at_most("crop_scale", high, 1.0)
        checks.at_most("crop_scale", low, high, bound="its upper end")
        checks.non_negative("rotation", rotation)
        checks.at_most("rotation", rotation, 180.0)
        checks.in_unit_interval("brightness", brightness)
        checks.in_unit_interval("contrast", contrast)
        self.crop_scale, self.rotation = (low, high), float(rotation)
        self.brightness, self.contrast, self.bounds = float(brightness), float(contrast), bounds

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"expected images (B, C, H, W), got shape {tuple(x.shape)}")
        b = x.shape[0]
        theta = self.affine(b, generator).to(x.device, x.dtype)  # (B, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
        view = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # (B, C, H, W)
        return self.jitter(view, generator)

    def affine(self, b: int, generator: torch.Generator | None = None) -> Tensor:
        """(B, 2, 3): output coordinates -> input coordinates, both in [−1, 1] (``affine_grid``'s
        convention): a rotation by φ, then scaling by the crop's half-widths (s_x, s_y) and a shift
        t that keeps the window inside the image."""
        u = torch.rand(b, 5, generator=generator, dtype=torch.float64)  # (B, 5) uniforms
        low, high = self.crop_scale
        area = low + (high - low) * u[:, 0]  # (B,) fraction of the image
        # log-uniform aspect ratio in ASPECT ∩ [area, 1/area], so the window fits: s_x, s_y ≤ 1
        lo = torch.clamp(torch.log(area), min=math.log(ASPECT[0]))  # (B,)
        hi = torch.clamp(-torch.log(area), max=math.log(ASPECT[1]))  # (B,)
        ratio = torch.exp(lo + (hi - lo) * u[:, 1])  # (B,) width / height
        s_x = torch.sqrt(area * ratio)  # (B,) window width / image width
        s_y = torch.sqrt(area / ratio)  # (B,)
        t_x = (1 - s_x) * (2 * u[:, 2] - 1)  # (B,) window centre, inside the image
        t_y = (1 - s_y) * (2 * u[:, 3] - 1)
        phi = math.radians(self.rotation) * (2 * u[:, 4] - 1)  # (B,)
        cos, sin = torch.cos(phi), torch.sin(phi)
        theta = torch.stack([torch.stack([s_x * cos, -s_x * sin, t_x], 1),
                             torch.stack([s_y * sin, s_y * cos, t_y], 1)], 1)  # (B, 2, 3)
        return theta.float()

    def jitter(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Brightness, then contrast about each image's mean, clamped to ``bounds``."""
        u = torch.rand(x.shape[0], 2, generator=generator).to(x.device, x.dtype)  # (B, 2)
        shape = (-1,) + (1,) * (x.ndim - 1)
        brightness = (1 + self.brightness * (2 * u[:, 0] - 1)).view(shape)  # (B, 1, 1, 1)
        contrast = (1 + self.contrast * (2 * u[:, 1] - 1)).view(shape)
        x = x * brightness
        mean = x.mean(dim=tuple(range(1, x.ndim)), keepdim=True)  # (B, 1, 1, 1)
        return ((x - mean) * contrast + mean).clamp(*self.bounds)
