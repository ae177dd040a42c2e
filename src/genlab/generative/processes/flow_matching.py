"""Flow-matching probability paths: rectified/linear (Lipman et al. 2023; Liu et al. 2023) and
minibatch-OT coupled (OT-CFM, Tong et al. 2023).

In genlab's time convention (t = 0 data, t = 1 prior noise x_1 ~ N(0, I)) the conditional path of
Lipman et al. (2023), §4.1 (optimal-transport conditional path), reads

    x_t = (1 - t) x_0 + (σ_min + (1 - σ_min) t) x_1,      u_t = dx_t/dt = -x_0 + (1 - σ_min) x_1,

(σ_min = 0: the rectified-flow line). With ``coupling="ot"`` the pairs (x_0, x_1) of a minibatch
are matched by an exact OT plan for the squared Euclidean cost (Tong et al. 2023),
which for two equal-size uniform batches is a permutation (Hungarian algorithm).
"""

from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from genlab.generative.processes.base import GaussianPath, PathSample
from genlab.registry import Registry
from genlab.utils.broadcast import expand_like
from genlab.utils.checks import in_unit_interval, one_of

#: name -> fn(x_0, x_1) -> index (B,) such that (x_0, x_1[index]) are the training pairs
COUPLINGS: Registry = Registry("coupling")


@COUPLINGS.register("independent")
def independent_coupling(x_0: Tensor, x_1: Tensor) -> Tensor:
    """π = q(x_0) q(x_1): keep the pairs as drawn."""
    return torch.arange(x_1.shape[0], device=x_1.device)


@COUPLINGS.register("ot")
def ot_coupling(x_0: Tensor, x_1: Tensor) -> Tensor:
    """Minibatch OT plan for ‖x_0 - x_1‖² (Tong et al. 2023): the optimal permutation."""
    cost = torch.cdist(x_0.flatten(1).double(), x_1.flatten(1).double()) ** 2  # (B, B)
    rows, cols = linear_sum_assignment(cost.cpu().numpy())
    index = torch.empty(x_1.shape[0], dtype=torch.long)
    index[torch.as_tensor(rows)] = torch.as_tensor(cols)
    return index.to(x_1.device)


class FlowMatchingProcess(GaussianPath):
    """Linear conditional path with optional minimum noise ``sigma_min`` and a coupling."""

    prior_std = 1.0

    def __init__(self, coupling: str = "independent", sigma_min: float = 0.0) -> None:
        one_of("coupling", coupling, COUPLINGS.names())
        in_unit_interval("sigma_min", sigma_min, closed_high=False)  # σ_min = 1: x_t never reaches the data
        self.coupling = coupling
        self._couple = COUPLINGS.get(coupling)
        self.sigma_min = sigma_min

    def marginal_coeffs(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """m(t) = 1 - t, s(t) = σ_min + (1 - σ_min) t, each (B,)."""
        return 1 - t, self.sigma_min + (1 - self.sigma_min) * t

    def marginal_rates(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """(dm/dt, ds/dt) = (-1, 1 - σ_min), each (B,)."""
        return -torch.ones_like(t), (1 - self.sigma_min) * torch.ones_like(t)

    def couple(self, x_0: Tensor, x_1: Tensor) -> Tensor:
        """Index (B,) that reorders the noise batch so that (x_0[b], x_1[index[b]]) follow the
        coupling; x_0, x_1 are (B, ...) (a family passes ``State.flatten()`` of each)."""
        return self._couple(x_0, x_1)

    def path(self, x_0: Tensor, x_1: Tensor, t: Tensor) -> PathSample:
        """x_t and the conditional velocity u_t(x_t | x_0, x_1) = ṁ x_0 + ṡ x_1."""
        dm, ds = self.marginal_rates(t)
        u_t = expand_like(dm, x_0) * x_0 + expand_like(ds, x_1) * x_1
        return PathSample(x_t=self.perturb(x_0, x_1, t), target=u_t)
