"""Inner loops as pure functions of parameters, and the map over the tasks of a meta-batch.

``sgd_steps(loss_of, θ, α, n)`` is n steps of plain gradient descent θ_{j+1} = θ_j − α ∇L(θ_j) on
a dictionary of tensors (Finn et al. 2017, "Model-agnostic meta-learning", Alg. 2 line 7;
Nichol et al. 2018, "On first-order meta-learning algorithms", Alg. 1 inner loop). The gradient
is ``torch.func.grad``, which composes with the outer autograd: the returned parameters are a
differentiable function of θ, so ``autograd`` of a loss at them is MAML's second-order
meta-gradient. With ``first_order=True`` each gradient is taken at detached parameters,
θ_{j+1} = θ_j − α sg(∇L(θ_j)), so dθ_n/dθ = I: first-order MAML (Finn et al. sec. 5.2) and the
inner loop of Reptile, without building the graph of the inner gradients.

``over_tasks(fn, *tensors, vectorise=...)`` applies a per-task function to each task of
(T, ...) tensors: with ``torch.func.vmap`` (one batched call) or with a Python loop over the
tasks, the reference; both stack the outputs along a new leading task axis.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

Params = dict[str, Tensor]


def sgd_steps(loss_of: Callable[[Params], Tensor], params: Params, lr: float, steps: int,
              first_order: bool = False) -> tuple[Params, Tensor | None]:
    """``steps`` gradient-descent steps of size ``lr`` from ``params`` on ``loss_of``; returns the
    adapted parameters and the loss at the starting point (None when ``steps`` is 0)."""
    first_loss = None
    for _ in range(steps):
        start = {k: v.detach() for k, v in params.items()} if first_order else params
        grads, loss = torch.func.grad_and_value(loss_of)(start)
        if first_loss is None:
            first_loss = loss
        params = {k: v - lr * grads[k] for k, v in params.items()}  # θ_{j+1} = θ_j − α ∇L(θ_j)
    return params, first_loss


def over_tasks(fn: Callable[..., tuple[Tensor, ...]], *tensors: Tensor, vectorise: bool) -> tuple[Tensor, ...]:
    """``fn`` applied to task t of each (T, ...) tensor, outputs stacked to (T, ...): one
    ``torch.func.vmap`` call, or a Python loop over the T tasks."""
    if vectorise:
        return tuple(torch.func.vmap(fn)(*tensors))
    per_task = [fn(*(x[t] for x in tensors)) for t in range(tensors[0].shape[0])]
    return tuple(torch.stack(outs) for outs in zip(*per_task))
