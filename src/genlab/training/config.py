"""The ``train`` section of a config: one dataclass whose fields are the keys.

Unknown keys and wrong types are :class:`~genlab.errors.ConfigError`\\ s naming ``train.<key>``;
impossible values (a negative learning rate, an EMA decay of 1.5) are rejected here too, before
any data is loaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from genlab.config import typed_kwargs
from genlab.errors import ConfigError
from genlab.registry import check_kwargs
from genlab.training.lr_schedule import LR_DECAYS
from genlab.utils.checks import (ImpossibleValue, at_least, at_most, finite, in_unit_interval, non_negative, one_of,
                                 positive)

#: keys that may change when a run is resumed: they do not alter the optimisation trajectory
RESUMABLE_KEYS = frozenset(
    {"max_steps", "max_minutes", "log_every", "checkpoint_every", "val_every", "val_batches", "num_workers"}
)
#: keys that set the length of a decaying learning-rate schedule: fixed on resume unless it is constant
BUDGET_KEYS = frozenset({"max_steps", "max_minutes"})

#: seeds numpy (and so Lightning's seed_everything) accepts: 0 .. 2**32 - 1
MAX_SEED = 2**32 - 1
#: Lightning's accelerator and precision names
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
PRECISIONS = ("32-true", "64-true", "16-true", "bf16-true", "16-mixed", "bf16-mixed", "transformer-engine",
              "transformer-engine-float16")


@dataclass(frozen=True)
class TrainConfig:
    """How to optimise a family. ``max_steps`` counts training iterations (data batches); an
    adversarial iteration takes one step of each of its optimizers."""

    max_steps: int = 1000
    batch_size: int = 256
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)  # AdamW (beta1, beta2)
    weight_decay: float = 0.0  # AdamW's decoupled weight decay
    warmup_steps: int = 0  # linear warm-up of the learning rate from lr/warmup_steps to lr
    lr_schedule: str = "constant"  # after warm-up: "constant", "linear" or "cosine" decay over the budget
    lr_final_ratio: float = 0.0  # a decaying schedule ends at lr * lr_final_ratio (training/lr_schedule.py)
    ema_decay: float | None = 0.999  # EMA of the weights used for sampling; null: no EMA
    grad_clip: float | None = 1.0  # max global gradient norm; null: no clipping
    seed: int = 0
    log_every: int = 50  # iterations between logged training metrics
    checkpoint_every: int = 500  # iterations between RUN/checkpoints/last.*; also at the end
    val_every: int = 0  # iterations between held-out losses; 0: never
    val_batches: int = 4  # held-out batches per validation
    num_workers: int = 0  # DataLoader worker processes
    precision: str = "32-true"  # Lightning precision: "32-true", "bf16-mixed", "16-mixed", ...
    accelerator: str = "auto"  # "cpu", "gpu", "auto"
    devices: int = 1  # processes per node; batch_size is the global batch, split across all of them
    num_nodes: int = 1
    strategy: str = "auto"  # Lightning strategy: "auto", "ddp", ... (docs/distributed.md)
    max_minutes: float | None = None  # wall-clock budget: stop after this many minutes (or max_steps)
    deterministic: bool = True  # on CPU, torch.use_deterministic_algorithms: bit-identical resume

    @classmethod
    def from_dict(cls, section: Mapping[str, Any] | None) -> "TrainConfig":
        """Build from a config's ``train`` mapping; unknown keys and wrong types raise."""
        if section is not None and not isinstance(section, Mapping):
            raise ConfigError(f"the train section must be a mapping, got {section!r}", key="train")
        section = dict(section or {})
        check_kwargs(cls, section, section="train")
        kwargs = typed_kwargs(cls, section, section="train")
        if "betas" in kwargs:
            kwargs["betas"] = _betas(kwargs["betas"])
        config = cls(**kwargs)
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        """Every key with its value (defaults filled in): what a resolved config records."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out

    def validate(self) -> None:
        try:
            self._check_values()
        except ImpossibleValue as exc:
            raise ConfigError(exc.reason, key=f"train.{exc.argument}") from None

    def _check_values(self) -> None:
        for key in ("max_steps", "batch_size", "log_every", "checkpoint_every", "val_batches", "devices",
                    "num_nodes"):
            at_least(key, getattr(self, key), 1)
        for key in ("warmup_steps", "val_every", "num_workers"):
            non_negative(key, getattr(self, key))
        non_negative("weight_decay", self.weight_decay)
        finite("weight_decay", self.weight_decay)
        positive("lr", self.lr)
        finite("lr", self.lr)
        one_of("lr_schedule", self.lr_schedule, LR_DECAYS)
        in_unit_interval("lr_final_ratio", self.lr_final_ratio)
        if self.ema_decay is not None:
            in_unit_interval("ema_decay", self.ema_decay, closed_high=False)
        if self.grad_clip is not None:
            positive("grad_clip", self.grad_clip)
        if self.max_minutes is not None:
            positive("max_minutes", self.max_minutes)
        non_negative("seed", self.seed)
        at_most("seed", self.seed, MAX_SEED)
        one_of("accelerator", self.accelerator, ACCELERATORS)
        one_of("precision", self.precision, PRECISIONS)


def _betas(value: Any) -> tuple[float, float]:
    if len(value) != 2 or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in value):
        raise ConfigError(f"expected two numbers [beta1, beta2], got {value!r}", key="train.betas")
    beta1, beta2 = float(value[0]), float(value[1])
    if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
        raise ConfigError(f"each beta must be in [0, 1), got {value!r}", key="train.betas")
    return beta1, beta2
