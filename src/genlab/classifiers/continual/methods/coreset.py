"""Coreset replay: a class-balanced memory of earlier experiences' examples, mixed into every batch
(experience replay with a fixed budget; the replay baseline of Lopez-Paz & Ranzato 2017 and
Chaudhry et al. 2019, "On Tiny Episodic Memories in Continual Learning").

**Selection.** The memory holds ``memory`` examples, shared equally among the (experience, class)
cells seen so far: after experience t every cell keeps ⌊memory / cells⌋ examples. A new cell's
examples are drawn uniformly at random without replacement from the experience's training items
of that class; an old cell shrinks by keeping the first of its (randomly ordered) examples, so
every cell is always a uniform random subset of its items — what per-cell reservoir sampling
keeps, drawn at once because the whole experience is at hand. (Random selection, not herding.)

**Replay.** Each training batch gets ``replay_batch_size`` examples drawn uniformly with
replacement from the memory appended; the loss is the mean over all of them.

The memory is a fixed-shape buffer (inputs in the classifier's input view, labels, experience
index, count), so it is saved and loaded with the learner.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.classifiers.continual.experience import Experience, labels_of
from genlab.classifiers.continual.methods.base import METHODS, ExperienceContext, Method
from genlab.errors import ConfigError
from genlab.utils import checks


@METHODS.register("coreset")
class Coreset(Method):
    """A class-balanced random memory replayed in every batch."""

    def __init__(self, memory: int = 1000, replay_batch_size: int = 64) -> None:
        super().__init__()
        checks.at_least("memory", memory, 1)
        checks.at_least("replay_batch_size", replay_batch_size, 1)
        self.memory, self.replay_batch_size = memory, replay_batch_size

    def attach(self, learner: nn.Module) -> None:
        shapes = learner.modality.shapes()
        if len(shapes) != 1:
            raise ConfigError("coreset replay stores one-tensor inputs", key="family.method.name")
        shape = tuple(next(iter(shapes.values())))
        dtype = next(learner.network.parameters()).dtype
        self.register_buffer("inputs", torch.zeros(self.memory, *shape, dtype=dtype))  # (M, ...) input view
        self.register_buffer("labels", torch.zeros(self.memory, dtype=torch.long))  # (M,)
        self.register_buffer("experience", torch.zeros(self.memory, dtype=torch.long))  # (M,)
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def batch(self, learner: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        n = int(self.count)
        if n == 0:
            return x, y
        pick = torch.randint(n, (self.replay_batch_size,), device=self.inputs.device)  # (R,)
        return torch.cat([x, self.inputs[pick].to(x)]), torch.cat([y, self.labels[pick].to(y.device)])

    @torch.no_grad()
    def after_experience(self, learner: nn.Module, experience: Experience, context: ExperienceContext) -> None:
        n = int(self.count)
        stored = list(zip(self.experience[:n].tolist(), self.labels[:n].tolist()))
        cells = sorted(set(stored))
        quota = self.memory // (len(cells) + len(experience.classes))
        if quota == 0:
            raise ConfigError(f"memory holds fewer examples than the {len(cells) + len(experience.classes)} "
                              "(experience, class) cells seen", key="family.method.memory")
        keep = [i for cell in cells for i in [j for j, c in enumerate(stored) if c == cell][:quota]]
        labels = labels_of(experience.train)
        generator = torch.Generator().manual_seed(context.seed)
        picks = []
        for c in experience.classes:
            members = torch.nonzero(labels == c).flatten()
            picks.append(members[torch.randperm(len(members), generator=generator)][:quota])
        new_x, new_y = learner.examples(experience.train, torch.cat(picks))
        keep_t = torch.tensor(keep, dtype=torch.long, device=self.inputs.device)
        inputs = torch.cat([self.inputs[keep_t], new_x.to(self.inputs)])
        labels_all = torch.cat([self.labels[keep_t], new_y.to(self.labels.device)])
        origin = torch.cat([self.experience[keep_t], torch.full_like(new_y, experience.index).to(self.experience.device)])
        m = len(labels_all)
        self.inputs[:m], self.labels[:m], self.experience[:m] = inputs, labels_all, origin
        self.count.fill_(m)
