"""EWC and its Fisher: the closed-form minimiser of quadratic tasks, and the per-sample Fisher
against an explicit loop over samples (and against the square of the batch-mean gradient)."""

from __future__ import annotations

import torch
from torch import nn

from genlab.classifiers.continual.methods.ewc import EWC
from genlab.classifiers.continual.methods.fisher import fisher_diagonal, log_likelihood
from genlab.classifiers.continual.methods.l2 import L2
from genlab.classifiers.continual.methods.online_ewc import OnlineEWC
from helpers import context, experience, image_learner


class Holder(nn.Module):
    """Just a ``network``: what a method's ``attach`` and ``penalty`` read of a learner."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.network = nn.Linear(dim, 1, bias=False).double()


def minimise(loss, theta: nn.Parameter, steps: int = 4000, lr: float = 0.05) -> torch.Tensor:
    optimizer = torch.optim.SGD([theta], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    return theta.detach().clone()


def test_ewc_on_diagonal_quadratic_tasks_lands_on_the_precision_weighted_mean():
    g = torch.Generator().manual_seed(1)
    mu = [torch.randn(1, 5, generator=g, dtype=torch.float64) for _ in range(3)]  # optima of tasks A, B, C
    fisher = [torch.rand(1, 5, generator=g, dtype=torch.float64) + 0.1 for _ in range(2)]
    a_c, lam = torch.rand(1, 5, generator=g, dtype=torch.float64) + 0.5, 3.0
    holder = Holder(5)
    ewc = EWC(lam=lam)
    ewc.attach(holder)
    ewc.consolidate({"weight": mu[0]}, {"weight": fisher[0]})  # task A learned: its optimum and Fisher
    theta = holder.network.weight
    task_b = lambda: 0.5 * (a_c * (theta - mu[1]) ** 2).sum()  # noqa: E731  (B's curvature a_c as well)
    landed = minimise(lambda: task_b() + ewc.penalty(holder), theta)
    expected = (a_c * mu[1] + lam * fisher[0] * mu[0]) / (a_c + lam * fisher[0])
    assert torch.allclose(landed, expected, atol=1e-10)

    ewc.consolidate({"weight": mu[1]}, {"weight": fisher[1]})  # task B learned: one penalty for A and B
    task_c = lambda: 0.5 * (a_c * (theta - mu[2]) ** 2).sum()  # noqa: E731
    landed = minimise(lambda: task_c() + ewc.penalty(holder), theta)
    expected = ((a_c * mu[2] + lam * (fisher[0] * mu[0] + fisher[1] * mu[1]))
                / (a_c + lam * (fisher[0] + fisher[1])))
    assert torch.allclose(landed, expected, atol=1e-10)
    # the merged penalty has the gradient of Kirkpatrick et al.'s sum of one penalty per task
    theta.grad = None
    ewc.penalty(holder).backward()
    explicit = lam * (fisher[0] * (theta - mu[0]) + fisher[1] * (theta - mu[1]))
    assert torch.allclose(theta.grad, explicit.detach(), atol=1e-12)


def test_online_ewc_decays_the_running_fisher_and_keeps_one_anchor():
    learner = image_learner({"name": "online_ewc", "lam": 1.0, "gamma": 0.5, "fisher_samples": 40})
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 1, 4, 4, generator=g, dtype=torch.float64) * 2 - 1, torch.randint(3, (40,), generator=g)
    exp = experience(x, y)
    learner.method.after_experience(learner, exp, context())
    first = {k: v.clone() for k, v in learner.method.fisher.items()}
    fisher = fisher_diagonal(learner, *learner.examples(exp.train, torch.arange(40)))
    with torch.no_grad():
        for p in learner.network.parameters():
            p.add_(0.1)
    learner.method.after_experience(learner, exp, context(1))
    second = fisher_diagonal(learner, *learner.examples(exp.train, torch.arange(40)))
    for name, p in learner.network.named_parameters():
        assert torch.allclose(first[name], fisher[name], atol=1e-14)
        assert torch.allclose(learner.method.fisher[name], 0.5 * fisher[name] + second[name], atol=1e-14)
        assert torch.equal(learner.method.anchor[name], p.detach())


def test_l2_penalty_is_zero_until_an_experience_ends_then_half_lambda_squared_distance():
    learner = image_learner({"name": "l2", "lam": 4.0})
    assert learner.method.penalty(learner) == 0
    x, y = torch.zeros(3, 1, 4, 4, dtype=torch.float64), torch.tensor([0, 1, 2])
    learner.method.after_experience(learner, experience(x, y), context())
    with torch.no_grad():
        learner.network.layers[1].bias.add_(0.5)  # 7 biases moved by 0.5
    assert torch.isclose(learner.method.penalty(learner), torch.tensor(0.5 * 4.0 * 7 * 0.25, dtype=torch.float64))
    assert isinstance(learner.method, L2)


def test_per_sample_fisher_equals_a_loop_over_samples_and_not_the_squared_mean_gradient():
    learner = image_learner("ewc")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(25, 1, 4, 4, generator=g, dtype=torch.float64)
    y = torch.randint(3, (25,), generator=g)
    fisher = fisher_diagonal(learner, x, y, chunk=7)  # several chunks
    loop = {name: torch.zeros_like(p) for name, p in learner.network.named_parameters()}
    mean = {name: torch.zeros_like(p) for name, p in learner.network.named_parameters()}
    for n in range(25):
        learner.network.zero_grad()
        log_likelihood(learner.logits(x[n:n + 1]), y[n:n + 1]).backward()
        for name, p in learner.network.named_parameters():
            loop[name] += p.grad ** 2 / 25
            mean[name] += p.grad / 25
    for name in loop:
        assert torch.allclose(fisher[name], loop[name], rtol=1e-12, atol=1e-15)
        # the bug: the square of the batch-mean gradient is another (much smaller) quantity
        assert (fisher[name] - mean[name] ** 2).abs().max() > 0.1 * fisher[name].abs().max()
    assert isinstance(learner.method, EWC) and OnlineEWC is not None
