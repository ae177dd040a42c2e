"""Fréchet distance for 8×8 digits in the features of a small classifier genlab trains itself.

There is no Inception network offline, and Inception would be meaningless on 8×8 images anyway,
so genlab trains :class:`DigitsClassifier` (a three-layer CNN) on the training split of
scikit-learn's digits (:func:`genlab.data.images.digits`, default split) once, deterministically
(:data:`RECIPE`: fixed seed, CPU, one thread, ``torch.use_deterministic_algorithms``), and caches
the weights as safetensors under ``genlab.paths.cache_dir("digits_classifier")``, named by a hash
of the recipe, with the held-out accuracy in the file's metadata. A changed recipe is a new file.

The distance is the FID formula (Heusel et al. 2017, Eq. 6) on the classifier's penultimate
activations (:data:`FEATURE_DIM` = 64, after ReLU):

    FD = ‖μ_g - μ_r‖² + Tr(Σ_g + Σ_r - 2 (Σ_g Σ_r)^{1/2}),

with Σ the unbiased covariance and the matrix square root from ``scipy.linalg.sqrtm`` (its
imaginary round-off dropped). The numbers are only comparable between runs that use the same
classifier (the recipe hash is reported) and the same number of samples: FD is biased upwards
for small sets, and the digits held-out set has only 297 images.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from genlab.paths import cache_dir
from genlab.utils.atomic import atomic_write

FEATURE_DIM = 64
#: everything that determines the classifier's weights; its hash names the cache file
RECIPE = {
    "architecture": "conv32-conv64-pool-conv64-pool-fc64-fc10",
    "data": {"name": "digits", "n_heldout": 297, "split_seed": 0},
    "seed": 0,
    "epochs": 20,
    "batch_size": 64,
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "augment": "random shift by -1..1 pixels (zero padding)",
    "dtype": "float32",
    "version": 1,
}


class DigitsClassifier(nn.Module):
    """(B, 1, 8, 8) in [-1, 1] -> 10 logits; :meth:`features` is the (B, 64) penultimate layer."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),  # (B, 32, 8, 8)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),  # (B, 64, 8, 8)
            nn.MaxPool2d(2),  # (B, 64, 4, 4)
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),  # (B, 64, 4, 4)
            nn.MaxPool2d(2),  # (B, 64, 2, 2)
            nn.Flatten(),  # (B, 256)
            nn.Linear(256, FEATURE_DIM), nn.ReLU(),  # (B, 64)
        )
        self.head = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)  # (B, 64)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))  # (B, 10)


@dataclass(frozen=True)
class TrainedClassifier:
    """The classifier in eval mode, its held-out accuracy, the recipe hash and its cache file."""

    model: DigitsClassifier
    heldout_accuracy: float
    recipe_hash: str
    path: str


def recipe_hash() -> str:
    return hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:16]


def _labelled_split() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(x_train, y_train, x_heldout, y_heldout) in the same split as ``genlab.data.images.digits``."""
    from sklearn.datasets import load_digits

    from genlab.data.images import _digits_images

    data = RECIPE["data"]
    images = torch.from_numpy(_digits_images().copy())  # (N, 1, 8, 8) in [-1, 1]
    labels = torch.from_numpy(load_digits().target.astype(np.int64))  # (N,)
    order = torch.from_numpy(np.random.default_rng(data["split_seed"]).permutation(len(images)))
    held, train = order[: data["n_heldout"]], order[data["n_heldout"]:]
    return images[train], labels[train], images[held], labels[held]


def _shift(x: Tensor, generator: torch.Generator) -> Tensor:
    """Each image moved by (dy, dx) ∈ {-1, 0, 1}², the uncovered border filled with -1 (background)."""
    padded = nn.functional.pad(x, (1, 1, 1, 1), value=-1.0)  # (B, 1, 10, 10)
    dy, dx = torch.randint(0, 3, (2, len(x)), generator=generator)
    return torch.stack([padded[i, :, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8] for i in range(len(x))])


def train_classifier() -> tuple[DigitsClassifier, float]:
    """Train :data:`RECIPE` from scratch (≈ 10 s on one core); returns the model and held-out accuracy."""
    x_tr, y_tr, x_ho, y_ho = _labelled_split()
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RECIPE["seed"])
            model = DigitsClassifier()
            generator = torch.Generator().manual_seed(RECIPE["seed"])
            opt = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"], weight_decay=RECIPE["weight_decay"])
            for _ in range(RECIPE["epochs"]):
                order = torch.randperm(len(x_tr), generator=generator)
                for start in range(0, len(order), RECIPE["batch_size"]):
                    idx = order[start:start + RECIPE["batch_size"]]
                    loss = nn.functional.cross_entropy(model(_shift(x_tr[idx], generator)), y_tr[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            model.eval()
            with torch.no_grad():
                accuracy = float((model(x_ho).argmax(1) == y_ho).float().mean())
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    return model, accuracy


@lru_cache(maxsize=1)
def digits_classifier() -> TrainedClassifier:
    """The cached classifier, trained and written on first use."""
    key = recipe_hash()
    path = cache_dir("digits_classifier") / f"{key}.safetensors"
    model = DigitsClassifier()
    if path.is_file():
        from safetensors import safe_open

        model.load_state_dict(load_file(str(path)))
        with safe_open(str(path), framework="pt") as f:
            accuracy = float(f.metadata()["heldout_accuracy"])
    else:
        model, accuracy = train_classifier()
        tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
        meta = {"heldout_accuracy": repr(accuracy), "recipe": json.dumps(RECIPE, sort_keys=True)}
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))
    return TrainedClassifier(model.eval(), accuracy, key, str(path))


@torch.no_grad()
def digit_features(images: Tensor | np.ndarray, classifier: TrainedClassifier | None = None) -> np.ndarray:
    """(N, 64) float64 penultimate features of (N, 1, 8, 8) images in [-1, 1] (clamped to it)."""
    classifier = classifier or digits_classifier()
    x = torch.as_tensor(np.asarray(images), dtype=torch.float32)
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 8, 8):
        raise ValueError(f"expected (N, 1, 8, 8) digit images, got shape {tuple(x.shape)}")
    x = x.clamp(-1, 1)
    return np.concatenate([classifier.model.features(b).double().numpy() for b in x.split(512)])


@torch.no_grad()
def predict_digits(images: Tensor | np.ndarray, classifier: TrainedClassifier | None = None) -> np.ndarray:
    """(N,) predicted classes."""
    classifier = classifier or digits_classifier()
    x = torch.as_tensor(np.asarray(images), dtype=torch.float32).clamp(-1, 1)
    return classifier.model(x).argmax(1).numpy()


def frechet_distance(feat_g: np.ndarray, feat_r: np.ndarray) -> float:
    """FD between Gaussian fits of two feature sets (N, d), (M, d); both need N, M ≥ 2."""
    from scipy import linalg

    if len(feat_g) < 2 or len(feat_r) < 2:
        raise ValueError("the Fréchet distance needs at least 2 samples per set")
    mu_g, mu_r = feat_g.mean(0), feat_r.mean(0)  # (d,)
    sigma_g, sigma_r = np.cov(feat_g, rowvar=False), np.cov(feat_r, rowvar=False)  # (d, d)
    with warnings.catch_warnings():  # a singular product (dead features) is handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma_g @ sigma_r)
        if not np.isfinite(covmean).all():  # regularise as the FID reference code does
            offset = 1e-6 * np.eye(len(mu_g))
            covmean = linalg.sqrtm((sigma_g + offset) @ (sigma_r + offset))
    covmean = np.real(covmean)
    value = float(((mu_g - mu_r) ** 2).sum() + np.trace(sigma_g) + np.trace(sigma_r) - 2.0 * np.trace(covmean))
    return max(0.0, value)  # identical sets give ~ -1e-12 from sqrtm round-off
