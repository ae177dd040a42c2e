"""ANIL, "almost no inner loop" (Raghu, Raghu, Bengio & Vinyals 2020, "Rapid learning or feature
reuse?", sec. 4), registered as ``anil``: MAML whose inner loop adapts only the network's head.

The network must be split into ``features`` and a ``head`` (the few-shot networks of
:mod:`genlab.networks.few_shot` are). The features φ(x) of a task's support and query sets are
computed once with the meta-parameters; the inner loop runs gradient descent on the head's
parameters w alone, w'_i = w − α ∇_w L(w; φ(D_i)), at training and at test time, and the meta-loss
is the query loss at (φ, w'_i). The meta-gradient reaches the features through φ(D_i) and φ(D'_i)
and, second order, through the inner steps of w (``first_order: true`` drops that part).

With ``zero_head: true`` each task's head starts at w = 0 rather than at a meta-learned w (the
"zeroing trick" of Kao et al. 2022, "MAML is a noisy contrastive learner in classification"):
labels are permuted from task to task, so a learned w can only add a bias common to all
tasks. From w = 0 one step gives each class c the weights α/N Σ_{i: y_i = c} φ(x_i) minus their
mean over classes, a prototype of its support features.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.classifiers.meta.inner_loop import Params
from genlab.classifiers.meta.maml import MAML
from genlab.errors import ConfigError
from genlab.modalities.base import Modality

HEAD, FEATURES = "head.", "features."


class ANIL(MAML):
    """``ANIL(modality, network, ..., zero_head)``: the arguments of
    :class:`~genlab.classifiers.meta.maml.MAML`; ``zero_head`` starts every task's inner loop from
    a zero head instead of the meta-learned one."""

    def __init__(self, modality: Modality, network: nn.Module, inner_lr: float = 0.01, inner_steps: int = 1,
                 test_steps: int | None = None, first_order: bool = False, loss: str = "cross_entropy",
                 vectorise: bool = True, zero_head: bool = False) -> None:
        super().__init__(modality, network, inner_lr=inner_lr, inner_steps=inner_steps, test_steps=test_steps,
                         first_order=first_order, loss=loss, vectorise=vectorise)
        self.zero_head = zero_head
        names = [name for name, _ in network.named_parameters()]
        if not all(isinstance(getattr(network, part, None), nn.Module) for part in ("features", "head")) or \
                not all(n.startswith((HEAD, FEATURES)) for n in names):
            raise ConfigError(f"ANIL adapts the head alone: the network needs a 'features' and a 'head' part "
                              f"(few_shot_mlp and conv4 have them; {type(network).__name__} has not)",
                              key="network.name")

    def split(self, params: Params) -> tuple[Params, Params]:
        """(the head's parameters w, the features' parameters φ), names relative to each part."""
        head = {k[len(HEAD):]: torch.zeros_like(v) if self.zero_head else v
                for k, v in params.items() if k.startswith(HEAD)}
        features = {k[len(FEATURES):]: v for k, v in params.items() if k.startswith(FEATURES)}
        return head, features

    def embed(self, fixed: Params, x: Tensor) -> Tensor:
        return torch.func.functional_call(self.network.features, fixed, (x,))  # φ(x) (N, F)

    def call(self, adapted: Params, fixed: Params, h: Tensor) -> Tensor:
        return torch.func.functional_call(self.network.head, adapted, (h,))  # (N, outputs)
