"""A continual-learning method: hooks around one training loop, and the registry of methods.

A :class:`Method` never owns the loop. The stream runner (:mod:`genlab.training.continual`) and
the learner (:class:`~genlab.classifiers.continual.learner.ContinualLearner`) call its hooks:

============================================  ===============================================
hook                                          called
============================================  ===============================================
``attach(learner)``                           once, when the learner is built: allocate state
``before_experience(learner, exp, context)``  before an experience is trained
``train_set(exp, context)``                   the data the experience trains on (joint: all seen)
``batch(learner, x, y) -> (x, y)``            every training batch: replay appends examples
``penalty(learner) -> Tensor | None``         every training batch: added to the loss
``project(learner)``                          after backward, before the optimizer step: edit
                                              the gradients in place (projection)
``after_experience(learner, exp, context)``   after the experience: Fisher, bases, coreset
============================================  ===============================================

State that later experiences need (Fisher information, anchors, bases, stored examples) lives in
**buffers** of fixed shape, allocated by ``attach`` from the config and the network, so it is part
of the learner's state dict: saved in checkpoints and ``RUN/weights.safetensors`` and loaded back
by :class:`~genlab.sampling.run.Run`. :data:`METHODS` maps ``family.method.name`` to a method
class; its other keys are the constructor's arguments (``family.method.<key>`` in errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from genlab.classifiers.continual.experience import Experience
from genlab.registry import Registry


class GeneratorTrainer(Protocol):
    """What the stream runner lends a method that trains a generative model of the data seen
    (generative replay): the runner builds and trains genlab families, which this layer cannot."""

    def check(self, sections: Mapping[str, Any]) -> None:
        """Build the model of ``sections`` once, so a bad config fails before any training."""

    def fit(self, sections: Mapping[str, Any], data: Tensor, steps: int) -> Callable[[int], Tensor]:
        """Train the model of ``sections`` on ``data`` (N, ...) in the data space for ``steps``
        iterations; return ``sample(n) -> (n, ...)`` drawing from it."""


@dataclass(frozen=True)
class ExperienceContext:
    """Where in the stream an experience is: ``seen`` holds experiences 0..index."""

    index: int
    n_experiences: int
    seen: tuple[Experience, ...]
    seed: int = 0
    generators: GeneratorTrainer | None = None

    @property
    def is_last(self) -> bool:
        return self.index == self.n_experiences - 1


class Method(nn.Module):
    """Fine-tuning: every hook does nothing (the lower bound). Other methods override hooks."""

    def attach(self, learner: nn.Module) -> None:
        """Allocate state for ``learner`` (a ContinualLearner; its ``network`` is built)."""

    def before_experience(self, learner: nn.Module, experience: Experience, context: ExperienceContext) -> None:
        """Prepare for training ``experience``."""

    def train_set(self, experience: Experience, context: ExperienceContext) -> Dataset:
        """The items the experience trains on."""
        return experience.train

    def batch(self, learner: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """The training batch (inputs (B, ...), labels (B,)), with any replayed examples appended."""
        return x, y

    def penalty(self, learner: nn.Module) -> Tensor | None:
        """A term added to the loss, or ``None``."""
        return None

    def project(self, learner: nn.Module) -> None:
        """Edit the network's gradients in place after backward."""

    def after_experience(self, learner: nn.Module, experience: Experience, context: ExperienceContext) -> None:
        """Consolidate what ``experience`` taught."""


class ParameterBuffers(nn.Module):
    """One buffer per parameter of ``network`` with the parameter's shape and dtype, filled with
    ``fill`` (names: the parameter's with ``.`` written ``__``)."""

    def __init__(self, network: nn.Module, fill: float = 0.0) -> None:
        super().__init__()
        self.names = [name for name, _ in network.named_parameters()]
        for name, p in network.named_parameters():
            self.register_buffer(name.replace(".", "__"), torch.full_like(p.detach(), fill))

    def __getitem__(self, name: str) -> Tensor:
        return getattr(self, name.replace(".", "__"))

    def items(self) -> list[tuple[str, Tensor]]:
        return [(name, self[name]) for name in self.names]


METHODS: Registry[Method] = Registry("family.method", providers=(
    "genlab.classifiers.continual.methods.l2",
    "genlab.classifiers.continual.methods.ewc",
    "genlab.classifiers.continual.methods.online_ewc",
    "genlab.classifiers.continual.methods.gpm",
    "genlab.classifiers.continual.methods.ogd",
    "genlab.classifiers.continual.methods.coreset",
    "genlab.classifiers.continual.methods.generative_replay",
    "genlab.classifiers.continual.methods.joint",
))
METHODS.register("finetune")(Method)

