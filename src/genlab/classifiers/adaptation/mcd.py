"""``mcd``: Maximum Classifier Discrepancy (Saito, Watanabe, Ushiku & Harada, CVPR 2018, §3.2).

A feature generator G and two classifiers F1, F2 (the ``classifier`` network section, built
twice with independent initial weights). Each training iteration takes the three steps of §3.2,
in the order of their code (MCD_DA, ``solver.py``, ``train``):

* **A** — minimise the source cross-entropy L(X_s, Y_s) = CE(F1(G(x_s)), y_s) + CE(F2(G(x_s)), y_s)
  over G, F1 and F2 together (one loss stepped by both optimizers);
* **B** — with G fixed, minimise L(X_s, Y_s) − L_adv(X_t) over F1 and F2 (eq. 3), where
  L_adv(X_t) = E_{x_t} d(p1(y|x_t), p2(y|x_t)) (eq. 4) and d is the mean absolute difference of
  the softmax outputs (:mod:`~genlab.classifiers.adaptation.discrepancy`): the classifiers
  disagree on target inputs far from the source's support;
* **C** — with F1 and F2 fixed, minimise L_adv(X_t) over G (eq. 5), ``num_k`` times (4 in their
  digit experiments): G moves target features where the classifiers agree.

With several targets the target images of a batch are concatenated (every target's batch has
``train.batch_size`` images), so L_adv averages over all of them: centralised multi-target MCD.
Optimizer 0 holds G's parameters, optimizer 1 those of F1 and F2. A target's prediction is
the mean of p1 and p2 (their code scores the sum of the two outputs).
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.classifiers.adaptation.base import AdaptationModel, accuracy, fresh_copy
from genlab.classifiers.adaptation.discrepancy import discrepancy
from genlab.data.domain_adaptation import DomainBatch
from genlab.modalities.base import Modality
from genlab.trainable import AdversarialLoss
from genlab.utils.checks import at_least


class MCD(AdaptationModel):
    """``MCD(modality, features, classifier, num_k)``: the module's three steps per iteration."""

    n_optimizers = 2

    def __init__(self, modality: Modality, features: nn.Module, classifier: nn.Module, num_k: int = 4) -> None:
        super().__init__(modality, features, classifier)
        at_least("num_k", num_k, 1)
        self.num_k = num_k
        self.features = features
        self.classifier_1 = classifier
        self.classifier_2 = fresh_copy(classifier)

    def optimizer_parameters(self) -> list[list[nn.Parameter]]:
        return [list(self.features.parameters()),
                list(self.classifier_1.parameters()) + list(self.classifier_2.parameters())]

    def target_probabilities(self, x: Tensor, domain: Tensor) -> Tensor:
        h = self.features(x)  # (B, D)
        return 0.5 * (self.classifier_1(h).softmax(-1) + self.classifier_2(h).softmax(-1))  # (B, K)

    def source_loss(self, h_s: Tensor, y_s: Tensor) -> tuple[Tensor, Tensor]:
        """(L(X_s, Y_s) of both classifiers on source features (B, D), F1's logits)."""
        logits_1 = self.classifier_1(h_s)  # (B, K)
        return F.cross_entropy(logits_1, y_s) + F.cross_entropy(self.classifier_2(h_s), y_s), logits_1

    def target_discrepancy(self, h_t: Tensor) -> Tensor:
        """L_adv on target features (N, D) (eq. 4)."""
        return discrepancy(self.classifier_1(h_t), self.classifier_2(h_t))

    def training_loss(self, batch: DomainBatch) -> tuple[Tensor, dict[str, float]]:
        """Step A's loss (the loss of validation batches is the held-out one)."""
        x_s, y_s = self.source(batch)
        loss, logits = self.source_loss(self.features(x_s), y_s)
        return loss, {"source_accuracy": accuracy(logits, y_s)}

    def adversarial_losses(self, batch: DomainBatch, step: int) -> Iterator[AdversarialLoss]:
        x_s, y_s = self.source(batch)  # (B, C, H, W), (B,)
        x_t = self.all_targets(batch)  # (K B, C, H, W)
        loss_a, logits = self.source_loss(self.features(x_s), y_s)
        yield AdversarialLoss((0, 1), loss_a, {"source_accuracy": accuracy(logits, y_s)})

        with torch.no_grad():  # step B leaves G fixed: its features are constants
            h_s, h_t = self.features(x_s), self.features(x_t)
        loss_s, _ = self.source_loss(h_s, y_s)
        d_b = self.target_discrepancy(h_t)
        yield AdversarialLoss(1, loss_s - d_b, {"discrepancy_b": float(d_b.detach())})

        for _ in range(self.num_k):
            d_c = self.target_discrepancy(self.features(x_t))
            yield AdversarialLoss(0, d_c, {"discrepancy_c": float(d_c.detach())})
