"""``source_only``: G and F trained on the source labels alone, the baseline of every adaptation
method (Saito et al. 2018, Table 1's "Source Only"): cross-entropy of F(G(x_s)) against y_s."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from genlab.classifiers.adaptation.base import AdaptationModel, accuracy
from genlab.data.domain_adaptation import DomainBatch
from genlab.modalities.base import Modality


class SourceOnly(AdaptationModel):
    """``SourceOnly(modality, features, classifier)``; every target gets F's prediction."""

    def __init__(self, modality: Modality, features: nn.Module, classifier: nn.Module) -> None:
        super().__init__(modality, features, classifier)
        self.features, self.classifier = features, classifier

    def target_probabilities(self, x: Tensor, domain: Tensor) -> Tensor:
        return self.classifier(self.features(x)).softmax(-1)  # (B, K)

    def training_loss(self, batch: DomainBatch) -> tuple[Tensor, dict[str, float]]:
        x_s, y_s = self.source(batch)
        logits = self.classifier(self.features(x_s))  # (B, K)
        return F.cross_entropy(logits, y_s), {"source_accuracy": accuracy(logits, y_s)}
