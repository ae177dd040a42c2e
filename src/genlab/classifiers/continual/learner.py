"""The continual learner: a classifier network trained experience by experience under a method.

``ContinualLearner(modality, network, method, optimizer, momentum)`` is the family ``continual``
(config ``family: {name: continual, method: {name: ewc, lam: 100}}``) around any classifier
network of :mod:`genlab.networks.classifiers` or :mod:`genlab.networks.sparse`. It is a
:class:`~genlab.classifiers.classifier.Classifier` (``logits``, ``predict``, ``input_range``),
so attacks and the classifier tools apply to it. One training batch::

    x, y = self.inputs(batch)                    # (B, ...) in [0, 1], (B,)
    x, y = method.batch(self, x, y)              # replay appends stored or generated examples
    loss = CE(masked logits, y) + method.penalty(self)

and after backward the trainer calls :meth:`before_optimizer_step`, which hands the gradients to
``method.project`` (GPM, OGD). In a task-incremental stream (:meth:`use_task_heads`) the logits of
an example are masked to the classes of its experience, the group its label belongs to.

The trainer asks the family for its optimizer (:meth:`make_optimizer`): plain SGD with
``momentum`` by default — projection methods need updates that are a fixed linear map of the
gradient, which Adam's per-coordinate scaling is not — or ``adamw`` (train.betas, weight_decay).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from genlab.classifiers.classifier import Classifier
from genlab.classifiers.continual.experience import Experience, inputs_of, labels_of
from genlab.classifiers.continual.methods.base import METHODS, ExperienceContext, Method
from genlab.modalities.base import LabelledBatch, Modality
from genlab.utils import checks

OPTIMIZERS = ("sgd", "adamw")


class ContinualLearner(Classifier):
    """A classifier whose training a continual-learning :class:`Method` shapes."""

    #: nested config sections and their registries (:func:`genlab.build.resolve_config` fills their defaults)
    subsections = {"method": METHODS}

    def __init__(self, modality: Modality, network: nn.Module, method: str | Mapping[str, Any] = "finetune",
                 optimizer: str = "sgd", momentum: float = 0.0) -> None:
        super().__init__(modality, network, "standard")
        checks.one_of("optimizer", optimizer, OPTIMIZERS)
        checks.in_unit_interval("momentum", momentum, closed_high=False)
        self.optimizer_name, self.momentum = optimizer, momentum
        section = {"name": method} if isinstance(method, str) else dict(method)
        self.method: Method = METHODS.build(section)
        self.method.attach(self)
        self._heads: list[tuple[int, ...]] | None = None
        self._allowed: Tensor | None = None  # (K, K) bool: label -> the classes its logits compete with

    # --- scenario --------------------------------------------------------------------------------

    def use_task_heads(self, groups: Sequence[Sequence[int]] | None) -> None:
        """Mask each example's logits to its label's group (task-incremental); ``None``: one head."""
        self._heads = None if groups is None else [tuple(int(c) for c in g) for g in groups]
        self._allowed = None

    def mask_logits(self, logits: Tensor, y: Tensor) -> Tensor:
        """``logits`` (B, K) with the classes outside each label's group set to −∞ (task heads)."""
        if self._heads is None:
            return logits
        if self._allowed is None or self._allowed.shape[0] != logits.shape[1]:
            k = logits.shape[1]
            allowed = torch.zeros(k, k, dtype=torch.bool)
            for group in self._heads:
                g = torch.tensor(group)
                allowed[g[:, None], g[None, :]] = True
            self._allowed = allowed
        mask = self._allowed.to(logits.device)[y]  # (B, K)
        return logits.masked_fill(~mask, float("-inf"))

    def masked_logits(self, x: Tensor, y: Tensor) -> Tensor:
        return self.mask_logits(self.logits(x), y)  # (B, K)

    # --- training --------------------------------------------------------------------------------

    def inputs(self, batch: LabelledBatch) -> tuple[Tensor, Tensor]:
        """(x (B, ...) in the input view, in the network's dtype and on its device; labels (B,))."""
        x, y = super().inputs(batch)
        return x.to(next(self.network.parameters()).dtype), y

    def forward(self, batch: LabelledBatch) -> tuple[Tensor, dict[str, float]]:
        x, y = self.inputs(batch)  # (B, ...), (B,)
        x, y = self.method.batch(self, x, y)  # (B', ...), (B',) with replayed examples
        logits = self.masked_logits(x, y)  # (B', K)
        ce = F.cross_entropy(logits, y)
        penalty = self.method.penalty(self)
        metrics = {"cross_entropy": ce.item(), "accuracy": (logits.argmax(1) == y).float().mean().item()}
        if penalty is None:
            return ce, metrics
        return ce + penalty, {**metrics, "penalty": penalty.item()}

    def before_optimizer_step(self) -> None:
        """The trainer's gradient hook: the method's projection (after backward, before clipping)."""
        self.method.project(self)

    def optimizer_parameters(self) -> list[Iterable[nn.Parameter]]:
        """Only the network is trained (a method's buffers are state, not parameters)."""
        return [self.network.parameters()]

    def make_optimizer(self, params: Iterable[Any], train: Any) -> torch.optim.Optimizer:
        """The optimizer the trainer steps, with ``train.lr`` (``train``: the TrainConfig)."""
        if self.optimizer_name == "sgd":
            return torch.optim.SGD(params, lr=train.lr, momentum=self.momentum, weight_decay=train.weight_decay)
        return torch.optim.AdamW(params, lr=train.lr, betas=train.betas, weight_decay=train.weight_decay)

    # --- experiences -----------------------------------------------------------------------------

    def begin_experience(self, experience: Experience, context: ExperienceContext) -> None:
        self.method.before_experience(self, experience, context)

    def finish_experience(self, experience: Experience, context: ExperienceContext) -> None:
        """The method consolidates; then every network module with an ``end_experience`` hook
        (the sparse network's activation counts) closes the experience."""
        self.method.after_experience(self, experience, context)
        for module in self.network.modules():
            hook = getattr(module, "end_experience", None)
            if callable(hook):
                hook()

    def examples(self, dataset: Dataset, indices: Sequence[int] | Tensor) -> tuple[Tensor, Tensor]:
        """Items of ``dataset`` in the classifier's input view on the model's device: (x (n, ...), y (n,))."""
        inputs = inputs_of(dataset, indices)  # (n, ...) in the data space
        labels = labels_of(dataset)[torch.as_tensor(indices, dtype=torch.long)]
        return self.inputs(LabelledBatch(inputs, labels))
