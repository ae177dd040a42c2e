"""RealNVP (Dinh et al. 2017): exact maximum likelihood through a stack of coupling layers.

With a bijection f (a network from :mod:`genlab.networks.coupling_flows` or
:mod:`genlab.networks.graph_flows`) and a standard normal prior, the change of variables (eq. 3)
gives

    log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x|,

and training minimises −log p(x) / D. Sampling draws z ~ N(0, T² I) and returns f⁻¹(z) in one
network pass. On quantised images (``dequantize: true``) the data are uniformly dequantised and,
with ``logit_alpha``, mapped through the logit transform of §4.1 first; its Jacobian enters
log p, and bits/dim follow :mod:`genlab.generative.families.dequantization`. The logit transform
assumes the images modality's range [−1, 1] (widened by half a bin on each side when dequantising).

**Molecular graphs (GraphNVP, Madhawa et al. 2019)** are this family with ``categorical: true``
and the ``graphnvp_flow`` network: the flow reads the molecules modality's slot view, one-hot
X ∈ {0,1}^{N×(K+1)} ("no atom" included) and A ∈ {0,1}^{N×N×C}, dequantised as in §3.1,

    X' = X + c·u,   A' = A + c·u,   u ~ U[0, 1) per entry,   c = ``dequant_scale`` < 1,

so argmax_k X'_ik = argmax_k X_ik exactly (1 + c·u ≥ 1 > c·u'). Every entry is a dimension,
D = N(K+1) + N²C, and −log p(X', A') − D log c upper-bounds −log P(X, A) (Theis et al. 2016,
§3.1), which ``bits_per_dim`` reports. Generation (§3.4) draws z ~ N(0, T²I) over all entries,
inverts the flow (the adjacency first, then the nodes given its quantisation) and takes the argmax
per slot and per (symmetrised) pair; no valency check or correction.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genlab.errors import ConfigError
from genlab.generative.families.base import Family, SampleResult, module_device
from genlab.generative.families.dequantization import bits_per_dim, dequantize
from genlab.generative.flows.logit import LogitTransform
from genlab.modalities.base import Modality, State
from genlab.utils import checks
from genlab.generative.samplers.likelihood import LikelihoodResult, gaussian_log_prob


class RealNVPFamily(Family):
    """``RealNVPFamily(modality, network, dequantize, logit_alpha, temperature, categorical,
    dequant_scale)``."""

    def __init__(self, modality: Modality, network: nn.Module, dequantize: bool = False,
                 logit_alpha: float | None = None, temperature: float = 1.0, categorical: bool = False,
                 dequant_scale: float = 0.9) -> None:
        super().__init__(modality)
        if not (hasattr(network, "inverse")):
            raise TypeError(f"realnvp needs an invertible flow network (coupling_mlp, coupling_conv, graphnvp_flow), "
                            f"got {type(network).__name__}")
        view = "slots" if categorical else "state"
        if getattr(network, "view", "state") != view:
            raise ConfigError(f"categorical: {str(categorical).lower()} needs a flow on the modality's {view} view",
                              key="network.name")
        if categorical and (dequantize or logit_alpha is not None):
            raise ConfigError("categorical data are dequantised by dequant_scale; dequantize and logit_alpha "
                              "apply to continuous data only", key="family.categorical")
        checks.in_unit_interval("dequant_scale", dequant_scale, closed_low=False, closed_high=False)  # argmax recovers X
        checks.positive("temperature", temperature)
        self.flow = network
        self.dequantize, self.temperature = dequantize, temperature
        self.categorical, self.dequant_scale = categorical, dequant_scale
        self.data_scale = modality.data_scale
        widen = self.data_scale if dequantize else 0.0
        self.logit = None if logit_alpha is None else LogitTransform(logit_alpha, low=-1.0 - widen / 2, width=2.0 + widen)

    def _data(self, batch: Any, generator: torch.Generator | None = None) -> State:
        if self.categorical:  # (X', A') = (X, A) + c·u on the one-hot slots
            slots = self.modality.one_hot_slots(batch.to(module_device(self)))
            return slots.map(lambda v: v + self.dequant_scale * _uniform_like(v, generator))
        x = self.modality.encode(batch).to(module_device(self))
        return dequantize(x, self.data_scale, generator) if self.dequantize else x

    def dims(self, x: State) -> Tensor:
        """Free dimensions per sample, (B,): every entry of the slot view when categorical."""
        if self.categorical:
            return torch.full((x.batch_size,), x.flatten().shape[1], device=x.device)
        return self.modality.dims(x)

    def log_prob(self, x: State) -> tuple[Tensor, Tensor]:
        """(log p(x), log p_Z(f(x))), each (B,), for x in model units."""
        log_det = torch.zeros(x.batch_size, device=x.device)
        if self.logit is not None:
            y, log_det = self.logit(x.flatten())  # (B, D), (B,)
            x = x.unflatten(y)
        z, flow_log_det = self.flow(x)
        prior = gaussian_log_prob(z, 1.0, self.dims(z))  # (B,)
        return prior + log_det + flow_log_det, prior

    def log_likelihood(self, batch: Any, *, generator: torch.Generator | None = None) -> LikelihoodResult:
        """Exact log p of a batch (of its dequantised version when ``dequantize`` or ``categorical``)."""
        return self._likelihood(self._data(batch, generator))

    def _likelihood(self, x: State) -> LikelihoodResult:
        log_p, prior = self.log_prob(x)
        scale = self.dequant_scale if self.categorical else self.data_scale if self.dequantize else 1.0
        return LikelihoodResult(log_prob=log_p, nll_nats=-log_p, prior_log_prob=prior, nfe=1,
                                bits_per_dim=bits_per_dim(-log_p, self.dims(x), scale))

    def forward(self, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x = self._data(batch)
        result = self._likelihood(x)
        loss = (result.nll_nats / self.dims(x).to(result.nll_nats)).mean()  # nats per dimension
        return loss, {"loss": loss.item(), "nll": result.nll_nats.mean().item(),
                      "bits_per_dim": result.bits_per_dim.mean().item()}

    def _prior(self, n: int, generator: torch.Generator | None) -> State:
        """z ~ N(0, T² I): over every slot-view entry when categorical, else with the modality's
        symmetry and padding."""
        device = module_device(self)
        if self.categorical:
            dev = device if generator is None else generator.device
            shapes = self.modality.view_shapes("slots")
            return State({k: self.temperature * torch.randn(n, *shape, generator=generator, device=dev).to(device)
                          for k, shape in shapes.items()})
        template = self.modality.prior_template(n, device=device, generator=generator)
        return self.modality.noise(template, generator).map(lambda v: self.temperature * v)

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        """x = f⁻¹(z), z ~ N(0, T² I); ``sampler`` and ``steps`` do not apply (one pass)."""
        x = self.flow.inverse(self._prior(n, generator))
        if self.categorical:
            return SampleResult(samples=self.modality.decode_slots(x), nfe=1,
                                extras={"sampler": "inverse", "temperature": self.temperature})
        if self.logit is not None:
            x = x.unflatten(self.logit.inverse(x.flatten()))
        return SampleResult(samples=self.modality.decode(x), nfe=1, extras={"sampler": "inverse"})


def _uniform_like(v: Tensor, generator: torch.Generator | None) -> Tensor:
    dev = v.device if generator is None else generator.device
    return torch.rand(v.shape, generator=generator, device=dev).to(v.device)
