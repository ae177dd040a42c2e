"""VAE, AAE and GAN families with known answers: the ELBO and the IWAE bound of a linear-Gaussian
model in closed form, the discretised logistic's bin probabilities, the WGAN-GP penalty of linear
critics, weight clipping; and every new family trained a few steps through the real trainer,
reloaded from its run directory and sampled."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from genlab.api import load, train
from genlab.generative.families.gan import GANFamily
from genlab.generative.families.gan_objectives import GAN_OBJECTIVES, gradient_penalty
from genlab.generative.families.observation import DiscretizedLogisticObservation
from genlab.generative.families.vae import VAEFamily
from genlab.modalities.base import State
from genlab.modalities.images import ImagesModality
from genlab.modalities.points import PointsModality
from genlab.networks.latent_maps import MLPDecoder, MLPEncoder
from support import CONFIGS

torch.set_num_threads(1)

# --- linear-Gaussian VAE: p(z) = N(0, I_2), p(x | z) = N(W z + b, σ² I_3) -------------------------
# W has orthogonal columns, so the exact posterior covariance M⁻¹, M = I + WᵀW / σ², is diagonal
# and the VAE's diagonal Gaussian encoder can represent it.
W = torch.tensor([[1.0, 2.0], [2.0, -1.0], [0.0, 1.5]])  # WᵀW = diag(5, 7.25)
b = torch.tensor([0.2, -0.1, 0.3])
SIGMA = 0.7


def linear_vae(enc_weight: torch.Tensor, enc_bias: torch.Tensor, log_s: torch.Tensor) -> VAEFamily:
    """A VAE whose encoder is q(z | x) = N(enc_weight x + enc_bias, diag exp(log_s)²) and whose
    decoder is the linear-Gaussian model, built from the registered networks with depth 0."""
    modality = PointsModality(3)
    encoder = MLPEncoder(modality.shapes(), depth=0)  # features = x
    decoder = MLPDecoder(modality.shapes(), latent_dim=2, depth=0, n_params=2)  # linear in z
    family = VAEFamily(modality, encoder, decoder, likelihood="gaussian")
    with torch.no_grad():
        family.posterior_head.weight.copy_(torch.cat([enc_weight, torch.zeros(2, 3)]))
        family.posterior_head.bias.copy_(torch.cat([enc_bias, log_s]))
        decoder.out.weight.copy_(torch.cat([W, torch.zeros(3, 2)]))  # (mean; log σ) rows
        decoder.out.bias.copy_(torch.cat([b, torch.full((3,), math.log(SIGMA))]))
    return family


def exact_posterior() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """q(z | x) = p(z | x) = N(M⁻¹ Wᵀ (x − b) / σ², M⁻¹): (gain, bias, log std)."""
    m_inv = torch.diag(1 / (1 + (W.T @ W).diagonal() / SIGMA**2))  # M⁻¹ (diagonal)
    gain = m_inv @ W.T / SIGMA**2
    return gain, -gain @ b, 0.5 * torch.log(m_inv.diagonal())


def exact_posterior_vae() -> VAEFamily:
    return linear_vae(*exact_posterior())


def log_marginal(x: torch.Tensor) -> torch.Tensor:
    """log p(x) = log N(x; b, W Wᵀ + σ² I)."""
    cov = W @ W.T + SIGMA**2 * torch.eye(3)
    return torch.distributions.MultivariateNormal(b, cov).log_prob(x)


X = torch.tensor([[0.5, -1.0, 2.0], [-1.5, 0.3, 0.0], [2.0, 2.5, -0.7]])


def test_iwae_bound_with_the_exact_posterior_equals_log_marginal_for_any_k():
    family = exact_posterior_vae()
    torch.manual_seed(0)
    for k in (1, 7):  # log p(x, z) − log q(z | x) = log p(x) for every z: no variance at all
        assert torch.allclose(family.log_likelihood(X, n_importance=k).log_prob, log_marginal(X), atol=1e-4)


def assert_monte_carlo_close(family: VAEFamily, expected: torch.Tensor, n: int = 20000) -> torch.Tensor:
    """The family's one-sample ELBO (analytic KL, sampled reconstruction) averaged over n draws per
    x agrees with ``expected`` within 4 standard errors (each below 0.02 nats)."""
    draws = family.elbo(State({"x": X.repeat_interleave(n, dim=0)})).detach().reshape(3, n)
    mean, stderr = draws.mean(1), draws.std(1) / math.sqrt(n)
    assert ((mean - expected).abs() < 4 * stderr + 1e-4).all() and (stderr < 0.02).all(), (mean, expected, stderr)
    return mean


def test_elbo_with_the_exact_posterior_equals_log_marginal():
    family = exact_posterior_vae()
    torch.manual_seed(1)
    assert_monte_carlo_close(family, log_marginal(X))


def test_elbo_of_a_non_exact_encoder_matches_the_hand_computed_value():
    """q(z | x) = N(A x + c, diag s²) with A, c, s perturbed away from the exact posterior: for the
    linear decoder, E_q log N(x; Wz + b, σ²I) = log N(x; Wμ + b, σ²I) − Σ_j (W diag(s²) Wᵀ)_jj / (2σ²),
    and KL = ½ Σ (μ² + s² − 1 − log s²)."""
    gain, _, log_s_exact = exact_posterior()
    A_enc = gain + torch.tensor([[0.05, -0.1, 0.0], [0.1, 0.0, -0.05]])
    c = -gain @ b + torch.tensor([0.1, -0.2])
    log_s = log_s_exact + torch.tensor([0.4, -0.3])
    family = linear_vae(A_enc, c, log_s)
    mu, s2 = X @ A_enc.T + c, torch.exp(2 * log_s)  # (3, 2), (2,)
    mean = mu @ W.T + b
    recon = (-0.5 * (X - mean) ** 2 / SIGMA**2 - math.log(SIGMA) - 0.5 * math.log(2 * math.pi)).sum(1)
    recon = recon - (W**2 @ s2) .sum() / (2 * SIGMA**2)
    kl = 0.5 * (mu**2 + s2 - 1 - torch.log(s2)).sum(1)
    expected = recon - kl
    torch.manual_seed(2)
    assert_monte_carlo_close(family, expected)
    assert (expected < log_marginal(X)).all()  # a bound, strictly below log p(x) for this encoder  # a bound, strictly below log p(x) for this encoder


def test_discretized_logistic_bin_probabilities_sum_to_one():
    obs = DiscretizedLogisticObservation(ImagesModality(levels=17))  # bins of 1/8 in [-1, 1]
    assert obs.bin_width == 1 / 8
    grid = torch.linspace(-1, 1, 17)
    params = State({"x": torch.tensor([[0.3, -1.2]]).reshape(1, 2, 1).expand(17, 2, 1)})  # μ = 0.3, log s = −1.2
    log_p = obs.log_prob(params, State({"x": grid[:, None]}))  # (17,)
    assert abs(torch.logsumexp(log_p, 0).item()) < 1e-5


# --- GAN objectives -----------------------------------------------------------------------------

def linear_critic(weight: torch.Tensor) -> GANFamily:
    modality = PointsModality(weight.numel())
    family = GANFamily(modality, MLPDecoder(modality.shapes(), latent_dim=2, depth=1, hidden=8),
                       MLPEncoder(modality.shapes(), depth=0), objective={"name": "wgan_gp", "gp_weight": 10.0})
    with torch.no_grad():
        family.critic_head.weight.copy_(weight[None])
        family.critic_head.bias.fill_(0.3)
    return family


def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic():
    g = torch.Generator().manual_seed(3)
    real, fake = State({"x": torch.randn(16, 3, generator=g)}), State({"x": torch.randn(16, 3, generator=g)})
    w = torch.tensor([2.0, -1.0, 2.0]) / 3.0  # ‖w‖ = 1: D(x) = wᵀx + c is exactly 1-Lipschitz
    assert gradient_penalty(linear_critic(w).score, real, fake).abs().max().item() < 1e-10
    # ‖∇D‖ = 2 everywhere: the penalty is (2 − 1)² = 1 per sample, λ · 1 in the objective
    family = linear_critic(2 * w)
    assert torch.allclose(gradient_penalty(family.score, real, fake), torch.ones(16), atol=1e-6)
    assert abs(family.objective.penalty(family.score, real, fake).item() - 10.0) < 1e-5


def test_objectives_are_registered_and_wgan_clips_critic_weights():
    assert set(GAN_OBJECTIVES.names()) >= {"non_saturating", "wgan", "wgan_gp"}
    family = linear_critic(torch.tensor([3.0, -4.0]))
    family.objective = GAN_OBJECTIVES.build({"name": "wgan", "clip_value": 0.05})
    family.objective.after_critic_step(family.critic_parameters())
    assert torch.allclose(family.critic_head.weight, torch.tensor([[0.05, -0.05]]))
    assert abs(family.critic_head.bias.item() - 0.05) < 1e-7


def test_non_saturating_losses_at_an_undecided_critic():
    """D = 0 everywhere: each term is log 2 (Goodfellow et al. 2014, the value at p_g = p_data)."""
    objective = GAN_OBJECTIVES.build({"name": "non_saturating"})
    zeros = torch.zeros(5)
    assert abs(objective.critic_loss(zeros, zeros).item() - 2 * math.log(2)) < 1e-6
    assert abs(objective.generator_loss(zeros).item() - math.log(2)) < 1e-6


# --- every family through the real trainer -----------------------------------------------------

SMALL = {
    "mlp_encoder": {"hidden": 16, "depth": 1}, "mlp_decoder": {"hidden": 16, "depth": 1},
    "conv_encoder": {"channels": 4, "features": 16}, "conv_decoder": {"channels": 4},
    "coupling_mlp": {"n_couplings": 2, "hidden": 16}, "coupling_conv": {"n_couplings": 1, "hidden": 8, "depth": 1},
    "concatsquash": {"hidden": 16, "depth": 2},
}
CASES = [("points", n) for n in ("realnvp", "ffjord", "vae", "aae", "gan", "wgan", "wgan_gp")] + \
        [("digits", n) for n in ("realnvp", "vae", "aae", "gan", "wgan_gp")]


def tiny(config_path: str) -> dict:
    from genlab.api import read_config
    from genlab.build import network_roles

    cfg = read_config(config_path)
    if cfg["data"]["name"] == "points":
        cfg["data"].update(n_train=256, n_heldout=64)
    roles = network_roles(cfg["network"])
    for section in roles.values():
        section.update(SMALL[section["name"]])
    if cfg["family"]["name"] == "ffjord":
        cfg["family"].update(rtol=1e-3, atol=1e-3, eval_rtol=1e-3, eval_atol=1e-3)
    cfg["train"].update(max_steps=3, batch_size=16, log_every=1, checkpoint_every=3)
    return cfg


@pytest.mark.parametrize("dataset,name", CASES)
def test_family_trains_through_the_trainer_and_samples(dataset, name, tmp_path):
    config = CONFIGS / dataset / f"{name}.yaml"
    run = train(tiny(str(config)), out=tmp_path / "run", progress=False)
    shape = (2,) if dataset == "points" else (1, 8, 8)
    result = run.sample(6, seed=4)
    assert tuple(result.samples.shape) == (6, *shape) and torch.isfinite(result.samples).all()
    assert result.nfe >= 1
    again = load(tmp_path / "run").sample(6, seed=4)  # rebuilt from config.json + weights
    assert torch.allclose(again.samples, result.samples, atol=1e-5)
    if hasattr(run.family, "log_likelihood") and name != "ffjord":
        ll = run.family.log_likelihood(run.reference(8))
        assert torch.isfinite(ll.bits_per_dim).all()


def test_genlab_train_and_sample_commands_run_a_gan(tmp_path):
    import numpy as np
    import yaml

    from genlab.cli.main import main

    config = tmp_path / "wgan_gp.yaml"
    config.write_text(yaml.safe_dump(tiny(str(CONFIGS / "points" / "wgan_gp.yaml"))))
    run = tmp_path / "run"
    assert main(["train", str(config), "--out", str(run), "--quiet"]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["network"]["critic"]["name"] == "mlp_encoder" and "depth" in saved["network"]["generator"]
    assert main(["sample", str(run), "--n", "20", "--seed", "1", "--no-plot", "--out", str(tmp_path / "s.npz")]) == 0
    assert np.load(tmp_path / "s.npz")["samples"].shape == (20, 2)


def test_a_decoder_with_the_wrong_number_of_parameters_is_a_config_error():
    from genlab.errors import ConfigError

    modality = PointsModality(2)
    with pytest.raises(ConfigError, match="n_params"):
        VAEFamily(modality, MLPEncoder(modality.shapes()), MLPDecoder(modality.shapes(), n_params=1))


def test_kl_warmup_weights_the_kl_linearly_in_training_only():
    family = exact_posterior_vae()
    family.kl_warmup = 4
    family.train()
    betas = [family(X)[1]["beta"] for _ in range(6)]
    assert betas == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    family.eval()
    assert family(X)[1]["beta"] == 1.0 and int(family.iteration) == 6
