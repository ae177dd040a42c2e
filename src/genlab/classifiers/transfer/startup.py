"""STARTUP: self-training a base-set representation on unlabelled target images.

Phoo & Hariharan (2021), "Self-training for few-shot transfer across extreme task differences"
(ICLR), as the authors' released training loop (``student_STARTUP/STARTUP.py``) runs it. A
teacher f_T, trained on the labelled base set, labels every target image x softly with its
softmax over the base classes, p_T(x); the student f_S — the teacher's network, its classifier
head re-initialised (``reinit_head``) — then minimises on each batch

    L = λ_CE CE(f_S(a(x_b)), y_b)                                          base examples
      + λ_KL ½ Σ_v KL(p_T(x) ‖ softmax f_S(v)),  v ∈ {a₁(x), a₂(x)}        target images
      + λ_SimCLR NT-Xent(g(h_S(a₁(x))), g(h_S(a₂(x))); τ)                    target images

with a, a₁, a₂ random views (:mod:`~genlab.classifiers.transfer.augment`; ``augment_base``: the
base examples are augmented too, as in the released code), h_S the student's features, g the
projection head and NT-Xent SimCLR's loss (:mod:`~genlab.classifiers.transfer.nt_xent`). The
released code weighs the three terms equally, τ = 1, and computes the soft labels once on the
unaugmented target images; here the frozen teacher (``requires_grad`` off, always in eval mode,
also while the learner trains) labels the unaugmented images of each batch, which gives the same
numbers. ``simclr_weight: 0`` is STARTUP without self-supervision, the ablation of the released
``student_STARTUP_no_self_supervision``.

The teacher's network is kept (frozen) beside the student's, so ``RUN/weights.safetensors`` holds
both; the student's network and projection head are what the trainer optimises.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.classifiers.transfer.learner import TransferLearner
from genlab.classifiers.transfer.nt_xent import nt_xent
from genlab.data.few_shot_transfer import TransferBatch
from genlab.errors import ConfigError
from genlab.modalities.base import Modality
from genlab.utils import checks


def soft_label_kl(student_logits: Tensor, teacher_probs: Tensor) -> Tensor:
    """KL(p_T ‖ q_S) = Σ_c p_T,c (log p_T,c − log q_S,c), averaged over the batch (0 log 0 = 0):
    logits (B, K), probabilities (B, K) -> a scalar."""
    log_q = F.log_softmax(student_logits, dim=1)  # (B, K)
    return (torch.special.xlogy(teacher_probs, teacher_probs) - teacher_probs * log_q).sum(1).mean()


class Startup(TransferLearner):
    """``Startup(modality, network, teacher, ce_weight, kl_weight, simclr_weight, reinit_head,
    augment_base, temperature, projection_dim, crop_scale, rotation, brightness, contrast)``."""

    def __init__(self, modality: Modality, network: nn.Module, teacher: str, ce_weight: float = 1.0,
                 kl_weight: float = 1.0, simclr_weight: float = 1.0, reinit_head: bool = True,
                 augment_base: bool = True, temperature: float = 1.0, projection_dim: int = 128,
                 crop_scale: Sequence[float] = (0.5, 1.0), rotation: float = 15.0, brightness: float = 0.4,
                 contrast: float = 0.4) -> None:
        if not teacher:
            raise ConfigError("STARTUP needs a teacher: the run directory of a classifier trained on the base set",
                              key="family.teacher")
        for key, value in (("ce_weight", ce_weight), ("kl_weight", kl_weight), ("simclr_weight", simclr_weight)):
            checks.non_negative(key, value)
            checks.finite(key, value)
        super().__init__(modality, network, teacher, temperature, projection_dim, crop_scale, rotation, brightness,
                         contrast)
        self.teacher = copy.deepcopy(network).requires_grad_(False).eval()
        if reinit_head:
            self.split.head.reset_parameters()
        self.ce_weight, self.kl_weight, self.simclr_weight = ce_weight, kl_weight, simclr_weight
        self.augment_base = augment_base

    def train(self, mode: bool = True) -> "Startup":
        """Switch the student's mode; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    @torch.no_grad()
    def soft_labels(self, x: Tensor) -> Tensor:
        """The teacher's p_T(x): inputs (B, ...) -> (B, K) probabilities over the base classes."""
        return F.softmax(self.teacher(x), dim=1)

    def forward(self, batch: TransferBatch) -> tuple[Tensor, dict[str, float]]:
        x_base, y_base, x_target = self.batch_inputs(batch)
        p_teacher = self.soft_labels(x_target)  # (B', K)
        if self.augment_base:
            x_base = self.augmentation(x_base)
        logits_base = self.network(x_base)  # (B, K)
        ce = F.cross_entropy(logits_base, y_base)
        h_1 = self.split.features(self.augmentation(x_target))  # (B', F)
        h_2 = self.split.features(self.augmentation(x_target))  # (B', F)
        logits_1, logits_2 = self.split.head(h_1), self.split.head(h_2)  # (B', K)
        kl = 0.5 * (soft_label_kl(logits_1, p_teacher) + soft_label_kl(logits_2, p_teacher))
        loss = self.ce_weight * ce + self.kl_weight * kl
        metrics = {"ce": ce.item(), "kl": kl.item(),
                   "base_accuracy": (logits_base.argmax(1) == y_base).float().mean().item(),
                   "agreement": (logits_1.argmax(1) == p_teacher.argmax(1)).float().mean().item()}
        if self.simclr_weight > 0:
            contrastive = nt_xent(self.projection(h_1), self.projection(h_2), self.temperature)
            loss = loss + self.simclr_weight * contrastive
            metrics["nt_xent"] = contrastive.item()
        return loss, metrics

    def optimizer_parameters(self) -> list[list[nn.Parameter]]:
        """The student's network, and the projection head only where the contrastive term trains it."""
        groups = super().optimizer_parameters()
        return groups if self.simclr_weight > 0 else [list(self.network.parameters())]
