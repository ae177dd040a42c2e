"""Discrete flow matching on categorical data (Campbell et al. 2024; Gat et al. 2024; for graphs,
DeFoG, Qin et al. 2025): atoms and bonds stay classes the whole way from the prior to the data.

Training (Campbell et al. 2024): draw t ~ U(0, 1), replace each variable of x_0 by a draw from the
marginal prior with probability κ(t) (:class:`~genlab.generative.processes.discrete_flow.DiscreteFlowProcess`),
and train the network to recover the clean classes with cross-entropy — the modality's
``denoiser_loss``, the same loss as the continuous families' x_0-prediction:

    L = E_{t, x_0, x_t ~ p_t(·|x_0)} [ -log p̂_θ(x_0 | x_t) ].

Sampling starts from prior draws at t = 1 and takes ``sample_steps`` exact reverse steps
p(x_s | x_t) = (1 - λ) δ_{x_t} + λ p̂_θ(· | x_t) down to t = 0; each step is one network
evaluation and a class draw per atom and per pair (edges drawn once per unordered pair). Unlike a
Gaussian path, a half-finished sample is always a graph with definite bonds, so the network sees
at every step the very molecule the next step will change. The grid t_k = (1 - k/S)^p
(``grid_power`` p; the sample-time distortion of DeFoG, Qin et al. 2025) with p > 1 spends the
steps where molecules are finished (the comparison of grids on QM9 is in docs/benchmarks.md).

The network is unchanged: it reads x_t as the centred one-hot state of the continuous families
and returns class logits. **Self-conditioning** (Chen et al. 2023, §3.2) works as in flow matching
when the network has ``self_condition: true``: half of the training batches first estimate
E[x_0 | x_t] without gradient and feed it back; sampling feeds each step the previous estimate.

Needs a categorical modality (``class_probs``, ``class_prior``, ``sample_classes``,
``denoiser_probs``): molecular graphs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genlab.errors import ConfigError
from genlab.generative.families.base import Family, SampleResult, module_device, pick
from genlab.modalities.base import Modality, State
from genlab.generative.processes.discrete_flow import DiscreteFlowProcess
from genlab.generative.processes.time import reverse_grid, uniform_times

#: what a modality must offer to be sampled class by class
CATEGORICAL_METHODS = ("class_probs", "class_prior", "sample_classes", "denoiser_probs", "from_class_probs")


class DiscreteFlowMatchingFamily(Family):
    """``DiscreteFlowMatchingFamily(modality, process, network, loss_weights, sample_steps, grid_power)``:
    ``grid_power`` p > 1 places the sampling times t_k = (1 - k/S)^p closer together near the data."""

    def __init__(self, modality: Modality, process: DiscreteFlowProcess, network: nn.Module,
                 loss_weights: dict[str, float] | None = None, sample_steps: int = 50,
                 grid_power: float = 1.0) -> None:
        super().__init__(modality)
        missing = [m for m in CATEGORICAL_METHODS if not hasattr(modality, m)]
        if missing:
            raise ConfigError(f"discrete flow matching needs a categorical modality (molecules); "
                              f"{type(modality).__name__} has no {', '.join(missing)}", key="family.name")
        if sample_steps < 1:
            raise ConfigError(f"must be at least 1, got {sample_steps}", key="family.sample_steps")
        if not grid_power > 0:
            raise ConfigError(f"must be positive, got {grid_power}", key="family.grid_power")
        self.grid_power = float(grid_power)
        self.process, self.network = process, network
        self.loss_weights = dict(loss_weights or {})
        self.sample_steps = sample_steps
        self.self_condition = bool(getattr(network, "self_condition", False))
        self._samplers = {"euler": self._euler}

    def _logits(self, x_t: State, t: Tensor, cond: State | None) -> State:
        return self.network(x_t, t, cond) if self.self_condition else self.network(x_t, t)

    def corrupt(self, x_0: State, t: Tensor, generator: torch.Generator | None = None) -> State:
        """x_t ~ p_t(· | x_0): each atom and pair kept or replaced by a prior draw, as a one-hot state."""
        m = self.modality
        p_t = m.class_probs(x_0).map(lambda p, pi: self.process.corrupt(p, pi, t), m.class_prior(x_0))
        return m.sample_classes(p_t, generator)

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x_0 = self.modality.encode(batch).to(module_device(self))
        t = uniform_times(x_0.batch_size, device=x_0.device)  # (B,)
        x_t = self.corrupt(x_0, t)
        cond = None
        if self.self_condition and torch.rand(()) < 0.5:  # half of the batches see their own first estimate
            with torch.no_grad():
                cond = self.modality.denoiser_mean(self.network(x_t, t))
        loss = self.modality.denoiser_loss(self._logits(x_t, t, cond), x_0, self.loss_weights).mean()
        return loss, {"loss": loss.detach().item()}

    def _euler(self, n: int, steps: int, generator: torch.Generator | None) -> tuple[State, int]:
        m, device = self.modality, module_device(self)
        template = m.prior_template(n, device=device, generator=generator)
        x = m.sample_classes(m.class_prior(template), generator)  # x_1: prior draws
        grid = reverse_grid(steps, device=device, power=self.grid_power)  # (S+1,) from 1 down to 0
        cond = None
        for t, s in zip(grid[:-1], grid[1:]):
            t_b, s_b = t.expand(n), s.expand(n)  # (n,)
            p_0 = m.denoiser_probs(self._logits(x, t_b, cond))  # p̂(x_0 | x_t)
            if self.self_condition:
                cond = m.from_class_probs(p_0)
            p_s = m.class_probs(x).map(lambda p, q: self.process.reverse_step(p, q, t_b, s_b), p_0)
            x = m.sample_classes(p_s, generator)
        return x, steps

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        name = sampler or "euler"
        x, nfe = pick(self._samplers, name, "sampler")(n, steps or self.sample_steps, generator)
        return SampleResult(samples=self.modality.decode(x), nfe=nfe, extras={"sampler": name})
