"""Reptile (Nichol, Achiam & Schulman 2018, "On first-order meta-learning algorithms", Alg. 2, the
batched version), registered as ``reptile``, inside genlab's ordinary trainer.

For each task i of the meta-batch, ``inner_steps`` steps of gradient descent of size α =
``inner_lr`` on all its examples (support and query together: Reptile needs no split at training
time) take θ to θ̃_i; Reptile then moves θ towards the adapted parameters,
θ ← θ + ε (1/T) Σ_i (θ̃_i − θ). The trainer minimises a loss instead of applying an update, so the
meta-loss is

    L(θ) = (1/T) Σ_i ½ ‖θ − sg(θ̃_i)‖²,        ∇_θ L = θ − (1/T) Σ_i θ̃_i,

sg the stop-gradient. One step of plain SGD with step size ε on L is exactly the interpolation
update above; genlab's trainer steps AdamW with ``train.lr`` on this gradient instead (Nichol et
al. note that θ − θ̃ can be fed to Adam as a gradient), so ``train.lr`` is not their ε and
``grad_clip`` clips the update. With one inner step, θ − θ̃_i = α ∇L_i(θ): the meta-gradient is α
times the task-loss gradient, a scaled SGD step on the pooled tasks.

At evaluation Reptile adapts like MAML: ``test_steps`` steps of size α on the support set.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from genlab.classifiers.meta.inner_loop import over_tasks
from genlab.classifiers.meta.learner import MetaLearner, autograd_on
from genlab.data.episodes import TaskBatch


class Reptile(MetaLearner):
    """``Reptile(modality, network, inner_lr, inner_steps, test_steps, loss, vectorise)``."""

    def forward(self, batch: TaskBatch) -> tuple[Tensor, dict[str, Any]]:
        with autograd_on():
            data = self.task_tensors(batch)
            params = self.parameters_dict()
            names = list(params)
            x = torch.cat([data.support_x, data.query_x], dim=1)  # (T, S + Q, ...)
            y = torch.cat([data.support_y, data.query_y], dim=1)  # (T, S + Q, ...)

            def task(x_i: Tensor, y_i: Tensor) -> tuple[Tensor, ...]:
                adapted, _, first_loss = self.adapt(params, x_i, y_i, self.inner_steps, first_order=True)
                return (first_loss, *(adapted[k].detach() for k in names))  # θ̃_i, no graph

            task_loss, *theta_tilde = over_tasks(task, x, y, vectorise=self.vectorise)
            squared = [((params[k] - t) ** 2).flatten(1).sum(1) for k, t in zip(names, theta_tilde)]  # (T,) each
            loss = 0.5 * torch.stack(squared).sum(0).mean()  # (1/T) Σ_i ½ ‖θ − sg(θ̃_i)‖²
        distance = torch.stack(squared).sum(0).sqrt().mean()
        return loss, {"meta_loss": float(loss.detach()), "task_loss": float(task_loss.mean()),
                      "step_norm": float(distance.detach())}
