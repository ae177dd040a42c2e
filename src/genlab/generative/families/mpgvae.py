"""MPGVAE (Flam-Shepherd, Wu & Aspuru-Guzik 2021): a one-shot graph VAE with message-passing
encoder and decoder (:mod:`genlab.networks.mpnn`).

The encoder's set2set features give q(z | G) = N(μ, diag σ²) through a linear head; the decoder
maps z ~ N(0, I) to independent categoricals per node slot (K atom types + "no atom") and per
pair i < j (no bond, single, double, triple). Training maximises the ELBO (Kingma & Welling 2014,
eq. 10) with a KL weight β (``kl_weight``):

    L(G) = E_q[log p(X | z) + log p(A | z)] − β KL(q(z | G) ‖ N(0, I)),
    log p(X | z) = Σ_i log p(x_i | z),   log p(A | z) = Σ_{i<j} log p(a_ij | z).

**Posterior collapse.** The decoder's GRU over slots can emit one plausible molecule without
looking at z, and early in training that is cheaper than paying for an informative q(z | G): with
β = 1 from the first step the KL fell to ≈ 0.005 nats within 150 steps on QM9 and every sample decodes
to the same molecule. Two remedies of :mod:`genlab.generative.families.kl_schedule`, used in training only:
``kl_warmup`` = W multiplies β by min(1, i / W) over the first W iterations, and ``free_bits`` = λ
replaces the KL by Σ_j max(λ, E_batch KL_j) (Kingma et al. 2016, App. C.8). The reported ``kl`` and
``elbo`` are always the plain ones.

**Reconstruction without graph matching.** The likelihood compares slot i of the decoder with
atom i of the data, which is only meaningful if every molecule always comes in the same atom
order. In genlab it does: :mod:`genlab.data.molecules` encodes each molecule with the atom indices
RDKit assigns when it parses the dataset's SMILES string, i.e. the order in which atoms appear in
that string, and caches the tensors; each molecule appears once per split, so its order is a
fixed function of the molecule. For MOSES the source SMILES are RDKit-canonical, so this is
RDKit's canonical atom ranking (checked: 1,999 of the first 2,000 training molecules); for QM9 it
is the order of the GDB-9 SMILES (RDKit's canonical order for about 70% of them). Either way the
atoms of a molecule follow a depth-first traversal of its SMILES, so bonded atoms sit close in
the order and the decoder's GRU over slots can learn it. That is the reason MPGVAE needs no
permutation-invariant loss or graph matching (Simonovsky & Komodakis 2018's GraphVAE needs one
because its targets have no fixed order); the encoder is permutation invariant all the same.

Sampling decodes z ~ N(0, I) and takes the most likely class per slot and pair (``sample_mode:
argmax``, as in the paper) or draws from the categoricals (``categorical``); no valency fixing.
"""

from __future__ import annotations


import torch
from torch import Tensor, nn

from genlab.generative.families._shared import module_device
from genlab.generative.families.base import Family, SampleResult
from genlab.generative.families.graph_categorical import categorical_nll, graph_from_classes, graph_from_scores
from genlab.generative.families.kl_schedule import free_bits_kl, gaussian_kl, training_beta
from genlab.generative.families.registry import FAMILIES
from genlab.modalities.base import State
from genlab.modalities.molecules import GraphBatch, MolecularGraphModality

SAMPLE_MODES = ("argmax", "categorical")


def reconstruction_nll(decoder: nn.Module, z: Tensor, batch: GraphBatch) -> tuple[Tensor, Tensor]:
    """(−log p(X | z), −log p(A | z)), each (B,), for a decoder of node and edge logits."""
    logits = decoder(z)
    return categorical_nll(logits.parts["x"], logits.parts["adj"], batch)


def decode_latents(decoder: nn.Module, z: Tensor, modality: MolecularGraphModality, mode: str,
                   generator: torch.Generator | None = None) -> GraphBatch:
    """Graphs from latents: the argmax per slot and pair, or one draw from each categorical."""
    logits = decoder(z)
    x_logits, adj_logits = logits.parts["x"], logits.parts["adj"]  # (n, N, K+1), (n, N, N, C)
    if mode == "argmax":
        return graph_from_scores(x_logits, adj_logits, modality)
    n, N, K1 = x_logits.shape
    C = adj_logits.shape[-1]
    dev = z.device if generator is None else generator.device
    atoms = torch.multinomial(x_logits.softmax(-1).reshape(-1, K1).to(dev), 1, generator=generator).view(n, N)
    edges = torch.multinomial(adj_logits.softmax(-1).reshape(-1, C).to(dev), 1, generator=generator).view(n, N, N)
    edges = torch.triu(edges, diagonal=1)
    return graph_from_classes(atoms.to(z.device), (edges + edges.transpose(1, 2)).to(z.device), modality)


def check_sample_mode(mode: str) -> None:
    if mode not in SAMPLE_MODES:
        raise ValueError(f"sample_mode must be one of {SAMPLE_MODES}, got {mode!r}")


class MPGVAEFamily(Family):
    """``MPGVAEFamily(modality, encoder, decoder, kl_weight, kl_warmup, free_bits, sample_mode)``;
    networks ``mpnn_encoder`` and ``mpnn_decoder``."""

    def __init__(self, modality: MolecularGraphModality, encoder: nn.Module, decoder: nn.Module,
                 kl_weight: float = 1.0, kl_warmup: int = 0, free_bits: float = 0.0,
                 sample_mode: str = "argmax") -> None:
        super().__init__(modality)
        check_sample_mode(sample_mode)
        if kl_warmup < 0 or free_bits < 0:
            raise ValueError(f"kl_warmup and free_bits must be ≥ 0, got {kl_warmup} and {free_bits}")
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = decoder.latent_dim
        self.posterior_head = nn.Linear(encoder.out_dim, 2 * self.latent_dim)  # h -> (μ, log σ)
        self.kl_weight, self.kl_warmup, self.free_bits = kl_weight, kl_warmup, free_bits
        self.sample_mode = sample_mode
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))  # training forward calls

    def posterior(self, batch: GraphBatch) -> tuple[Tensor, Tensor]:
        """(μ, log σ) of q(z | G), each (B, L)."""
        g: State = self.modality.encode(batch)
        mu, log_sigma = self.posterior_head(self.encoder(g)).chunk(2, dim=1)
        return mu, log_sigma

    def forward(self, batch: GraphBatch) -> tuple[Tensor, dict[str, float]]:
        batch = batch.to(module_device(self))
        mu, log_sigma = self.posterior(batch)  # (B, L)
        z = mu + torch.exp(log_sigma) * torch.randn_like(mu)  # (B, L)
        node_nll, edge_nll = reconstruction_nll(self.decoder, z, batch)  # (B,), (B,)
        kl_j = gaussian_kl(mu, log_sigma)  # (B, L)
        kl = kl_j.sum(1)  # (B,)
        beta = self.kl_weight * training_beta(self.iteration, self.kl_warmup, self.training)
        kl_term = free_bits_kl(kl_j, self.free_bits) if self.training and self.free_bits > 0 else kl.mean()
        n = batch.atoms.shape[1]
        variables = n + n * (n - 1) // 2  # categorical variables per graph
        loss = ((node_nll + edge_nll).mean() + beta * kl_term) / variables
        return loss, {"loss": loss.item(), "node_nll": node_nll.mean().item(), "edge_nll": edge_nll.mean().item(),
                      "kl": kl.mean().item(), "beta": beta, "elbo": -(node_nll + edge_nll + kl).mean().item()}

    @torch.no_grad()
    def reconstruct(self, batch: GraphBatch) -> GraphBatch:
        """argmax p(G | μ(G)): the decoder's reading of the posterior mean."""
        mu, _ = self.posterior(batch.to(module_device(self)))
        return decode_latents(self.decoder, mu, self.modality, "argmax")

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        """z ~ N(0, I), G from p(G | z) (``sampler`` overrides ``sample_mode``): one decoder pass."""
        mode = sampler or self.sample_mode
        check_sample_mode(mode)
        device = module_device(self)
        dev = device if generator is None else generator.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=dev).to(device)  # (n, L)
        return SampleResult(samples=decode_latents(self.decoder, z, self.modality, mode, generator), nfe=1,
                            extras={"sampler": mode})


FAMILIES.register("mpgvae")(MPGVAEFamily)
