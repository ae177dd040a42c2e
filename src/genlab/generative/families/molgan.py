"""MolGAN without the reward network (De Cao & Kipf 2018, §3): a graph GAN whose generator emits
categorical node and edge tensors and whose critic is a relational GCN.

Generator (``graph_generator``): z ~ N(0, I_L) -> logits over K+1 node classes ("no atom" first)
and C edge classes per pair. To keep the generator differentiable, its discrete graph is relaxed
with the Gumbel-softmax (Jang et al. 2017, eq. 1; Maddison et al. 2017) at temperature τ:

    X̃_ik = softmax_k((l_ik + g_ik) / τ),   Ã_ijc = softmax_c((l_ijc + g_ijc) / τ),   g ~ Gumbel(0, 1),

with one Gumbel draw per unordered pair (g_ij = g_ji, so Ã is symmetric) and the diagonal set to
"no bond"; ``hard: true`` uses the straight-through one-hot (forward: argmax, backward: the soft
gradient), MolGAN's best variant (§4, Table 2 discusses both). The critic (``rgcn_critic``) reads
one-hot data (X, A) and relaxed samples (X̃, Ã) alike.

Objective: any of :data:`genlab.generative.families.gan_objectives.GAN_OBJECTIVES`; MolGAN uses WGAN-GP
(Gulrajani et al. 2017, §4, App. B: λ = 10, n_critic = 5). Each iteration: a critic step
(optimizer 1) on a data batch and detached samples, then every ``n_critic`` iterations a
generator step (optimizer 0). The RL reward of MolGAN's §3.4 is not included (λ_RL = 0 in its
notation, the "pure GAN" row of Table 2).

Sampling draws the exact categorical sample (Gumbel-max: argmax of l + g, per unordered pair for
the edges), or with ``sample_mode: argmax`` the most likely graph. No valency fixing.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.generative.families._shared import module_device
from genlab.generative.families.base import AdversarialLoss, Family, SampleResult
from genlab.generative.families.gan_objectives import GAN_OBJECTIVES
from genlab.generative.families.graph_categorical import graph_from_scores, one_hot_graphs
from genlab.generative.families.registry import FAMILIES
from genlab.modalities.base import State
from genlab.modalities.molecules import GraphBatch, MolecularGraphModality


SAMPLE_MODES = ("categorical", "argmax")


def gumbel(shape: tuple[int, ...], device: torch.device, generator: torch.Generator | None = None) -> Tensor:
    """Standard Gumbel noise −log(−log u), u ~ U(0, 1)."""
    dev = device if generator is None else generator.device
    u = torch.rand(shape, generator=generator, device=dev).to(device)
    return -torch.log(-torch.log(u.clamp(1e-10, 1.0 - 1e-7)))


def symmetric_gumbel(shape: tuple[int, ...], device: torch.device, generator: torch.Generator | None = None) -> Tensor:
    """Gumbel noise (B, N, N, C) with g_ij = g_ji: one draw per unordered pair."""
    g = torch.triu(gumbel(shape, device, generator).movedim(-1, 1), diagonal=1)  # (B, C, N, N)
    return (g + g.transpose(-1, -2)).movedim(1, -1)


class MolGANFamily(Family):
    """``MolGANFamily(modality, generator, critic, objective, n_critic, temperature, hard,
    sample_mode)``; networks ``graph_generator`` and ``rgcn_critic``."""

    n_optimizers = 2

    def __init__(self, modality: MolecularGraphModality, generator: nn.Module, critic: nn.Module,
                 objective: Mapping[str, Any] = {"name": "wgan_gp", "gp_weight": 10.0}, n_critic: int = 5,
                 temperature: float = 1.0, hard: bool = False, sample_mode: str = "categorical") -> None:
        super().__init__(modality)
        if n_critic < 1:
            raise ValueError(f"n_critic must be at least 1, got {n_critic}")
        if sample_mode not in SAMPLE_MODES:
            raise ValueError(f"sample_mode must be one of {SAMPLE_MODES}, got {sample_mode!r}")
        self.generator, self.critic = generator, critic
        self.critic_head = nn.Linear(critic.out_dim, 1)
        self.objective = GAN_OBJECTIVES.build(dict(objective))
        self.latent_dim, self.n_critic = generator.latent_dim, n_critic
        self.temperature, self.hard, self.sample_mode = temperature, hard, sample_mode

    def optimizer_parameters(self) -> list[list[nn.Parameter]]:
        return [list(self.generator.parameters()), self.critic_parameters()]

    def critic_parameters(self) -> list[nn.Parameter]:
        return [*self.critic.parameters(), *self.critic_head.parameters()]

    def score(self, g: State) -> Tensor:
        """Critic scores D(X, A), (B,)."""
        return self.critic_head(self.critic(g)).squeeze(1)

    def _logits(self, n: int, generator: torch.Generator | None = None) -> State:
        device = module_device(self)
        dev = device if generator is None else generator.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=dev).to(device)  # (n, L)
        return self.generator(z)

    def relaxed(self, logits: State) -> State:
        """Gumbel-softmax relaxation (X̃ (B, N, K+1), Ã (B, N, N, C)) of the generator's logits."""
        x, a = logits.parts["x"], logits.parts["adj"]
        x_soft = F.softmax((x + gumbel(tuple(x.shape), x.device)) / self.temperature, dim=-1)
        a_soft = F.softmax((a + symmetric_gumbel(tuple(a.shape), a.device)) / self.temperature, dim=-1)
        if self.hard:  # straight-through: one-hot forward, soft gradient
            x_soft = F.one_hot(x_soft.argmax(-1), x.shape[-1]).to(x) - x_soft.detach() + x_soft
            a_soft = F.one_hot(a_soft.argmax(-1), a.shape[-1]).to(a) - a_soft.detach() + a_soft
        n = a.shape[1]
        eye = torch.eye(n, dtype=torch.bool, device=a.device)[None, :, :, None]  # (1, N, N, 1)
        no_bond = F.one_hot(torch.zeros((), dtype=torch.long, device=a.device), a.shape[-1]).to(a)  # (C,)
        return State({"x": x_soft, "adj": torch.where(eye, no_bond, a_soft)})

    def generate(self, n: int) -> State:
        return self.relaxed(self._logits(n))

    def _real(self, batch: GraphBatch) -> State:
        x, a = one_hot_graphs(batch.to(module_device(self)), self.modality)
        return State({"x": x, "adj": a})

    def adversarial_losses(self, batch: GraphBatch, step: int) -> Iterator[AdversarialLoss]:
        real = self._real(batch)
        fake = self.generate(real.batch_size).map(lambda v: v.detach())
        d_real, d_fake = self.score(real), self.score(fake)  # (B,), (B,)
        d_loss = self.objective.critic_loss(d_real, d_fake)
        penalty = self.objective.penalty(self.score, real, fake)
        yield AdversarialLoss(optimizer=1, loss=d_loss + penalty,
                              metrics={"d_loss": d_loss.item(), "penalty": penalty.item()})
        self.objective.after_critic_step(self.critic_parameters())
        if step % self.n_critic == 0:
            g_loss = self.objective.generator_loss(self.score(self.generate(real.batch_size)))
            yield AdversarialLoss(optimizer=0, loss=g_loss, metrics={"g_loss": g_loss.item()})

    def forward(self, batch: GraphBatch) -> tuple[Tensor, dict[str, float]]:
        """Critic loss on a batch and fresh samples, without penalty (what validation reports)."""
        real = self._real(batch)
        loss = self.objective.critic_loss(self.score(real), self.score(self.generate(real.batch_size)))
        return loss, {"loss": loss.item()}

    @torch.no_grad()
    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> SampleResult:
        """A categorical draw per slot and unordered pair (Gumbel-max), or the argmax graph."""
        mode = sampler or self.sample_mode
        if mode not in SAMPLE_MODES:
            raise ValueError(f"sampler must be one of {SAMPLE_MODES}, got {mode!r}")
        logits = self._logits(n, generator)
        x, a = logits.parts["x"], logits.parts["adj"]
        if mode == "categorical":
            x = x + gumbel(tuple(x.shape), x.device, generator)
            a = a + symmetric_gumbel(tuple(a.shape), a.device, generator)
        return SampleResult(samples=graph_from_scores(x, a, self.modality), nfe=1, extras={"sampler": mode})


FAMILIES.register("molgan")(MolGANFamily)
