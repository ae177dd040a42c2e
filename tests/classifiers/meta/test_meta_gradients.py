"""Meta-gradients with known answers: second-order MAML against ``higher`` and finite differences,
the closed form of one inner step on linear regression, first-order MAML, Reptile with one
inner step, vmap against the loop over tasks, and ANIL's head-only inner loop."""

from __future__ import annotations

import higher
import pytest
import torch
from torch import nn

from genlab.classifiers.meta.anil import ANIL
from genlab.classifiers.meta.maml import MAML
from genlab.classifiers.meta.reptile import Reptile
from genlab.data.episodes import TaskBatch
from genlab.modalities.images import ImagesModality
from genlab.modalities.points import PointsModality
from genlab.networks.few_shot import Conv4, FewShotMLP

ALPHA = 0.3


def regression_tasks(t: int = 3, s: int = 6, q: int = 7, d: int = 2, seed: int = 0) -> TaskBatch:
    """Float32 values (the modality encodes inputs as float32) held in float64."""
    g = torch.Generator().manual_seed(seed)
    x = lambda n: torch.randn(t, n, d, generator=g).double()  # noqa: E731
    y = lambda n: torch.randn(t, n, 1, generator=g).double()  # noqa: E731
    return TaskBatch(x(s), y(s), x(q), y(q))


def image_tasks(t: int = 3, n_way: int = 3, seed: int = 0) -> TaskBatch:
    g = torch.Generator().manual_seed(seed)
    images = lambda n: torch.rand(t, n, 1, 16, 16, generator=g).double() * 2 - 1  # noqa: E731
    labels = lambda k: torch.arange(n_way).repeat_interleave(k).repeat(t, 1)  # noqa: E731
    return TaskBatch(images(n_way), labels(1), images(2 * n_way), labels(2))


def mlp_learner(cls=MAML, seed: int = 0, **kwargs) -> MAML:
    torch.manual_seed(seed)
    network = FewShotMLP({"x": (2,)}, outputs=1, hidden=(8, 8)).double()
    return cls(PointsModality(dim=2), network, inner_lr=ALPHA, loss="mse", **kwargs)


def conv_learner(cls=MAML, seed: int = 0, fused_norm: bool = False, **kwargs) -> MAML:
    torch.manual_seed(seed)
    network = Conv4({"x": (1, 16, 16)}, classes=3, channels=4, fused_norm=fused_norm).double()
    return cls(ImagesModality(channels=1, height=16, width=16), network, inner_lr=ALPHA, **kwargs)


def meta_gradient(learner, batch: TaskBatch) -> list[torch.Tensor]:
    loss, _ = learner(batch)
    return list(torch.autograd.grad(loss, list(learner.network.parameters())))


def higher_gradient(learner, batch: TaskBatch, steps: int) -> list[torch.Tensor]:
    """The same meta-gradient through ``higher``'s differentiable optimiser (the reference)."""
    net = learner.network
    opt = torch.optim.SGD(net.parameters(), lr=ALPHA)
    total = 0.0
    for i in range(batch.n_tasks):
        with higher.innerloop_ctx(net, opt, copy_initial_weights=False) as (fnet, diffopt):
            for _ in range(steps):
                diffopt.step(nn.functional.mse_loss(fnet(batch.support_x[i]), batch.support_y[i]))
            total = total + nn.functional.mse_loss(fnet(batch.query_x[i]), batch.query_y[i])
    return list(torch.autograd.grad(total / batch.n_tasks, list(net.parameters())))


@pytest.mark.parametrize("vectorise", [True, False], ids=["vmap", "loop"])
def test_second_order_maml_equals_higher_and_finite_differences(vectorise):
    learner, batch = mlp_learner(inner_steps=2, vectorise=vectorise), regression_tasks()
    ours = meta_gradient(learner, batch)
    reference = higher_gradient(learner, batch, steps=2)
    for a, b in zip(ours, reference):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    params = list(learner.network.parameters())
    direction = [torch.randn_like(p) for p in params]
    eps = 1e-6

    def loss_at(scale: float) -> float:
        with torch.no_grad():
            for p, d in zip(params, direction):
                p.add_(scale * d)
            value = float(learner(batch)[0])
            for p, d in zip(params, direction):
                p.sub_(scale * d)
        return value

    finite = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    analytic = sum(float((g * d).sum()) for g, d in zip(ours, direction))
    assert analytic == pytest.approx(finite, rel=1e-6)


class LinearModel(nn.Module):
    """f_θ(x) = x θ, θ (D, 1): the linear regression of the closed form."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.randn(d, 1, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.theta  # (N, 1)


@pytest.mark.parametrize("vectorise", [True, False], ids=["vmap", "loop"])
def test_one_inner_step_on_linear_regression_is_the_closed_form(vectorise):
    """L(θ; X, y) = (1/n) ‖Xθ − y‖², ∇L = (2/n) Xᵀ(Xθ − y); θ' = θ − α (2/n_s) X_sᵀ(X_sθ − y_s) and
    ∇_θ L(θ'; X_q, y_q) = (I − α (2/n_s) X_sᵀX_s) (2/n_q) X_qᵀ(X_qθ' − y_q), averaged over tasks."""
    torch.manual_seed(0)
    d, batch = 3, regression_tasks(d=3, s=5, q=4)
    learner = MAML(PointsModality(dim=d), LinearModel(d), inner_lr=ALPHA, loss="mse", vectorise=vectorise)
    theta = learner.network.theta.detach()
    expected = torch.zeros_like(theta)
    for xs, ys, xq, yq in zip(batch.support_x, batch.support_y, batch.query_x, batch.query_y):
        ns, nq = len(xs), len(xq)
        adapted = theta - ALPHA * (2 / ns) * xs.T @ (xs @ theta - ys)
        jacobian = torch.eye(d, dtype=torch.float64) - ALPHA * (2 / ns) * xs.T @ xs
        expected += jacobian @ ((2 / nq) * xq.T @ (xq @ adapted - yq)) / batch.n_tasks
    (ours,) = meta_gradient(learner, batch)
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-12)
    first_order = MAML(PointsModality(dim=d), learner.network, inner_lr=ALPHA, loss="mse", first_order=True)
    (fo,) = meta_gradient(first_order, batch)
    expected_fo = sum((2 / len(xq)) * xq.T @ (xq @ (theta - ALPHA * (2 / len(xs)) * xs.T @ (xs @ theta - ys))
                                             - yq)
                      for xs, ys, xq, yq in zip(batch.support_x, batch.support_y, batch.query_x, batch.query_y))
    torch.testing.assert_close(fo, expected_fo / batch.n_tasks, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("vectorise", [True, False], ids=["vmap", "loop"])
def test_first_order_maml_is_the_query_gradient_at_the_adapted_parameters(vectorise):
    learner, batch = mlp_learner(inner_steps=3, first_order=True, vectorise=vectorise), regression_tasks()
    ours = meta_gradient(learner, batch)
    net, expected = learner.network, None
    for i in range(batch.n_tasks):  # plain autograd: adapt a copy, take the query gradient there
        copy = FewShotMLP({"x": (2,)}, outputs=1, hidden=(8, 8)).double()
        copy.load_state_dict(net.state_dict())
        for _ in range(3):
            grads = torch.autograd.grad(nn.functional.mse_loss(copy(batch.support_x[i]), batch.support_y[i]),
                                        list(copy.parameters()))
            with torch.no_grad():
                for p, g in zip(copy.parameters(), grads):
                    p.sub_(ALPHA * g)
        query = torch.autograd.grad(nn.functional.mse_loss(copy(batch.query_x[i]), batch.query_y[i]),
                                    list(copy.parameters()))
        expected = query if expected is None else [e + g for e, g in zip(expected, query)]
    for a, b in zip(ours, expected):
        torch.testing.assert_close(a, b / batch.n_tasks, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("vectorise", [True, False], ids=["vmap", "loop"])
def test_reptile_with_one_inner_step_is_a_scaled_sgd_step(vectorise):
    """θ − θ̃_i = α ∇L_i(θ) on the task's support and query points: the Reptile gradient is α times
    the mean task gradient, and one SGD step of size ε on it is θ + ε (mean θ̃_i − θ)."""
    learner, batch = mlp_learner(Reptile, vectorise=vectorise), regression_tasks()
    ours = meta_gradient(learner, batch)
    params = list(learner.network.parameters())
    task_grads = [torch.autograd.grad(nn.functional.mse_loss(
        learner.network(torch.cat([batch.support_x[i], batch.query_x[i]])),
        torch.cat([batch.support_y[i], batch.query_y[i]])), params) for i in range(batch.n_tasks)]
    for k, g in enumerate(ours):
        mean_task = sum(t[k] for t in task_grads) / batch.n_tasks
        torch.testing.assert_close(g, ALPHA * mean_task, rtol=1e-10, atol=1e-13)
    eps = 0.5
    before = [p.detach().clone() for p in params]
    theta_tilde = [[b - ALPHA * t[k] for k, b in enumerate(before)] for t in task_grads]
    opt = torch.optim.SGD(params, lr=eps)
    opt.zero_grad()
    learner(batch)[0].backward()
    opt.step()
    for k, (p, b) in enumerate(zip(params, before)):
        mean_tilde = sum(tt[k] for tt in theta_tilde) / batch.n_tasks
        torch.testing.assert_close(p.detach(), b + eps * (mean_tilde - b), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("cls,kwargs", [(MAML, {"inner_steps": 2}), (MAML, {"first_order": True}),
                                        (ANIL, {"inner_steps": 2}), (Reptile, {"inner_steps": 2})],
                         ids=["maml", "fomaml", "anil", "reptile"])
def test_vmap_and_the_loop_give_the_same_meta_gradient_through_batch_norm(cls, kwargs):
    batch = image_tasks()
    vmapped = meta_gradient(conv_learner(cls, vectorise=True, **kwargs), batch)
    looped = meta_gradient(conv_learner(cls, vectorise=False, **kwargs), batch)
    for a, b in zip(vmapped, looped):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    assert any(float(g.abs().max()) > 1e-6 for g in vmapped)


@pytest.mark.parametrize("cls,kwargs,vectorise", [
    (MAML, {"first_order": True}, True), (ANIL, {"inner_steps": 2}, True), (Reptile, {"inner_steps": 2}, True),
    (MAML, {"inner_steps": 2}, False)], ids=["fomaml-vmap", "anil-vmap", "reptile-vmap", "maml-loop"])
def test_the_fused_norm_gives_the_explicit_meta_gradient(cls, kwargs, vectorise):
    """PyTorch's batch-norm kernel is right to first order under vmap (first-order MAML, Reptile
    and ANIL, whose inner loop adapts the head after the last normalisation, may use it) and to
    second order outside vmap (any learner with the loop over tasks)."""
    batch = image_tasks()
    explicit = meta_gradient(conv_learner(cls, vectorise=False, **kwargs), batch)
    fused = meta_gradient(conv_learner(cls, vectorise=vectorise, fused_norm=True, **kwargs), batch)
    for a, b in zip(fused, explicit):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_anil_adapts_only_the_head():
    learner, batch = conv_learner(ANIL, inner_steps=3), image_tasks()
    data = learner.task_tensors(batch)
    params = learner.parameters_dict()
    adapted, fixed, _ = learner.adapt(params, data.support_x[0], data.support_y[0], 3, first_order=True)
    assert set(adapted) == {"weight", "bias"}  # the head's
    assert all(fixed[k] is params["features." + k] for k in fixed)  # the features are left as they were
    assert len(fixed) == len([k for k in params if k.startswith("features.")])
    assert not torch.equal(adapted["weight"], params["head.weight"])
    # the reference: SGD on a copy whose features are frozen, head trained on the support set
    copy = Conv4({"x": (1, 16, 16)}, classes=3, channels=4).double()
    copy.load_state_dict(learner.network.state_dict())
    for _ in range(3):
        loss = nn.functional.cross_entropy(copy(data.support_x[0]), data.support_y[0])
        grads = torch.autograd.grad(loss, list(copy.head.parameters()))
        with torch.no_grad():
            for p, g in zip(copy.head.parameters(), grads):
                p.sub_(ALPHA * g)
    torch.testing.assert_close(adapted["weight"], copy.head.weight, rtol=1e-10, atol=1e-12)
    for name, p in copy.features.named_parameters():
        assert torch.equal(p, learner.network.features.get_parameter(name))


def test_one_step_from_a_zero_head_gives_prototypes():
    """At w = 0 the softmax is uniform, so w'_c = α/N (Σ_{y_i = c} φ(x_i) − (1/C) Σ_i φ(x_i)), b' = 0."""
    learner, batch = conv_learner(ANIL, zero_head=True), image_tasks(n_way=3)
    data = learner.task_tensors(batch)
    x, y = data.query_x[0], data.query_y[0]  # 2 examples of each of 3 classes
    adapted, fixed, _ = learner.adapt(learner.parameters_dict(), x, y, 1, first_order=False)
    phi = learner.embed(fixed, x)  # (6, F)
    sums = torch.stack([phi[y == c].sum(0) for c in range(3)])  # (3, F)
    torch.testing.assert_close(adapted["weight"], ALPHA / len(y) * (sums - sums.mean(0)), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(adapted["bias"], torch.zeros(3, dtype=torch.float64), rtol=0, atol=1e-15)
