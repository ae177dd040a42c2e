"""``train(config, out)``: one config in, one run directory out (layout: :mod:`genlab.sampling.run_dir`).

The loop is Lightning's; this file only wires it up:

1. seed everything, build the data bundle and the family from the config (:mod:`genlab.build`);
2. write the resolved config to ``RUN/config.json``;
3. feed :class:`~genlab.training.module.FamilyModule` from a seeded, resumable batch stream;
4. fit with EMA of the weights, gradient clipping, safetensors checkpoints, CSV + TensorBoard logs;
5. write the modality to ``RUN/modality.json`` and the EMA weights to ``RUN/weights.safetensors``,
   and return a :class:`~genlab.sampling.run.Run`.

``train(None, out, resume=True)`` continues ``RUN/checkpoints/last`` to ``train.max_steps``; on
CPU with ``deterministic: true`` the final weights equal those of an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator, Mapping

import lightning as L
import torch
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import DataLoader

from genlab.errors import ConfigError, GenlabError
from genlab.training.checkpoint import (
    LastCheckpoint,
    SafetensorsCheckpointIO,
    checkpoint_exists,
    load_tree,
    save_weights,
    write_json,
)
from genlab.training.config import BUDGET_KEYS, RESUMABLE_KEYS, TrainConfig
from genlab.training.ema import WarmupEMA
from genlab.training.module import FamilyModule
from genlab.training.resume import SeededBatchStream
from genlab.sampling.run import Run
from genlab.sampling.run_dir import RunDir
from genlab.utils.atomic import remove_stray_temporaries


def train(config: Mapping[str, Any] | None, out: str | Path, resume: bool = False, progress: bool = True) -> Run:
    """Train the family that ``config`` describes into the run directory ``out``.

    With ``resume=True``, ``config`` may be ``None`` (use ``RUN/config.json``) or that config with
    changed ``train`` keys among :data:`~genlab.training.config.RESUMABLE_KEYS` (e.g. a larger
    ``max_steps``).
    """
    from genlab.build import build_family, resolve_config  # imports every registry

    run = RunDir(Path(out))
    if resume:
        config = _resume_config(run, config)
    elif run.config.exists() and _first_process():  # DDP: other processes find rank 0's config
        raise GenlabError("already holds a run; resume it with --resume or choose another --out", path=run.root)
    if config is None:
        raise ConfigError("no config given")
    if _first_process():  # what a killed save left: hidden temporaries beside the files it replaces
        for folder in (run.root, run.checkpoint.parent):
            remove_stray_temporaries(folder)
    cfg = TrainConfig.from_dict(config.get("train"))

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    family, bundle = build_family(config)
    if len(bundle.train) == 0:
        raise ConfigError("the training set is empty", key="data")
    resolved = resolve_config(config)
    resolved["train"] = cfg.to_dict()
    if _first_process():
        write_json(run.config, resolved)

    module = FamilyModule(family, cfg)
    stream = SeededBatchStream(len(bundle.train), cfg.batch_size, cfg.seed, position=lambda: module.iteration,
                               shard=lambda: (module.global_rank, module.trainer.world_size))
    loader = DataLoader(
        bundle.train, batch_sampler=stream, collate_fn=bundle.collate, num_workers=cfg.num_workers,
        persistent_workers=cfg.num_workers > 0, generator=torch.Generator().manual_seed(cfg.seed),
    )
    val_loader = None
    if cfg.val_every > 0 and len(bundle.heldout) > 0:
        val_loader = DataLoader(bundle.heldout, batch_size=cfg.batch_size, shuffle=False,
                                collate_fn=bundle.collate, num_workers=cfg.num_workers)

    with _quiet(), _kept_metrics(run.logs / "metrics.csv", resume):
        trainer = L.Trainer(**_trainer_arguments(cfg, run, module, val_loader is not None, progress))
        trainer.fit(module, train_dataloaders=loader, val_dataloaders=val_loader,
                    ckpt_path=str(run.checkpoint) if resume else None)
    if trainer.interrupted:
        raise KeyboardInterrupt
    # the last checkpoint (written after the final iteration) holds the EMA weights in its
    # state_dict; reading them from there also covers a resume that had nothing left to do
    final = load_tree(run.checkpoint)
    family.load_state_dict(FamilyModule.family_weights(final["state_dict"]))
    if trainer.global_rank != 0:
        return Run.from_trained(run.root, resolved, family, bundle)
    run.write_modality(family.modality)  # before the weights, whose presence marks a finished run
    save_weights(family.state_dict(), run.weights, metadata={"iteration": str(final["genlab"]["iteration"])})
    run.samples.mkdir(exist_ok=True)
    run.plots.mkdir(exist_ok=True)
    return Run.from_trained(run.root, resolved, family, bundle)


def _trainer_arguments(cfg: TrainConfig, run: RunDir, module: FamilyModule, validate: bool, progress: bool) -> dict[str, Any]:
    callbacks: list[Any] = []
    if cfg.ema_decay is not None:
        # buffers (noise schedules, counters) follow the model; only parameters are averaged
        callbacks.append(WarmupEMA(decay=cfg.ema_decay))
    callbacks.append(LastCheckpoint(run.checkpoint, every=cfg.checkpoint_every, max_steps=cfg.max_steps))
    if progress:
        callbacks.append(_IterationProgressBar(cfg.max_steps))
    automatic = module.automatic_optimization
    return dict(
        default_root_dir=run.root,
        # adversarial families step two optimizers per iteration, which global_step counts twice;
        # FamilyModule stops them itself after max_steps iterations
        max_steps=cfg.max_steps if automatic else -1,
        max_epochs=-1,  # the batch stream is endless: one epoch, ended by max_steps
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        num_nodes=cfg.num_nodes,
        strategy=cfg.strategy,
        max_time=None if cfg.max_minutes is None else timedelta(minutes=cfg.max_minutes),
        precision=cfg.precision,
        # CPU only: several CUDA kernels (e.g. upsampling backward) have no deterministic version
        deterministic=cfg.deterministic and _on_cpu(cfg.accelerator),
        gradient_clip_val=cfg.grad_clip if automatic else None,  # manual mode clips in the module
        gradient_clip_algorithm="norm",
        logger=[CSVLogger(run.logs, name="", version=""),
                TensorBoardLogger(run.logs, name="tensorboard", version="", default_hp_metric=False)],
        callbacks=callbacks,
        plugins=[SafetensorsCheckpointIO()],
        log_every_n_steps=cfg.log_every,
        val_check_interval=cfg.val_every if validate else None,
        check_val_every_n_epoch=None,
        limit_val_batches=cfg.val_batches if validate else 0,
        num_sanity_val_steps=0,
        enable_progress_bar=progress,
        enable_model_summary=False,
        use_distributed_sampler=False,
    )


def _first_process() -> bool:
    """Whether this is the global-rank-0 process as the launcher set it (torchrun: RANK; Lightning's
    own DDP launcher: NODE_RANK and LOCAL_RANK); true outside distributed training."""
    if "RANK" in os.environ:
        return os.environ["RANK"] == "0"
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def _on_cpu(accelerator: str) -> bool:
    if accelerator == "auto":
        return not (torch.cuda.is_available() or torch.backends.mps.is_available())
    return accelerator == "cpu"


def _resume_config(run: RunDir, config: Mapping[str, Any] | None) -> dict[str, Any]:
    from genlab.build import resolve_config

    saved = run.read_config()
    if not checkpoint_exists(run.checkpoint):
        raise GenlabError("nothing to resume: no checkpoints/last.safetensors + last.json", path=run.root)
    if config is None:
        return saved
    config = resolve_config(config)
    config["train"] = TrainConfig.from_dict(config.get("train")).to_dict()
    for section in sorted(set(saved) | set(config)):
        if section == "train":
            continue
        if config.get(section) != saved.get(section):
            raise ConfigError("cannot change on resume", key=section, path=run.config)
    # a key the saved run predates counts as its default (runs from older genlab versions resume)
    old, new = {**TrainConfig().to_dict(), **saved.get("train", {})}, dict(config.get("train") or {})
    resumable = RESUMABLE_KEYS
    if old.get("lr_schedule", "constant") != "constant":  # the budget sets the decay's length
        resumable = RESUMABLE_KEYS - BUDGET_KEYS
    for key in sorted(set(old) | set(new)):
        if key in new and new[key] != old.get(key) and key not in resumable:
            why = " with a decaying lr_schedule" if key in BUDGET_KEYS else ""
            raise ConfigError(
                f"cannot change on resume{why} (only {', '.join(sorted(resumable))} can)",
                key=f"train.{key}", path=run.config,
            )
    return {**config, "train": {**old, **new}}


class _IterationProgressBar(TQDMProgressBar):
    """Lightning's bar, counting iterations out of ``max_steps`` (the batch stream has no length)."""

    def __init__(self, max_steps: int) -> None:
        super().__init__(refresh_rate=10)
        self.max_steps = max_steps

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_train_epoch_start(trainer, pl_module)
        self.train_progress_bar.reset(total=self.max_steps)
        self.train_progress_bar.n = pl_module.iteration
        self.train_progress_bar.set_description("train")

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        n = pl_module.iteration
        if n % self.refresh_rate == 0 or n >= self.max_steps:
            self.train_progress_bar.n = n
            self.train_progress_bar.set_postfix(self.get_metrics(trainer, pl_module))
            self.train_progress_bar.refresh()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence Lightning's informational banner and notices that do not apply to genlab's setup."""
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    logger.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        for message in (
            ".*does not have many workers.*",  # num_workers is a config key; 0 is a fine choice
            ".*Experiment logs directory.*exists and is not empty.*",  # resume: see _kept_metrics
            ".*You are using a CUDA device.*Tensor Cores.*",
            ".*GPU available but not used.*",
            ".*validation_step` but have no `val_dataloader`.*",  # val_every: 0
            r".*isinstance\(treespec, LeafSpec\).*",  # Lightning internals vs torch 2.13
        ):
            warnings.filterwarnings("ignore", message=message)
        try:
            yield
        finally:
            logger.setLevel(level)


@contextlib.contextmanager
def _kept_metrics(path: Path, resume: bool) -> Iterator[None]:
    """Lightning's CSV logger starts ``metrics.csv`` afresh; on resume keep the earlier rows."""
    previous = path.with_name("metrics.before-resume.csv")
    if resume and path.is_file():
        path.replace(previous)
    try:
        yield
    finally:
        if previous.is_file():
            _merge_csv(previous, path)
            previous.unlink()


def _merge_csv(earlier: Path, later: Path) -> None:
    def rows(file: Path) -> list[dict[str, str]]:
        if not file.is_file():
            return []
        with file.open(newline="") as f:
            return list(csv.DictReader(f))

    old, new = rows(earlier), rows(later)
    first_new = min((int(r["step"]) for r in new if r.get("step")), default=None)
    if first_new is not None:  # rows logged after the checkpoint by the interrupted run
        old = [r for r in old if not r.get("step") or int(r["step"]) < first_new]
    fields = sorted({k for r in old + new for k in r})
    with later.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(old + new)
