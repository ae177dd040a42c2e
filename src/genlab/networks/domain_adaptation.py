"""The digit networks of Saito et al.'s MCD code: a feature generator G and a classifier F.

Maximum Classifier Discrepancy (Saito, Watanabe, Ushiku & Harada, CVPR 2018) splits a classifier
into a feature generator G and classifiers F on its features; their code (MCD_DA,
``classification/model/usps.py`` and ``svhn2mnist.py``) ships two digit architectures, chosen by
``variant``:

``usps`` (their MNIST <-> USPS model)
    G: the mean over colour channels, conv 32 5×5, BN, ReLU, max-pool 2×2, conv 48 5×5, BN,
    ReLU, max-pool 2×2, flatten (48 × 5 × 5 = 1200 features on 32 × 32 inputs; 48 × 4 × 4 on
    their 28 × 28). F: dropout, linear 100, BN, ReLU, dropout, linear 100, BN, ReLU, dropout,
    linear ``classes`` (dropout probability ``dropout``, 0.5 in their code).
``svhn`` (their SVHN -> MNIST model)
    G: conv 64 5×5 pad 2, BN, ReLU, max-pool 3×3 stride 2 pad 1, conv 64 5×5 pad 2, BN, ReLU,
    max-pool 3×3/2/1, conv 128 5×5 pad 2, BN, ReLU, flatten (8192 on 32 × 32), linear 3072, BN,
    ReLU, dropout 0.5. F: linear 2048, BN, ReLU, linear ``classes`` (their ``Predictor`` also
    holds an unused linear 8192 -> 3072 and BN, left out here).

Contracts: ``h = features(x)``: (B, C, H, W) pixels in [0, 1] -> (B, out_features);
``logits = classifier(h)``: (B, in_features) -> (B, classes). Both read the modality's classifier
input view; the classifier computes its ``in_features`` from the same ``variant`` and image shape,
so ``network: {features: {name: mcd_features, variant: usps}, classifier: {name: mcd_classifier,
variant: usps}}`` fit together (a family checks that they do).
"""

from __future__ import annotations

from torch import Tensor, nn

from genlab.networks.classifiers import _image_shape
from genlab.networks.registry import NETWORKS
from genlab.utils.checks import ImpossibleValue, at_least, at_most, non_negative

VARIANTS = ("usps", "svhn")


def _variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ImpossibleValue("variant", f"must be one of {', '.join(VARIANTS)}", variant)
    return variant


def feature_size(variant: str, shape: tuple[int, int, int]) -> int:
    """G's output width for images of ``shape`` (C, H, W)."""
    _, h, w = shape
    if _variant(variant) == "usps":
        h, w = ((h - 4) // 2 - 4) // 2, ((w - 4) // 2 - 4) // 2  # two valid 5×5 convolutions, each pooled 2×2
        if h < 1 or w < 1:
            raise ValueError(f"mcd_features (usps) needs images of at least 16×16, got {shape[1]}×{shape[2]}")
        return 48 * h * w
    return 3072


@NETWORKS.register("mcd_features")
class MCDFeatures(nn.Module):
    """``MCDFeatures(shapes, variant)``: G of the module's ``variant``; ``out_features`` its width."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], variant: str = "usps") -> None:
        super().__init__()
        c, h, w = _image_shape(shapes, "mcd_features")
        self.variant = _variant(variant)
        self.out_features = feature_size(variant, (c, h, w))
        if variant == "usps":
            self.layers = nn.Sequential(
                nn.Conv2d(1, 32, 5), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2, 2),  # (B, 32, (H-4)/2, ...)
                nn.Conv2d(32, 48, 5), nn.BatchNorm2d(48), nn.ReLU(), nn.MaxPool2d(2, 2),  # (B, 48, h, w)
                nn.Flatten(),
            )
        else:
            out_h, out_w = (h - 1) // 4 + 1, (w - 1) // 4 + 1  # two 3×3 stride-2 pad-1 pools
            self.layers = nn.Sequential(
                nn.Conv2d(c, 64, 5, padding=2), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, padding=1),
                nn.Conv2d(64, 64, 5, padding=2), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, padding=1),
                nn.Conv2d(64, 128, 5, padding=2), nn.BatchNorm2d(128), nn.ReLU(),  # (B, 128, H/4, W/4)
                nn.Flatten(),
                nn.Linear(128 * out_h * out_w, 3072), nn.BatchNorm1d(3072), nn.ReLU(), nn.Dropout(0.5),
            )

    def forward(self, x: Tensor) -> Tensor:
        if self.variant == "usps":
            x = x.mean(1, keepdim=True)  # (B, 1, H, W): their model reads grey images
        return self.layers(x)  # (B, out_features)


@NETWORKS.register("mcd_classifier")
class MCDClassifier(nn.Module):
    """``MCDClassifier(shapes, variant, classes, dropout)``: F of the module's ``variant``, reading
    the features G of that variant makes of the modality's images."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], variant: str = "usps", classes: int = 10,
                 dropout: float = 0.5) -> None:
        super().__init__()
        at_least("classes", classes, 2)
        non_negative("dropout", dropout)
        at_most("dropout", dropout, 0.99)
        self.in_features = feature_size(variant, _image_shape(shapes, "mcd_classifier"))
        self.variant = _variant(variant)
        if variant == "usps":
            self.layers = nn.Sequential(
                nn.Dropout(dropout), nn.Linear(self.in_features, 100), nn.BatchNorm1d(100), nn.ReLU(),
                nn.Dropout(dropout), nn.Linear(100, 100), nn.BatchNorm1d(100), nn.ReLU(),
                nn.Dropout(dropout), nn.Linear(100, classes),
            )
        else:
            self.layers = nn.Sequential(
                nn.Linear(self.in_features, 2048), nn.BatchNorm1d(2048), nn.ReLU(), nn.Linear(2048, classes),
            )

    def forward(self, h: Tensor) -> Tensor:
        return self.layers(h)  # (B, in_features) -> (B, classes)
