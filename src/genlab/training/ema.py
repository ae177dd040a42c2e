"""EMA of the weights with warm-up, on Lightning's own weight-averaging callback.

θ_ema ← d_n θ_ema + (1 - d_n) θ with d_n = min(decay, (1 + n) / (10 + n)) after n updates — the
warm-up of TensorFlow's ``ExponentialMovingAverage(num_updates=...)``, also used by the
score-SDE and diffusers code. Without it a decay of 0.999 leaves the average dominated by the
random initialisation for the first few thousand steps (a 500-step run samples from weights that
are still ~60% initial), which matters for genlab's short CPU budgets. For long runs d_n reaches
``decay`` after about 10 / (1 - decay) updates and the average is the plain EMA.
"""

from __future__ import annotations

from lightning.pytorch.callbacks import WeightAveraging
from torch import Tensor


def warmup_decay(decay: float, n_averaged: int | Tensor) -> float | Tensor:
    """d_n = min(decay, (1 + n) / (10 + n))."""
    warm = (1 + n_averaged) / (10 + n_averaged)
    return min(decay, warm) if isinstance(warm, float) else warm.clamp(max=decay)


class WarmupEMA(WeightAveraging):
    """EMA of the parameters (buffers follow the model), updated after every optimizer step."""

    def __init__(self, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay

        def average(ema: Tensor, current: Tensor, n_averaged: Tensor) -> Tensor:
            d = warmup_decay(decay, n_averaged.to(ema.dtype))
            return d * ema + (1 - d) * current

        super().__init__(use_buffers=False, avg_fn=average)

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return step_idx is not None
