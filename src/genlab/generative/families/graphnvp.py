"""GraphNVP (Madhawa et al. 2019): exact maximum likelihood of dequantised molecular graphs.

A molecule is a node tensor X ∈ {0,1}^{N×(K+1)} (K atom types plus the virtual "no atom" type)
and an adjacency tensor A ∈ {0,1}^{N×N×C} (no bond, single, double, triple), both one-hot
(:mod:`genlab.generative.families.graph_categorical`). They are dequantised as in §3.1,

    X' = X + c·u,   A' = A + c·u,   u ~ U[0, 1) per entry,   c = ``dequant_scale`` < 1,

so argmax_k X'_ik = argmax_k X_ik exactly (1 + c·u ≥ 1 > c·u'), and the invertible network
f = (f_A, f_X) of :mod:`genlab.networks.graph_flows` maps (X', A') to a standard normal
z = (z_X, z_A). Training minimises the exact negative log-likelihood (change of variables, eq. 2)

    −log p(X', A') = −log N(f(X', A'); 0, I) − log |det ∂f/∂(X', A')|,

per dimension D = N(K+1) + N²C. Because p(X', A') integrates over the dequantisation cube of side
c, −log p(X', A') − D log c upper-bounds −log P(X, A) (Theis et al. 2016, §3.1): ``bits_per_dim``
reports that bound.

Generation (§3.4) draws z ~ N(0, σ²I) (σ = ``temperature``; the paper samples below σ = 1),
inverts the adjacency flow, quantises Â = argmax of the symmetrised A', inverts the node flow
given Â and takes the argmax per node. No valency check or correction is applied.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genlab.generative.families._shared import module_device
from genlab.generative.families.base import Family, SampleResult
from genlab.generative.families.graph_categorical import graph_from_scores, one_hot_graphs
from genlab.generative.families.registry import FAMILIES
from genlab.modalities.base import State
from genlab.modalities.molecules import GraphBatch, MolecularGraphModality
from genlab.generative.samplers.likelihood import LikelihoodResult


class GraphNVPFamily(Family):
    """``GraphNVPFamily(modality, network, dequant_scale, temperature)``; ``network`` is a
    ``graphnvp_flow``."""

    def __init__(self, modality: MolecularGraphModality, network: nn.Module, dequant_scale: float = 0.9,
                 temperature: float = 0.85) -> None:
        super().__init__(modality)
        if not hasattr(network, "inverse") or not hasattr(network, "node_classes"):
            raise TypeError(f"graphnvp needs a graphnvp_flow network, got {type(network).__name__}")
        if not 0.0 < dequant_scale < 1.0:
            raise ValueError(f"dequant_scale must be in (0, 1) so that argmax recovers the data, got {dequant_scale}")
        self.flow = network
        self.dequant_scale, self.temperature = dequant_scale, temperature

    # --- data <-> dequantised tensors ---------------------------------------------------------

    def dequantize(self, batch: GraphBatch, generator: torch.Generator | None = None) -> State:
        """(X', A') = (X, A) + c·u: a State {"x": (B, N, K+1), "adj": (B, N, N, C)}."""
        x, a = one_hot_graphs(batch.to(module_device(self)), self.modality)

        def spread(v: Tensor) -> Tensor:
            dev = v.device if generator is None else generator.device
            return v + self.dequant_scale * torch.rand(v.shape, generator=generator, device=dev).to(v.device)

        return State({"x": spread(x), "adj": spread(a)})

    def quantize(self, g: State) -> GraphBatch:
        """Argmax per node and per (symmetrised) pair, through the modality's decode."""
        return graph_from_scores(g.parts["x"], g.parts["adj"], self.modality)

    # --- likelihood -----------------------------------------------------------------------------

    @staticmethod
    def dims(g: State) -> int:
        """D = N(K+1) + N²C, every entry of both tensors."""
        return sum(v[0].numel() for v in g.parts.values())

    def log_prob(self, g: State) -> tuple[Tensor, Tensor]:
        """(log p(X', A'), log N(z; 0, I)), each (B,)."""
        z, log_det = self.flow(g)
        flat = z.flatten()  # (B, D)
        prior = -0.5 * (flat**2).sum(1) - 0.5 * flat.shape[1] * math.log(2 * math.pi)  # (B,)
        return prior + log_det, prior

    def _likelihood(self, g: State) -> LikelihoodResult:
        log_p, prior = self.log_prob(g)
        d = self.dims(g)
        bits = (-log_p - d * math.log(self.dequant_scale)) / (d * math.log(2))  # bound on −log2 P(X, A) / D
        return LikelihoodResult(log_prob=log_p, nll_nats=-log_p, bits_per_dim=bits, prior_log_prob=prior, nfe=1)

    @torch.no_grad()
    def log_likelihood(self, batch: GraphBatch, *, generator: torch.Generator | None = None) -> LikelihoodResult:
        return self._likelihood(self.dequantize(batch, generator))

    def forward(self, batch: GraphBatch) -> tuple[Tensor, dict[str, float]]:
        g = self.dequantize(batch)
        result = self._likelihood(g)
        loss = result.nll_nats.mean() / self.dims(g)  # nats per dimension
        return loss, {"loss": loss.item(), "nll": result.nll_nats.mean().item(),
                      "bits_per_dim": result.bits_per_dim.mean().item()}

    # --- generation -----------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        """z ~ N(0, σ²I); A' = f_A⁻¹(z_A); X' = f_X⁻¹(z_X; Â); argmax. One pass of each flow."""
        device = module_device(self)
        dev = device if generator is None else generator.device
        N, K1, C = self.flow.n, self.flow.node_classes, self.flow.edge_classes
        z_x = torch.randn(n, N, K1, generator=generator, device=dev).to(device)  # (n, N, K+1)
        z_a = torch.randn(n, N, N, C, generator=generator, device=dev).to(device)  # (n, N, N, C)
        z = State({"x": self.temperature * z_x, "adj": self.temperature * z_a})
        return SampleResult(samples=self.quantize(self.flow.inverse(z)), nfe=1,
                            extras={"sampler": "inverse", "temperature": self.temperature})


FAMILIES.register("graphnvp")(GraphNVPFamily)
