"""KL warm-up and free bits (:mod:`genlab.generative.families.kl_schedule`) with known answers: the Gaussian KL
in closed form, β at given iterations, the free-bits term Σ_j max(λ, mean_b KL_bj) and its gradient
(zero for a dimension below λ), and MPGVAE's training loss under both remedies."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.data.molecule_datasets import qm9
from genlab.generative.families.kl_schedule import free_bits_kl, gaussian_kl, training_beta, warmup_beta
from genlab.generative.families.vae import VAEFamily
from genlab.networks.mpnn import MPNNDecoder, MPNNEncoder

torch.set_num_threads(1)


def test_gaussian_kl_matches_the_closed_form_per_dimension():
    mu = torch.tensor([[0.0, 1.0, 0.0, 2.0]])
    log_sigma = torch.tensor([[0.0, 0.0, 1.0, -1.0]])
    # ½(μ² + σ² − 1 − 2 log σ) per dimension
    want = torch.tensor([[0.0, 0.5, 0.5 * (math.e**2 - 3), 0.5 * (4 + math.e**-2 + 1)]])
    torch.testing.assert_close(gaussian_kl(mu, log_sigma), want)


def test_warmup_beta_is_linear_then_one_and_one_without_warmup():
    assert [warmup_beta(i, 4) for i in range(7)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warmup_beta(250, 1000) == 0.25
    assert warmup_beta(0, 0) == 1.0 and warmup_beta(5, 0) == 1.0


def test_training_beta_advances_the_counter_only_while_training_with_warmup():
    iteration = torch.zeros((), dtype=torch.long)
    assert [training_beta(iteration, 2, True) for _ in range(4)] == [0.0, 0.5, 1.0, 1.0]
    assert int(iteration) == 4
    assert training_beta(iteration, 2, False) == 1.0 and int(iteration) == 4  # evaluation
    assert training_beta(iteration, 0, True) == 1.0 and int(iteration) == 4  # no warm-up


def test_free_bits_clamps_the_batch_mean_kl_per_dimension_and_stops_its_gradient():
    # batch means per dimension: 0.05, 0.3, 1.0
    kl = torch.tensor([[0.0, 0.2, 1.5], [0.1, 0.4, 0.5]], requires_grad=True)  # (B=2, L=3)
    term = free_bits_kl(kl, 0.25)
    assert term.item() == pytest.approx(0.25 + 0.3 + 1.0)  # Σ_j max(λ, mean_b KL_bj)
    term.backward()
    want = torch.tensor([[0.0, 0.5, 0.5], [0.0, 0.5, 0.5]])  # below λ: no gradient; above: 1/B
    torch.testing.assert_close(kl.grad, want)
    assert free_bits_kl(kl.detach(), 0.0).item() == pytest.approx(kl.detach().sum(1).mean().item())


@pytest.fixture(scope="module")
def bundle():
    return qm9(limit=16, limit_heldout=8)


def tiny_mpgvae(bundle, **kwargs) -> VAEFamily:
    """MPGVAE: the VAE with message-passing networks and categorical slots."""
    torch.manual_seed(0)
    encoder = MPNNEncoder(bundle.modality.shapes(), hidden=16, edge_hidden=8, steps=1, set2set_steps=1)
    decoder = MPNNDecoder(bundle.modality.view_shapes("slots"), latent_dim=4, hidden=16, edge_hidden=8, steps=1)
    return VAEFamily(bundle.modality, encoder, decoder, likelihood="categorical", sample_mean=True, **kwargs)


def test_mpgvae_warms_up_beta_in_training_and_reports_the_plain_kl(bundle):
    family = tiny_mpgvae(bundle, kl_warmup=2)
    batch = bundle.collate([bundle.train[i] for i in range(8)])
    family.train()
    betas = [family(batch)[1]["beta"] for _ in range(3)]
    assert betas == [0.0, 0.5, 1.0] and int(family.iteration) == 3
    family.eval()
    torch.manual_seed(1)
    loss, metrics = family(batch)
    n = batch.atoms.shape[1]
    variables = n + n * (n - 1) // 2
    assert metrics["beta"] == 1.0 and int(family.iteration) == 3
    assert loss.item() == pytest.approx(-metrics["elbo"] / variables, rel=1e-5)  # β = 1: the negative ELBO


def test_mpgvae_free_bits_loss_is_the_reconstruction_plus_the_clamped_kl(bundle):
    lam = 5.0  # far above the KL of a fresh encoder per dimension: every dimension is clamped
    family = tiny_mpgvae(bundle, free_bits=lam).train()
    batch = bundle.collate([bundle.train[i] for i in range(8)])
    torch.manual_seed(1)
    loss, metrics = family(batch)
    n = batch.atoms.shape[1]
    variables = n + n * (n - 1) // 2
    recon = metrics["recon_nll"]
    assert metrics["kl"] < lam * family.latent_dim
    assert loss.item() == pytest.approx((recon + lam * family.latent_dim) / variables, rel=1e-5)
    loss.backward()  # the clamped KL sends no gradient: the gradient is the reconstruction's alone
    clamped = [p.grad.clone() for p in family.parameters()]
    family.zero_grad()
    family.kl_weight = 0.0
    torch.manual_seed(1)
    family(batch)[0].backward()
    for got, want in zip(clamped, (p.grad for p in family.parameters())):
        torch.testing.assert_close(got, want)
