"""MAML (Finn, Abbeel & Levine 2017, "Model-agnostic meta-learning for fast adaptation of deep
networks", Alg. 2) and its first-order approximation, registered as ``maml``.

For each task i of the meta-batch, the inner loop adapts the parameters on the support set D_i
with ``inner_steps`` steps of gradient descent of size α = ``inner_lr``::

    θ'_i = θ − α ∇_θ L(f_θ; D_i)            (repeated: Alg. 2 line 7)

and the meta-loss is the mean query loss at the adapted parameters, (1/T) Σ_i L(f_θ'_i; D'_i),
whose gradient in θ the trainer's optimiser follows (line 10; Finn et al. use Adam, genlab's
trainer AdamW with ``train.lr``). L is ``loss``: squared error (their eq. 2) or cross-entropy
(eq. 3). The meta-gradient goes through the inner loop, second order: for one step it is
(I − α ∇²_θ L(f_θ; D_i)) ∇L(f_θ'_i; D'_i).

``first_order: true`` is first-order MAML (sec. 5.2): the inner gradients are treated as
constants, so the meta-gradient is the query-loss gradient at the adapted parameters, ∇L(θ'_i).
(There is no separate ``fomaml`` entry: it is this key.)

``test_steps`` adaptation steps are taken at evaluation (Finn et al.: 10 for the sinusoids, 3
for 5-way and 5 for 20-way Omniglot).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from genlab.classifiers.meta.inner_loop import over_tasks
from genlab.classifiers.meta.learner import MetaLearner, autograd_on
from genlab.data.episodes import TaskBatch
from genlab.modalities.base import Modality


class MAML(MetaLearner):
    """``MAML(modality, network, inner_lr, inner_steps, test_steps, first_order, loss, vectorise)``."""

    def __init__(self, modality: Modality, network: nn.Module, inner_lr: float = 0.01, inner_steps: int = 1,
                 test_steps: int | None = None, first_order: bool = False, loss: str = "cross_entropy",
                 vectorise: bool = True) -> None:
        super().__init__(modality, network, inner_lr=inner_lr, inner_steps=inner_steps, test_steps=test_steps,
                         loss=loss, vectorise=vectorise)
        self.first_order = first_order

    def forward(self, batch: TaskBatch) -> tuple[Tensor, dict[str, Any]]:
        with autograd_on():
            data = self.task_tensors(batch)
            params = self.parameters_dict()

            def task(x_s: Tensor, y_s: Tensor, x_q: Tensor, y_q: Tensor) -> tuple[Tensor, Tensor, Tensor]:
                adapted, fixed, support_loss = self.adapt(params, x_s, y_s, self.inner_steps, self.first_order)
                out_q = self.call(adapted, fixed, self.embed(fixed, x_q))  # (Q, ...)
                return self.task_loss(out_q, y_q), out_q, support_loss

            query_loss, query_out, support_loss = over_tasks(
                task, data.support_x, data.support_y, data.query_x, data.query_y, vectorise=self.vectorise)
            loss = query_loss.mean()  # (1/T) Σ_i L(f_θ'_i; D'_i)
        return loss, self.metrics(loss, query_out, data.query_y, support_loss)
