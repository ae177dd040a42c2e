"""Grey or RGB uint8 images to (N, 32, 32, 3) RGB uint8 with antialiased bilinear resizing."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from genlab.data.digit_domains.registry import SIZE


def to_rgb32(images: np.ndarray, batch: int = 4096) -> np.ndarray:
    """(N, H, W) grey or (N, H, W, 3) RGB uint8 -> (N, 32, 32, 3) uint8."""
    if images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=3)  # (N, H, W, 3)
    out = np.empty((images.shape[0], SIZE, SIZE, 3), dtype=np.uint8)
    for start in range(0, images.shape[0], batch):
        x = torch.from_numpy(np.ascontiguousarray(images[start:start + batch])).permute(0, 3, 1, 2).float()
        if x.shape[-2:] != (SIZE, SIZE):
            x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False)
        out[start:start + batch] = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out
