"""Per-sample gradients of a learner's network with :mod:`torch.func`: ``vmap(grad(f))``.

:func:`per_sample_grads` yields, chunk by chunk, ∇_θ f(θ; x_n, y_n) for every example n — one
gradient per sample, not the gradient of the batch mean. EWC's Fisher information is the mean of
their squares (:mod:`genlab.classifiers.continual.methods.fisher`); OGD stores them as directions
(:mod:`genlab.classifiers.continual.methods.ogd`). The network runs in eval mode (no dropout),
through :func:`torch.func.functional_call` on detached copies of its parameters, and its mode is
restored afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

#: ``f(logits (1, K), y (1,)) -> scalar``: what is differentiated for one sample
SampleFunction = Callable[[Tensor, Tensor], Tensor]


@contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode, its previous mode (of every submodule) restored afterwards."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, mode in modes:
            m.train(mode)


def per_sample_grads(learner: nn.Module, x: Tensor, y: Tensor, f: SampleFunction,
                     chunk: int = 256) -> Iterator[dict[str, Tensor]]:
    """For each chunk of the examples x (N, ...), y (N,): ``{parameter name: (n, *shape)}``, the
    gradients of ``f(masked logits of x_n, y_n)`` with respect to the network's parameters."""
    network = learner.network
    params = {k: v.detach() for k, v in network.named_parameters()}
    buffers = {k: v.detach() for k, v in network.named_buffers()}

    def one(theta: dict[str, Tensor], x1: Tensor, y1: Tensor) -> Tensor:
        logits = functional_call(network, (theta, buffers), (x1[None],))  # (1, K)
        return f(learner.mask_logits(logits, y1[None]), y1[None])

    per_sample = vmap(grad(one), in_dims=(None, 0, 0))
    with evaluating(network), torch.enable_grad():
        for xc, yc in zip(x.split(chunk), y.split(chunk)):
            yield per_sample(params, xc, yc)  # {name: (n, *shape)}


def flat(grads: dict[str, Tensor]) -> Tensor:
    """Per-sample gradients as one row per sample, (n, P), in the network's parameter order."""
    return torch.cat([g.reshape(g.shape[0], -1) for g in grads.values()], dim=1)
