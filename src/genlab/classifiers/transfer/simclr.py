"""SimCLR on the unlabelled target pool alone: the self-supervised baseline of STARTUP's ablation.

Chen, Kornblith, Norouzi & Hinton (2020), "A simple framework for contrastive learning of visual
representations", Algorithm 1: two random views a₁(x), a₂(x) of every target image of the batch,
features h = f(a(x)), projections z = g(h), and the loss NT-Xent(z₁, z₂; τ)
(:mod:`~genlab.classifiers.transfer.nt_xent`). Phoo & Hariharan (2021) compare STARTUP
with this representation trained on the same unlabelled target data; the base examples of each
:class:`~genlab.data.few_shot_transfer.TransferBatch` are not read, so SimCLR and STARTUP runs
share one data section and one set of evaluation characters.

The network starts from random weights, or from a teacher's (``teacher``: a classifier run
directory), as the authors' SimCLR script allows; only its features and the projection head are
trained (the network's classifier head is left as it is).
"""

from __future__ import annotations

from torch import Tensor

from genlab.classifiers.transfer.learner import TransferLearner
from genlab.classifiers.transfer.nt_xent import nt_xent
from genlab.data.few_shot_transfer import TransferBatch


class SimCLR(TransferLearner):
    """``SimCLR(modality, network, teacher=None, temperature, projection_dim, crop_scale, rotation,
    brightness, contrast)``: the shared arguments of
    :class:`~genlab.classifiers.transfer.learner.TransferLearner`."""

    def forward(self, batch: TransferBatch) -> tuple[Tensor, dict[str, float]]:
        _, _, x_target = self.batch_inputs(batch)
        z_1 = self.projection(self.split.features(self.augmentation(x_target)))  # (B, D)
        z_2 = self.projection(self.split.features(self.augmentation(x_target)))  # (B, D)
        loss = nt_xent(z_1, z_2, self.temperature)
        return loss, {"nt_xent": loss.item()}

    def optimizer_parameters(self) -> list[list]:
        """The features and the projection head (the classifier head gets no gradient)."""
        return [[*self.split.features.parameters(), *self.projection.parameters()]]
