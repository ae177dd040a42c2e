"""Test accuracy of a learner on every experience of a stream: one row of the accuracy matrix.

In a task-incremental stream the learner's logits are masked to the test experience's classes
(:meth:`~genlab.classifiers.continual.learner.ContinualLearner.use_task_heads`, set by the stream);
otherwise every class competes. The learner is scored in eval mode (no dropout) and left in the
mode it was in.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader

from genlab.classifiers.continual.experience import Experience, Stream
from genlab.classifiers.continual.per_sample import evaluating
from genlab.data.labelled import collate_labelled


@torch.no_grad()
def accuracy(learner: nn.Module, experience: Experience, batch_size: int = 1000) -> float:
    """The fraction of ``experience.test`` the learner classifies correctly."""
    correct = total = 0
    loader = DataLoader(experience.test, batch_size=batch_size, shuffle=False, collate_fn=collate_labelled)
    with evaluating(learner):
        for batch in loader:
            x, y = learner.inputs(batch)  # (B, ...), (B,)
            correct += int((learner.masked_logits(x, y).argmax(1) == y).sum())
            total += len(y)
    return correct / total


def accuracy_row(learner: nn.Module, stream: Stream, batch_size: int = 1000) -> list[float]:
    """Accuracy on each experience's test set, in stream order."""
    learner.use_task_heads(stream.task_heads)
    return [accuracy(learner, e, batch_size) for e in stream]
