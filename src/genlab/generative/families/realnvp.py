"""RealNVP (Dinh et al. 2017): exact maximum likelihood through a stack of coupling layers.

With a bijection f (a network from :mod:`genlab.networks.coupling_flows`) and a standard normal
prior, the change of variables (eq. 3) gives

    log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x|,

and training minimises −log p(x) / D. Sampling draws z ~ N(0, T² I) and returns f⁻¹(z) in one
network pass. On quantised images (``dequantize: true``) the data are uniformly dequantised and,
with ``logit_alpha``, mapped through the logit transform of §4.1 first; its Jacobian enters
log p, and bits/dim follow :mod:`genlab.generative.families.dequantization`. The logit transform assumes the
images modality's range [−1, 1] (widened by half a bin on each side when dequantising).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genlab.generative.families._shared import module_device
from genlab.generative.families.base import Family, SampleResult
from genlab.generative.families.dequantization import bits_per_dim, dequantize
from genlab.generative.flows.logit import LogitTransform
from genlab.modalities.base import Modality, State
from genlab.generative.samplers.likelihood import LikelihoodResult, gaussian_log_prob


class RealNVPFamily(Family):
    """``RealNVPFamily(modality, network, dequantize, logit_alpha, temperature)``."""

    def __init__(self, modality: Modality, network: nn.Module, dequantize: bool = False,
                 logit_alpha: float | None = None, temperature: float = 1.0) -> None:
        super().__init__(modality)
        if not (hasattr(network, "inverse")):
            raise TypeError(f"realnvp needs an invertible flow network (coupling_mlp, coupling_conv), got {type(network).__name__}")
        self.flow = network
        self.dequantize, self.temperature = dequantize, temperature
        self.data_scale = getattr(modality, "data_scale", 1.0)
        widen = self.data_scale if dequantize else 0.0
        self.logit = None if logit_alpha is None else LogitTransform(logit_alpha, low=-1.0 - widen / 2, width=2.0 + widen)

    def _data(self, batch: Any, generator: torch.Generator | None = None) -> State:
        x = self.modality.encode(batch).to(module_device(self))
        return dequantize(x, self.data_scale, generator) if self.dequantize else x

    def log_prob(self, x: State) -> tuple[Tensor, Tensor]:
        """(log p(x), log p_Z(f(x))), each (B,), for x in model units."""
        log_det = torch.zeros(x.batch_size, device=x.device)
        if self.logit is not None:
            y, log_det = self.logit(x.flatten())  # (B, D), (B,)
            x = x.unflatten(y)
        z, flow_log_det = self.flow(x)
        prior = gaussian_log_prob(z, 1.0, self.modality.dims(z))  # (B,)
        return prior + log_det + flow_log_det, prior

    def log_likelihood(self, batch: Any, *, generator: torch.Generator | None = None) -> LikelihoodResult:
        """Exact log p of a batch (of its dequantised version when ``dequantize``)."""
        return self._likelihood(self._data(batch, generator))

    def _likelihood(self, x: State) -> LikelihoodResult:
        log_p, prior = self.log_prob(x)
        scale = self.data_scale if self.dequantize else 1.0
        return LikelihoodResult(log_prob=log_p, nll_nats=-log_p, prior_log_prob=prior, nfe=1,
                                bits_per_dim=bits_per_dim(-log_p, self.modality.dims(x), scale))

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x = self._data(batch)
        result = self._likelihood(x)
        loss = (result.nll_nats / self.modality.dims(x).to(result.nll_nats)).mean()  # nats per dimension
        return loss, {"loss": loss.item(), "nll": result.nll_nats.mean().item(),
                      "bits_per_dim": result.bits_per_dim.mean().item()}

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        """x = f⁻¹(z), z ~ N(0, T² I); ``sampler`` and ``steps`` do not apply (one pass)."""
        template = self.modality.prior_template(n, device=module_device(self), generator=generator)
        z = self.modality.noise(template, generator).map(lambda v: self.temperature * v)
        x = self.flow.inverse(z)
        if self.logit is not None:
            x = x.unflatten(self.logit.inverse(x.flatten()))
        return SampleResult(samples=self.modality.decode(x), nfe=1, extras={"sampler": "inverse"})
