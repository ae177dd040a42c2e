"""The pretrained baseline of Finn et al. (2017, "Model-agnostic meta-learning", sec. 5.1),
registered as ``pretrain``: ordinary training on the pooled meta-training data, then fine-tuning
at test time.

Training minimises the loss of the network on every example of every task of the batch, pooled
(support and query together), with no adaptation: for sinusoids it regresses to random sine
waves, so it learns their mean. At evaluation it is fine-tuned like the meta-learners: ``test_steps``
steps of gradient descent of size ``inner_lr`` on each task's support set (Finn et al. tune that
step size; here it is the config key).

Only a regression loss can be pooled: episodic classification labels are 0..n_way-1 drawn afresh
for every task, so pooled labels carry no class identity, and ``loss: cross_entropy`` is refused.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genlab.classifiers.meta.learner import MetaLearner, autograd_on
from genlab.classifiers.meta.losses import TASK_LOSSES
from genlab.data.episodes import TaskBatch
from genlab.modalities.base import Modality
from genlab.utils import checks


class Pretrain(MetaLearner):
    """``Pretrain(modality, network, inner_lr, test_steps, loss, vectorise)``: ``inner_lr`` and
    ``test_steps`` are the fine-tuning step size and steps at evaluation."""

    def __init__(self, modality: Modality, network: nn.Module, inner_lr: float = 0.01, test_steps: int = 10,
                 loss: str = "mse", vectorise: bool = True) -> None:
        checks.one_of("loss", loss, TASK_LOSSES)
        if TASK_LOSSES[loss].classification:
            raise checks.ImpossibleValue("loss", "pretrain pools the tasks' examples, and episode labels 0..n_way-1 "
                                         "name different classes in every task; only mse can be pooled", loss)
        super().__init__(modality, network, inner_lr=inner_lr, inner_steps=1, test_steps=test_steps, loss=loss,
                         vectorise=vectorise)

    def forward(self, batch: TaskBatch) -> tuple[Tensor, dict[str, Any]]:
        with autograd_on():
            data = self.task_tensors(batch)
            x = torch.cat([data.support_x, data.query_x], dim=1)  # (T, S + Q, ...)
            y = torch.cat([data.support_y, data.query_y], dim=1)  # (T, S + Q, ...)
            out = self.network(x.reshape(-1, *x.shape[2:]))  # (T (S + Q), ...)
            loss = self.task_loss(out, y.reshape(-1, *y.shape[2:]))
        return loss, {"pooled_loss": float(loss.detach())}
