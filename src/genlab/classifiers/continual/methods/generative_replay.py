"""Deep generative replay (Shin, Lee, Kim & Kim 2017, "Continual Learning with Deep Generative
Replay", §3 and Fig. 1): a generator of the inputs seen so far, and the previous solver labelling
its samples.

After experience t (not after the last one):

1. the **generator** — any genlab generative family, from the ``generator`` sections (``family``,
   ``network``, optionally ``process`` and ``train``, as in a generative config without ``data``)
   — is trained for ``generator_steps`` iterations with genlab's trainer on the experience's
   training inputs plus ``generator_replay`` samples of the previous generator (none after the
   first experience); the same model continues from its weights each time. The stream runner
   trains it (:class:`~genlab.classifiers.continual.methods.base.GeneratorTrainer`) and writes it
   as a run directory ``RUN/generator``;
2. the **previous solver** is a frozen copy of the learner's network.

While experience t + 1 trains, every batch gets ``replay_batch_size`` generated inputs appended,
each labelled by the previous solver's most likely class among the classes seen so far (in a
task-incremental stream the label then picks the head, as for real examples).

The generator and the previous solver only serve training; they are not part of the learner's
saved state (the generator has its own run directory).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor, nn

from genlab.classifiers.continual.experience import Experience, inputs_of
from genlab.classifiers.continual.methods.base import METHODS, ExperienceContext, Method
from genlab.errors import ConfigError, GenlabError
from genlab.utils import checks

#: sections of the ``generator`` key
GENERATOR_SECTIONS = ("family", "network", "process", "train")


@dataclass
class ReplaySource:
    """``sample(n)`` draws n inputs (data space); ``solver`` labels them among ``classes``."""

    sample: Callable[[int], Tensor]
    solver: nn.Module
    classes: tuple[int, ...]


@METHODS.register("generative_replay")
class GenerativeReplay(Method):
    """Replay of generated inputs labelled by the previous solver."""

    def __init__(self, generator: dict[str, Any] | None = None, generator_steps: int = 1000, replay_batch_size: int = 64,
                 generator_replay: int = 10000) -> None:
        super().__init__()
        if generator is None:
            raise ConfigError("generative replay needs a generator: its family and network sections",
                              key="family.method.generator")
        for key, value in generator.items():
            if key not in GENERATOR_SECTIONS:
                raise ConfigError(f"unknown section; a generator has {', '.join(GENERATOR_SECTIONS)}",
                                  key=f"family.method.generator.{key}")
            if not isinstance(value, dict):
                raise ConfigError("a section must be a mapping", key=f"family.method.generator.{key}")
        for key in ("family", "network"):
            if key not in generator:
                raise ConfigError("missing section", key=f"family.method.generator.{key}")
        checks.at_least("generator_steps", generator_steps, 1)
        checks.at_least("replay_batch_size", replay_batch_size, 1)
        checks.non_negative("generator_replay", generator_replay)
        self.generator, self.generator_steps = generator, generator_steps
        self.replay_batch_size, self.generator_replay = replay_batch_size, generator_replay
        self.source: ReplaySource | None = None

    def before_experience(self, learner: nn.Module, experience: Experience, context: ExperienceContext) -> None:
        if context.generators is None:
            raise GenlabError("generative replay trains a generator between experiences: train the stream with "
                              "genlab train (the stream runner)")
        if context.index == 0:
            context.generators.check(self.generator)

    @torch.no_grad()
    def labelled_samples(self, learner: nn.Module, n: int) -> tuple[Tensor, Tensor]:
        """n generated inputs in the classifier's input view and the previous solver's labels."""
        source = self.source
        data = source.sample(n)  # (n, ...) data space
        x = learner.modality.to_inputs(learner.modality.encode(data.to(next(learner.parameters()).device)))
        logits = source.solver(x)  # (n, K)
        seen = torch.zeros(logits.shape[1], dtype=torch.bool, device=logits.device)
        seen[list(source.classes)] = True
        return x, logits.masked_fill(~seen, float("-inf")).argmax(1)

    def batch(self, learner: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        if self.source is None:
            return x, y
        xg, yg = self.labelled_samples(learner, self.replay_batch_size)
        return torch.cat([x, xg.to(x)]), torch.cat([y, yg.to(y.device)])

    @torch.no_grad()
    def after_experience(self, learner: nn.Module, experience: Experience, context: ExperienceContext) -> None:
        if context.is_last:
            return
        data = inputs_of(experience.train, range(len(experience.train)))  # (N, ...) data space
        if self.source is not None and self.generator_replay > 0:
            data = torch.cat([data, self.source.sample(self.generator_replay).to(data)])
        sample = context.generators.fit(self.generator, data, self.generator_steps)
        solver = copy.deepcopy(learner.network).eval()
        for p in solver.parameters():
            p.requires_grad_(False)
        classes = tuple(sorted({c for e in context.seen for c in e.classes}))
        self.source = ReplaySource(sample, solver, classes)
