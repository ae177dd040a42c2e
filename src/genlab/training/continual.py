"""``train_stream(config, out)``: a config with a ``stream`` section in, one run directory out.

The stream runner trains a continual learner (:mod:`genlab.classifiers.continual`) experience by
experience with the ordinary trainer pieces — :class:`~genlab.training.module.FamilyModule`, a
:class:`~genlab.training.resume.SeededBatchStream` per experience, Lightning with safetensors
checkpoint IO, CSV and TensorBoard logs:

1. seed everything; build the data bundle, the stream (:func:`genlab.build.build_stream`) and the
   learner; write the resolved config to ``RUN/config.json``;
2. score the untrained learner on every experience's test set: row 0 of the accuracy matrix (the
   baseline b of forward transfer);
3. for each experience i: ``method.before_experience``; ``train.max_steps`` iterations on the
   method's training set (logs in ``RUN/experiences/<i>/logs``, appended to ``RUN/logs/metrics.csv``
   with an ``experience`` column and the steps counted over the whole stream; the experience's
   checkpoint is removed once it ends); ``method.after_experience``; score every experience: row
   i + 1, and ``RUN/accuracy_matrix.json`` rewritten;
4. write ``RUN/modality.json`` and ``RUN/weights.safetensors`` (the learner with its method's
   state: Fisher, anchors, bases, coreset) and return a :class:`~genlab.sampling.run.Run`.

A stream runs in one process on one device. Generative replay's generator is trained here as
well (:class:`GeneratorRuns`) and written as the run directory ``RUN/generator``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable, Mapping

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from genlab.build import build_family_from_modality, build_stream, resolve_config
from genlab.classifiers.continual.learner import ContinualLearner
from genlab.classifiers.continual.methods.base import ExperienceContext
from genlab.classifiers.continual.metrics import MATRIX_FILE, matrix_record
from genlab.classifiers.continual.scoring import accuracy_row
from genlab.data.points import TensorItems
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError, GenlabError
from genlab.modalities.base import Modality
from genlab.sampling.run import Run
from genlab.sampling.run_dir import RunDir
from genlab.training.checkpoint import checkpoint_files, save_weights, write_json
from genlab.training.config import TrainConfig
from genlab.training.module import FamilyModule
from genlab.training.resume import SeededBatchStream
from genlab.training.trainer import _quiet, _trainer_arguments
from genlab.utils.atomic import atomic_write


def train_stream(config: Mapping[str, Any], out: str | Path, progress: bool = True) -> Run:
    """Train the continual learner of ``config`` on its stream into the new run directory ``out``."""
    run = RunDir(Path(out))
    if run.config.exists():
        raise GenlabError("already holds a run; choose another --out (a stream cannot be resumed)", path=run.root)
    cfg = TrainConfig.from_dict(config.get("train"))
    if cfg.devices * cfg.num_nodes != 1:
        raise ConfigError("a stream trains in one process on one device", key="train.devices")
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    if "data" not in config:
        raise ConfigError("missing section", key="data")
    DATASETS.load_providers()
    bundle = DATASETS.build(config["data"])
    stream = build_stream(config, bundle)
    learner = build_family_from_modality(config, bundle.modality)
    if not isinstance(learner, ContinualLearner):
        raise ConfigError("a stream trains a continual learner (family.name: continual)", key="family.name")
    resolved = resolve_config(config)
    resolved["train"] = cfg.to_dict()
    write_json(run.config, resolved)

    generators = GeneratorRuns(run.root / "generator", config["data"], bundle.modality, cfg.seed, progress)
    rows = [accuracy_row(learner, stream)]
    for experience in stream:
        seed = _experience_seed(cfg.seed, experience.index)
        context = ExperienceContext(experience.index, len(stream), stream.experiences[: experience.index + 1],
                                    seed, generators)
        learner.begin_experience(experience, context)
        data = learner.method.train_set(experience, context)
        place = run.root / "experiences" / f"{experience.index:02d}"
        fit(learner, data, bundle.collate, cfg, place, seed, progress)
        _append_logs(RunDir(place).logs / "metrics.csv", run.logs / "metrics.csv", experience.index,
                     experience.index * cfg.max_steps)
        learner.finish_experience(experience, context)
        rows.append(accuracy_row(learner, stream))
        write_json(run.root / MATRIX_FILE, matrix_record(rows, stream))
        if progress:
            print(f"experience {experience.index}: accuracy {', '.join(f'{a:.4f}' for a in rows[-1])}")
    run.write_modality(learner.modality)  # before the weights, whose presence marks a finished run
    save_weights(learner.state_dict(), run.weights, metadata={"experiences": str(len(stream))})
    run.samples.mkdir(exist_ok=True)
    run.plots.mkdir(exist_ok=True)
    return Run.from_trained(run.root, resolved, learner.eval(), bundle)


def fit(family: torch.nn.Module, dataset: Dataset, collate: Callable | None, cfg: TrainConfig, root: Path, seed: int,
        progress: bool) -> None:
    """``cfg.max_steps`` iterations of ``family`` on ``dataset`` with the ordinary trainer pieces;
    logs under ``root/logs``; the checkpoint written at the end is removed."""
    if len(dataset) == 0:
        raise ConfigError("an experience has no training items", key="stream")
    place = RunDir(root)
    family.train()  # Lightning keeps the modes it finds (a generator was sampled in eval mode)
    module = FamilyModule(family, cfg)
    batches = SeededBatchStream(len(dataset), cfg.batch_size, seed, position=lambda: module.iteration)
    loader = DataLoader(dataset, batch_sampler=batches, collate_fn=collate, num_workers=cfg.num_workers,
                        persistent_workers=cfg.num_workers > 0, generator=torch.Generator().manual_seed(seed))
    with _quiet():
        trainer = L.Trainer(**_trainer_arguments(cfg, place, module, False, progress))
        trainer.fit(module, train_dataloaders=loader)
    if trainer.interrupted:
        raise KeyboardInterrupt
    for file in checkpoint_files(place.checkpoint):
        file.unlink(missing_ok=True)


def _append_logs(source: Path, target: Path, index: int, offset: int) -> None:
    """Append an experience's logged rows to the stream's log: an ``experience`` column, steps + ``offset``."""
    def rows(path: Path) -> list[dict[str, str]]:
        if not path.is_file():
            return []
        with path.open(newline="") as f:
            return list(csv.DictReader(f))

    new = [{**r, "experience": str(index), "step": str(int(r["step"]) + offset) if r.get("step") else ""}
           for r in rows(source)]
    merged = rows(target) + new
    fields = sorted({k for r in merged for k in r})

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(merged)

    atomic_write(target, write)


def _experience_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


class GeneratorRuns:
    """Generative replay's generator, trained with genlab's trainer and written as a run directory
    (``config.json`` with the stream's ``data`` section, ``modality.json``, ``weights.safetensors``)
    that :func:`genlab.api.load` reads; one model, continued from its weights at every fit."""

    KEY = "family.method.generator"

    def __init__(self, root: Path, data: Mapping[str, Any], modality: Modality, seed: int, progress: bool) -> None:
        self.root, self.data, self.modality, self.seed, self.progress = root, dict(data), modality, seed, progress
        self.family: torch.nn.Module | None = None
        self.fits = 0

    def _named(self, exc: ConfigError) -> ConfigError:
        exc.key = f"{self.KEY}.{exc.key}" if exc.key else self.KEY
        return exc

    def check(self, sections: Mapping[str, Any]) -> None:
        self._family(sections)
        self._train(sections, 1)

    def _family(self, sections: Mapping[str, Any]) -> torch.nn.Module:
        if self.family is None:
            model = {k: v for k, v in sections.items() if k != "train"}
            try:
                with torch.random.fork_rng(devices=[]):  # building it leaves the learner's RNG stream alone
                    torch.manual_seed(self.seed)
                    self.family = build_family_from_modality(model, self.modality)
            except ConfigError as exc:
                raise self._named(exc) from None
        return self.family

    def _train(self, sections: Mapping[str, Any], steps: int) -> TrainConfig:
        try:
            return TrainConfig.from_dict({**dict(sections.get("train") or {}), "max_steps": steps})
        except ConfigError as exc:
            raise self._named(exc) from None

    def fit(self, sections: Mapping[str, Any], data: torch.Tensor, steps: int) -> Callable[[int], torch.Tensor]:
        family, cfg = self._family(sections), self._train(sections, steps)
        fit(family, TensorItems(data), None, cfg, self.root / "fits" / f"{self.fits:02d}",
            _experience_seed(self.seed + 1, self.fits), self.progress)
        self.fits += 1
        run = RunDir(self.root)
        config = resolve_config({"data": self.data, **{k: v for k, v in sections.items() if k != "train"}})
        write_json(run.config, {**config, "train": cfg.to_dict()})
        run.write_modality(self.modality)
        save_weights(family.state_dict(), run.weights, metadata={"fits": str(self.fits)})
        family.eval()

        @torch.no_grad()
        def sample(n: int) -> torch.Tensor:
            return torch.cat([family.sample(min(1024, n - i)).samples for i in range(0, n, 1024)])  # (n, ...)

        return sample
