"""DualAdapt's server side (:mod:`.model`): pre-training, installing the clients' uploads, and the
update of G and F_g ("global adaptation").

The server holds the labelled source images and, after a round, every active client's F_l^i and
W_T^i (:func:`install`). At the start of the next round, each of its ``server_steps`` iterations
takes

1. ``num_k`` steps of G alone on a batch of mix-up inputs x_m = λ x_a + (1 − λ) x_b of source
   pairs (λ ~ Beta(α, α), α = ``mixup_alpha``), minimising
   (1/|I|) Σ_i Σ_m v_im d(F_g(G(x_m)), F_l^i(G(x_m))) / Σ_m v_im with
   v_im = σ(log W_T^i(G(x_m)) − log W_S(G(x_m))) the probability that x_m's feature is target-i-like
   (the classifiers in evaluation mode, as fixed functions);
2. one step of G and F_g on the source cross-entropy CE(F_g(G(x_s)), y_s).

W_S is then fitted again to the source features of the updated G. The optimizers (AdamW, the
run's ``train`` settings) live as long as the server: :class:`ServerOptimizers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from genlab.classifiers.adaptation.discrepancy import sample_discrepancy
from genlab.classifiers.adaptation.dualadapt.client import client_features
from genlab.classifiers.adaptation.dualadapt.gmm import batch_weights, log_domain_posterior
from genlab.classifiers.adaptation.federated import ClientResult, Optimisation, batches, unpack


@dataclass
class ServerOptimizers:
    """The server's optimizers: G alone (the discrepancy steps), and G with F_g (the source steps)."""

    features: torch.optim.Optimizer
    source: torch.optim.Optimizer

    @classmethod
    def create(cls, model: Any, settings: Optimisation) -> "ServerOptimizers":
        shared = list(model.features.parameters()) + list(model.global_classifier.parameters())
        return cls(features=settings.adamw(model.features.parameters()), source=settings.adamw(shared))


def source_step(model: Any, optimizers: ServerOptimizers, x: Tensor, y: Tensor) -> Tensor:
    """One step of G and F_g on the source cross-entropy; returns the logits (B, K)."""
    model.features.train()
    model.global_classifier.train()
    logits = model.global_classifier(model.features(model.inputs(x)))  # (B, K)
    loss = F.cross_entropy(logits, y.to(logits.device).long())
    optimizers.source.zero_grad(set_to_none=True)
    loss.backward()
    optimizers.source.step()
    return logits.detach()


def source_steps(model: Any, optimizers: ServerOptimizers, source_x: Tensor, source_y: Tensor,
                 settings: Optimisation, steps: int, generator: torch.Generator) -> dict[str, float]:
    """Pre-training: ``steps`` source steps; the last step's batch accuracy."""
    correct = 0.0
    for idx in batches(len(source_y), settings.batch_size, steps, generator):
        logits = source_step(model, optimizers, source_x[idx], source_y[idx])
        correct = float((logits.argmax(1) == source_y[idx]).float().mean())
    return {"source_accuracy": correct}


def fit_source_gmm(model: Any, source_x: Tensor, seed: int) -> None:
    """W_S (projection and mixture) on the features of up to ``gmm_images`` source images."""
    pick = torch.randperm(len(source_x), generator=torch.Generator().manual_seed(seed))[:model.gmm_images]
    model.source_gmm.fit(client_features(model.features, source_x[pick], model), seed)


def mixup(x: Tensor, alpha: float, generator: torch.Generator) -> Tensor:
    """x_m = λ x + (1 − λ) x[π] for a random pairing π and λ ~ Beta(alpha, alpha) per pair, both
    drawn from ``generator`` (λ by numpy, seeded from it)."""
    pairing = torch.randperm(len(x), generator=generator)
    rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))
    lam = torch.from_numpy(rng.beta(alpha, alpha, size=len(x))).to(x)  # (B,)
    lam = lam.view(-1, *([1] * (x.dim() - 1)))  # (B, 1, 1, 1)
    return lam * x + (1 - lam) * x[pairing]


def install(model: Any, results: Mapping[int, ClientResult]) -> None:
    """The clients' uploads into the server's model: F_l^i, W_T^i (and their statistics)."""
    for i, result in results.items():
        model.local_classifiers[i].load_state_dict(unpack(result.arrays, "local_classifier"))
        model.target_gmms[i].load_state_dict(unpack(result.arrays, "target_gmm"))
        if model.client_statistics:
            model.client_norms[i].load_state_dict(unpack(result.arrays, "client_norm"))


def global_adaptation(model: Any, optimizers: ServerOptimizers, active: list[int], source_x: Tensor,
                      source_y: Tensor, settings: Optimisation, seed: int) -> dict[str, float]:
    """The module's server update of G and F_g, in place, with the installed F_l^i and W_T^i of the
    ``active`` clients; returns the mean discrepancy and source accuracy."""
    generator = torch.Generator().manual_seed(seed)
    d_sum = acc_sum = 0.0
    steps = 0
    for idx in batches(len(source_y), settings.batch_size, model.server_steps, generator):
        if active:
            x_m = model.inputs(mixup(source_x[idx], model.mixup_alpha, generator))  # (B, C, H, W)
            d_sum += _discrepancy_steps(model, optimizers, x_m, active)
        logits = source_step(model, optimizers, source_x[idx], source_y[idx])
        acc_sum += float((logits.argmax(1) == source_y[idx].to(logits.device)).float().mean())
        steps += 1
    fit_source_gmm(model, source_x, seed)
    return {"server_discrepancy": d_sum / max(steps, 1), "source_accuracy": acc_sum / max(steps, 1)}


def _discrepancy_steps(model: Any, optimizers: ServerOptimizers, x_m: Tensor, active: list[int]) -> float:
    """``num_k`` steps of G on the GMM-weighted discrepancy of mix-up inputs; the last loss."""
    model.global_classifier.eval()
    for i in active:
        model.local_classifiers[i].eval()
    model.features.train()
    loss = torch.zeros(())
    for _ in range(model.num_k):
        h = model.features(x_m)  # (B, D)
        logits_g = model.global_classifier(h)  # (B, K)
        loss = torch.zeros((), device=h.device)
        for i in active:
            with torch.no_grad():  # v_im / Σ_m v_im
                v = batch_weights(log_domain_posterior(h, model.target_gmms[i], model.source_gmm))  # (B,)
            d = sample_discrepancy(logits_g, model.local_classifiers[i](h))  # (B,)
            loss = loss + (v * d).sum() / len(active)
        optimizers.features.zero_grad(set_to_none=True)
        loss.backward()
        optimizers.features.step()
        for classifier in [model.global_classifier, *(model.local_classifiers[i] for i in active)]:
            classifier.zero_grad(set_to_none=True)  # fixed here: drop what backward left on them
    return float(loss.detach())
