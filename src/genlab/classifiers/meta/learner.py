"""The base of every meta-learner: a :class:`~genlab.trainable.Trainable` on a meta-batch of tasks.

``loss, metrics = learner(batch)`` takes a :class:`~genlab.data.episodes.TaskBatch` of T tasks and
returns the meta-loss the ordinary trainer minimises (AdamW with ``train.lr`` is the outer
optimiser). What the subclasses share lives here:

* the task tensors: support and query inputs through the modality (``encode``, then the
  classifier input view ``to_inputs``), targets as they come (labels for classification, values
  for regression);
* the adaptation to one task, a pure function of the parameters: which parameters adapt
  (:meth:`split`; all of them here, the head alone for ANIL), what they read (:meth:`embed`: the
  input here, the features for ANIL) and the adapted model (:meth:`call`);
* :meth:`query_outputs`: the query outputs after adapting every task with ``steps`` gradient
  steps of size ``inner_lr`` on its support set — what evaluation scores.

Tasks are mapped with ``torch.func.vmap`` when ``vectorise`` is true, with a Python loop
otherwise (:func:`~genlab.classifiers.meta.inner_loop.over_tasks`); both give the same numbers.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from genlab.classifiers.meta.inner_loop import Params, over_tasks, sgd_steps
from genlab.classifiers.meta.losses import TASK_LOSSES, accuracy
from genlab.data.episodes import TaskBatch
from genlab.errors import ConfigError
from genlab.modalities.base import Modality
from genlab.trainable import Trainable
from genlab.utils import checks


def autograd_on() -> contextlib.ExitStack:
    """Gradients on and inference mode off (the inner loops differentiate, also when Lightning
    validates under ``torch.inference_mode`` or an evaluator runs under ``torch.no_grad``)."""
    stack = contextlib.ExitStack()
    stack.enter_context(torch.inference_mode(False))
    stack.enter_context(torch.enable_grad())
    return stack


@dataclass
class TaskTensors:
    """A meta-batch on the learner's device, inputs in the network's input view."""

    support_x: Tensor  # (T, S, ...)
    support_y: Tensor  # (T, S) labels or (T, S, D) values
    query_x: Tensor  # (T, Q, ...)
    query_y: Tensor  # (T, Q) labels or (T, Q, D) values


class MetaLearner(Trainable):
    """Shared arguments: ``inner_lr`` α and ``inner_steps`` of the inner gradient descent,
    ``test_steps`` adaptation steps at evaluation (default: ``inner_steps``), ``loss``
    (``cross_entropy`` or ``mse``), ``vectorise`` (vmap over tasks, or a loop)."""

    def __init__(self, modality: Modality, network: nn.Module, inner_lr: float = 0.01, inner_steps: int = 1,
                 test_steps: int | None = None, loss: str = "cross_entropy", vectorise: bool = True) -> None:
        super().__init__(modality)
        checks.positive("inner_lr", inner_lr)
        checks.finite("inner_lr", inner_lr)
        checks.at_least("inner_steps", inner_steps, 1)
        if test_steps is not None:
            checks.non_negative("test_steps", test_steps)
        checks.one_of("loss", loss, TASK_LOSSES)
        self.network = network
        self.inner_lr, self.inner_steps, self.vectorise = inner_lr, inner_steps, vectorise
        self.test_steps = inner_steps if test_steps is None else test_steps
        self.task_loss = TASK_LOSSES[loss]

    # --- the data -----------------------------------------------------------------------------

    def task_tensors(self, batch: TaskBatch) -> TaskTensors:
        if not isinstance(batch, TaskBatch):
            raise ConfigError(f"{type(self).__name__} trains on few-shot tasks (data: sinusoid, omniglot, "
                              f"mnist_episodes), got {type(batch).__name__} batches", key="data")
        weight = next(self.network.parameters())
        batch = batch.to(weight.device)
        if batch.support_x.is_inference():  # Lightning validates under inference mode: plain copies
            batch = TaskBatch(*(t.clone() for t in (batch.support_x, batch.support_y, batch.query_x, batch.query_y)))
        return TaskTensors(self._inputs(batch.support_x, weight.dtype), self._targets(batch.support_y, weight.dtype),
                           self._inputs(batch.query_x, weight.dtype), self._targets(batch.query_y, weight.dtype))

    def _inputs(self, x: Tensor, dtype: torch.dtype) -> Tensor:
        """(T, N, ...) stored inputs -> (T, N, ...) network inputs (modality encode, input view,
        the network's floating-point type)."""
        flat = self.modality.to_inputs(self.modality.encode(x.reshape(-1, *x.shape[2:])))  # (T N, ...)
        return flat.reshape(*x.shape[:2], *flat.shape[1:]).to(dtype)

    def _targets(self, y: Tensor, dtype: torch.dtype) -> Tensor:
        return y.long() if self.task_loss.classification else y.to(dtype)

    # --- one task's adaptation, a pure function of the parameters -----------------------------

    def parameters_dict(self) -> Params:
        return dict(self.network.named_parameters())

    def split(self, params: Params) -> tuple[Params, Params]:
        """(the parameters the inner loop adapts, the others); MAML adapts all of them."""
        return params, {}

    def embed(self, fixed: Params, x: Tensor) -> Tensor:
        """What the adapted parameters read, computed once per task: the inputs themselves."""
        return x

    def call(self, adapted: Params, fixed: Params, h: Tensor) -> Tensor:
        """The network's outputs (N, ...) with ``adapted`` and ``fixed`` parameters on ``h``."""
        return torch.func.functional_call(self.network, {**fixed, **adapted}, (h,))

    def adapt(self, params: Params, x: Tensor, y: Tensor, steps: int,
              first_order: bool) -> tuple[Params, Params, Tensor | None]:
        """(adapted parameters, fixed parameters, loss before adapting) after ``steps`` steps of
        size ``inner_lr`` on one task's examples ``x`` (N, ...), ``y`` (N, ...)."""
        adapted, fixed = self.split(params)
        h = self.embed(fixed, x)  # (N, ...)
        loss_of = lambda p: self.task_loss(self.call(p, fixed, h), y)
        adapted, first_loss = sgd_steps(loss_of, adapted, self.inner_lr, steps, first_order)
        return adapted, fixed, first_loss

    # --- evaluation ---------------------------------------------------------------------------

    def query_outputs(self, batch: TaskBatch, steps: int | None = None) -> tuple[Tensor, Tensor]:
        """(query outputs (T, Q, ...), query targets) after adapting each task on its support set
        with ``steps`` (default ``test_steps``) first-order steps; no meta-gradient is kept."""
        steps = self.test_steps if steps is None else steps
        data = self.task_tensors(batch)
        params = {k: v.detach() for k, v in self.parameters_dict().items()}

        def task(x_s: Tensor, y_s: Tensor, x_q: Tensor) -> tuple[Tensor]:
            adapted, fixed, _ = self.adapt(params, x_s, y_s, steps, first_order=True)
            return (self.call(adapted, fixed, self.embed(fixed, x_q)).detach(),)

        with autograd_on():
            (out,) = over_tasks(task, data.support_x, data.support_y, data.query_x, vectorise=self.vectorise)
        return out, data.query_y

    def metrics(self, loss: Tensor, query_out: Tensor, query_y: Tensor,
                support_loss: Tensor | None) -> dict[str, Any]:
        """Plain floats to log: the meta-loss, the support loss before adapting, query accuracy."""
        out = {"meta_loss": float(loss.detach())}
        if support_loss is not None:
            out["support_loss"] = float(support_loss.detach().mean())
        if self.task_loss.classification:
            out["query_accuracy"] = float(accuracy(query_out.detach(), query_y))
        return out
