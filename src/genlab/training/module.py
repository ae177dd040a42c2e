"""``FamilyModule``: the one LightningModule that trains every family.

It knows the trainable contract (:mod:`genlab.trainable`) and nothing else:

* ``loss, metrics = family(batch)`` for a family with ``n_optimizers == 1`` (Lightning's
  automatic optimisation: backward, gradient clipping, AdamW step, learning-rate schedule);
* for ``n_optimizers == 2`` (adversarial families) an explicit manual-optimisation step driven by
  the **adversarial hook** below.

The adversarial hook
--------------------
A family with ``n_optimizers = 2`` implements two methods:

``family.optimizer_parameters() -> list`` of length ``n_optimizers``; entry i is what
``torch.optim.AdamW`` takes for optimizer i: an iterable of parameters, or of param-group dicts
(a group may set its own ``"lr"``). Optional when ``n_optimizers == 1`` (default: all
parameters).

``family.adversarial_losses(batch, step) -> Iterator[AdversarialLoss]``, a *generator*: each
yielded :class:`AdversarialLoss` names the optimizer to step and the loss to minimise. The
trainer zeroes that optimizer's gradients, back-propagates, clips, and steps it before asking
for the next phase, so a later phase sees the parameters an earlier one just updated. A phase
naming a tuple of optimizers (``optimizer=(0, 1)``: one loss for both, MCD's step A) zeroes,
clips and steps each of them after one backward pass::

    def adversarial_losses(self, batch, step):
        x_real = ...; x_fake = self.generator(z)                  # (B, D)
        d_loss = ...discriminator on x_real, x_fake.detach()...
        yield AdversarialLoss(optimizer=1, loss=d_loss, metrics={"d_loss": d_loss.item()})
        if step % self.n_critic == 0:                              # skip a phase freely
            g_loss = ...discriminator (updated) on self.generator(z)...
            yield AdversarialLoss(optimizer=0, loss=g_loss, metrics={"g_loss": g_loss.item()})

``step`` is the training iteration (0, 1, 2, ...). While optimizer i steps, the parameters of the
other optimizers do not require gradients (Lightning's ``toggle_optimizer``). Every optimizer
gets the same learning-rate schedule (warm-up, then ``train.lr_schedule``), stepped once per iteration.

Two optional family hooks
-------------------------
``family.make_optimizer(params, train_config) -> Optimizer`` builds optimizer i from its
parameters in place of AdamW (a continual learner's plain SGD); ``family.before_optimizer_step()``
runs after backward and before gradient clipping and the step (a continual method projecting the
gradients in place).

EMA of the weights (with warm-up) is :class:`~genlab.training.ema.WarmupEMA`, a Lightning
``WeightAveraging`` callback (see
:mod:`genlab.training.trainer`); after ``fit`` the module holds the EMA weights.
"""

from __future__ import annotations

from typing import Any, Iterable

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Timer
from torch import Tensor

from genlab.errors import GenlabError
from genlab.trainable import Trainable
from genlab.training.config import TrainConfig
from genlab.training.lr_schedule import budget_progress, lr_factor
from genlab.sampling.weights import check_tensors
from genlab.training.resume import rng_states, set_rng_states


class FamilyModule(L.LightningModule):
    """Trains ``family`` with the settings of a :class:`TrainConfig`."""

    def __init__(self, family: Trainable, train: TrainConfig) -> None:
        super().__init__()
        self.family = family
        self.train_config = train
        self.automatic_optimization = family.n_optimizers == 1
        self.iteration = 0  # training batches done; saved in checkpoints
        self._pending_rng: dict[str, Any] | None = None

    # --- optimisation ---------------------------------------------------------------------------

    def configure_optimizers(self) -> Any:
        cfg = self.train_config
        groups = self._optimizer_parameters()
        make = getattr(self.family, "make_optimizer", None)
        optimizers = [
            make(params, cfg) if make is not None
            else torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
            for params in groups
        ]
        schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, self._lr_factor) for opt in optimizers]
        if self.automatic_optimization:
            return {"optimizer": optimizers[0], "lr_scheduler": {"scheduler": schedulers[0], "interval": "step"}}
        return optimizers, [{"scheduler": s, "interval": "step"} for s in schedulers]

    def _lr_factor(self, step: int) -> float:
        """Learning-rate factor: linear warm-up, then ``train.lr_schedule`` over the step or
        wall-clock budget (:mod:`genlab.training.lr_schedule`)."""
        cfg = self.train_config
        progress = budget_progress(step, cfg.warmup_steps, cfg.max_steps, self._training_seconds(), cfg.max_minutes)
        return lr_factor(cfg.lr_schedule, step, cfg.warmup_steps, progress, cfg.lr_final_ratio)

    def _training_seconds(self) -> float | None:
        """Training time so far from Lightning's ``max_time`` timer (restored on resume), if any."""
        trainer = self._trainer
        for callback in (trainer.callbacks if trainer is not None else []):
            if isinstance(callback, Timer):
                return callback.time_elapsed("train")
        return None

    def _optimizer_parameters(self) -> list[Iterable[Any]]:
        n = self.family.n_optimizers
        if hasattr(self.family, "optimizer_parameters"):
            groups = list(self.family.optimizer_parameters())
        elif n == 1:
            groups = [self.family.parameters()]
        else:
            raise TypeError(f"{type(self.family).__name__} has n_optimizers={n} but no optimizer_parameters()")
        if len(groups) != n:
            raise TypeError(f"{type(self.family).__name__}.optimizer_parameters() gave {len(groups)} groups for {n} optimizers")
        return groups

    def training_step(self, batch: Any, batch_idx: int) -> Tensor | None:
        if self.automatic_optimization:
            loss, metrics = self.family(batch)
            self._check_finite(loss, "loss")
            self._log("train", {"loss": loss.detach(), **metrics})
            self.iteration += 1
            return loss
        self._adversarial_step(batch)
        self.iteration += 1
        if self.iteration >= self.train_config.max_steps:
            self.trainer.should_stop = True  # global_step counts optimizer steps, not iterations
        return None

    def _adversarial_step(self, batch: Any) -> None:
        optimizers = self.optimizers()
        clip = self.train_config.grad_clip
        logged: dict[str, Any] = {}
        for phase in self.family.adversarial_losses(batch, self.iteration):
            opts = [optimizers[i] for i in phase.indices()]
            name = "_".join(str(i) for i in phase.indices())
            self._check_finite(phase.loss, f"loss of optimizer {name}")
            if len(opts) == 1:  # a loss of several optimizers trains all their parameters
                self.toggle_optimizer(opts[0])
            for opt in opts:
                opt.zero_grad(set_to_none=True)
            self.manual_backward(phase.loss)
            for opt in opts:
                if clip is not None:
                    self.clip_gradients(opt, gradient_clip_val=clip, gradient_clip_algorithm="norm")
                opt.step()
            if len(opts) == 1:
                self.untoggle_optimizer(opts[0])
            logged[f"loss_{name}"] = phase.loss.detach()
            logged.update(phase.metrics)
        for scheduler in self.lr_schedulers():
            scheduler.step()
        self._log("train", logged)

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        hook = getattr(self.family, "before_optimizer_step", None)  # e.g. a gradient projection
        if hook is not None:
            hook()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """Held-out loss with fixed noise (the same for every validation) and without touching
        the global generators, so validation never changes the training trajectory."""
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.train_config.seed + batch_idx)
            loss, metrics = self.family(batch)
        self._log("val", {"loss": loss, **metrics}, on_step=False, on_epoch=True)

    def _log(self, prefix: str, values: dict[str, Any], on_step: bool = True, on_epoch: bool = False) -> None:
        # DDP: each process holds a shard of the global batch; log the mean over processes
        sync = self._trainer is not None and self.trainer.world_size > 1
        self.log_dict(
            {f"{prefix}/{k}": v for k, v in values.items()},
            on_step=on_step, on_epoch=on_epoch, batch_size=self.train_config.batch_size, sync_dist=sync,
        )
        if prefix == "train" and "loss" in values:
            self.log("loss", values["loss"], prog_bar=True, logger=False, batch_size=self.train_config.batch_size,
                     sync_dist=sync)

    def _check_finite(self, loss: Tensor, what: str) -> None:
        if not torch.isfinite(loss).all():
            raise GenlabError(
                f"{what} is {loss.item()} at training step {self.iteration}; stopped, checkpoints/last keeps "
                "the last saved state; lower train.lr or set train.grad_clip"
            )

    @staticmethod
    def family_weights(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
        """The family's own state dict from this module's (names without the ``family.`` prefix)."""
        return {k[len("family."):]: v for k, v in state_dict.items() if k.startswith("family.")}

    # --- resume state ---------------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["genlab"] = {"iteration": self.iteration, "rng": rng_states()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("genlab")
        if state is None:
            raise GenlabError("checkpoint was not written by genlab's trainer (no 'genlab' entry)")
        expected = self.state_dict()
        for key in ("state_dict", "current_model_state"):
            if key in checkpoint:
                check_tensors(expected, checkpoint[key], path=None)
        self.iteration = int(state["iteration"])
        self._pending_rng = state["rng"]

    def on_train_start(self) -> None:
        # set last, after Lightning's setup, so the first resumed batch sees the saved states
        if self._pending_rng is not None:
            set_rng_states(self._pending_rng)
            self._pending_rng = None
        if self.trainer.world_size > 1:  # DDP: each process draws its own noise for its shard
            torch.manual_seed(int(np.random.SeedSequence([self.train_config.seed, self.iteration, self.global_rank])
                                  .generate_state(1)[0]))
