"""The diagonal Fisher information of a learner's network, from per-sample gradients.

Kirkpatrick et al. (2017, "Overcoming catastrophic forgetting in neural networks", §2 and the
methods section) weigh each parameter by the diagonal of the Fisher information

    F_i = E_x E_{y ~ p_θ(y | x)} [ (∂ log p_θ(y | x) / ∂θ_i)² ],

estimated on N examples of the task as the **mean of per-sample squared gradients**
(1/N) Σ_n (∂_i log p_θ(y_n | x_n))². The square of the batch-mean gradient, ((1/N) Σ_n ∂_i log p)²,
is a different quantity (it vanishes at a minimum of the task's loss); the per-sample gradients
come from ``vmap(grad(.))`` (:mod:`genlab.classifiers.continual.per_sample`).

``labels``: ``empirical`` takes the data's labels y_n (the "empirical Fisher" most code uses);
``true`` draws y_n from the model's own p_θ(y | x_n), as the definition above does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.classifiers.continual.experience import Experience
from genlab.classifiers.continual.per_sample import evaluating, per_sample_grads

#: how the labels of the Fisher's examples are chosen
FISHER_LABELS = ("empirical", "true")


def log_likelihood(logits: Tensor, y: Tensor) -> Tensor:
    """log p_θ(y | x) of one example (its masked logits (1, K), label (1,))."""
    return -F.cross_entropy(logits, y)


def fisher_diagonal(learner: nn.Module, x: Tensor, y: Tensor, labels: str = "empirical",
                    generator: torch.Generator | None = None, chunk: int = 256) -> dict[str, Tensor]:
    """``{parameter name: F}`` (each the parameter's shape): the mean over the examples x (N, ...),
    y (N,) of the squared per-sample gradients of log p_θ(y | x)."""
    if labels == "true":
        with torch.no_grad(), evaluating(learner.network):
            probs = learner.masked_logits(x, y).softmax(1)  # (N, K)
        y = torch.multinomial(probs.cpu(), 1, generator=generator).flatten().to(y.device)  # (N,)
    total: dict[str, Tensor] = {}
    for grads in per_sample_grads(learner, x, y, log_likelihood, chunk):
        for name, g in grads.items():  # g: (n, *shape)
            square = (g ** 2).sum(0)
            total[name] = square if name not in total else total[name] + square
    return {name: s / x.shape[0] for name, s in total.items()}


def fisher_of_experience(learner: nn.Module, experience: Experience, samples: int, labels: str,
                         seed: int) -> dict[str, Tensor]:
    """The Fisher diagonal on ``samples`` training items of ``experience`` drawn with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    n = len(experience.train)
    indices = torch.randperm(n, generator=generator)[:min(samples, n)]
    x, y = learner.examples(experience.train, indices)
    return fisher_diagonal(learner, x, y, labels, generator)
