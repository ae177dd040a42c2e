"""The features of a classifier network: everything before its final linear layer.

Few-shot transfer reads a classifier network as ``logits = head(features(x))``: the representation
is ``features(x)`` (B, F), the input of the last linear map; a few-shot episode fits a new linear
classifier on it, and STARTUP's projection head reads it. Two layouts of genlab's classifier
networks give the split:

* ``network.features`` and ``network.head`` (the few-shot networks, ``conv4`` and ``few_shot_mlp``);
* ``network.layers``, an ``nn.Sequential`` whose last module is ``nn.Linear`` (``mlp_classifier``,
  ``small_cnn``, ``madry_cnn``): the features are ``layers[:-1]`` (the same modules, so the same
  parameters) and the head ``layers[-1]``.

:func:`feature_split` checks on a probe batch that ``head(features(x))`` equals ``network(x)``, so
a network whose forward pass is not that composition is refused instead of read wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from genlab.errors import ConfigError


@dataclass
class FeatureSplit:
    """``network(x) == head(features(x))``; ``dim`` is F, the width of the features."""

    features: nn.Module  # (B, ...) -> (B, F)
    head: nn.Linear  # (B, F) -> (B, classes)
    dim: int


def feature_split(network: nn.Module, input_shape: tuple[int, ...]) -> FeatureSplit:
    """The split of ``network`` (see the module docstring); ``input_shape`` is one input's shape,
    e.g. (1, 28, 28). A network with neither layout, or whose forward differs from the
    composition, is a one-line :class:`ConfigError` naming ``network.name``."""
    features, head = _parts(network)
    if features is None or not isinstance(head, nn.Linear):
        raise ConfigError(f"{type(network).__name__} has no features/head split (a 'features' module and a "
                          "linear 'head', or 'layers' ending in a linear layer)", key="network.name")
    probe = torch.rand(2, *input_shape, generator=torch.Generator().manual_seed(0))  # (2, ...)
    probe = probe.to(next(network.parameters()).device)
    was_training = network.training
    network.eval()
    with torch.no_grad():
        h = features(probe)  # (2, F)
        same = h.ndim == 2 and torch.allclose(head(h), network(probe), rtol=1e-5, atol=1e-6)
    network.train(was_training)
    if not same:
        raise ConfigError(f"{type(network).__name__}'s output is not its head applied to flat features",
                          key="network.name")
    return FeatureSplit(features, head, int(h.shape[1]))


def _parts(network: nn.Module) -> tuple[nn.Module | None, nn.Module | None]:
    if isinstance(getattr(network, "features", None), nn.Module) and isinstance(getattr(network, "head", None), nn.Module):
        return network.features, network.head
    layers = getattr(network, "layers", None)
    if isinstance(layers, nn.Sequential) and len(layers) > 1:
        return layers[:-1], layers[-1]
    return None, None


@torch.no_grad()
def embed(split: FeatureSplit, x: Tensor, batch_size: int = 1000) -> Tensor:
    """Frozen features (N, F) of inputs (N, ...), in batches; the caller sets the network's mode."""
    return torch.cat([split.features(x[start : start + batch_size]) for start in range(0, len(x), batch_size)])
