"""Each client's batch-normalisation statistics of G, estimated on its own images.

G's batch-normalisation layers normalise with running means and variances. The server only ever
runs G on source (and mix-up) images, so those statistics are the source's, and a target's
features computed with them are shifted. With ``client_statistics`` (DualAdapt's default here),
client k re-estimates every batch-normalisation layer's statistics on its own images — G's
weights untouched — before computing its features, as AdaBN does (Li, Wang, Shi, Liu & Hou,
"Revisiting batch normalization for practical domain adaptation", 2016, Algorithm 1: the mean and
variance of each neuron over the target domain); the statistics (a few hundred numbers) go back
with its upload, and target k is predicted with them. This is genlab's addition, not part of the
published DualAdapt description.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

#: the buffers of a batch-normalisation layer that hold its statistics
STATISTICS = ("running_mean", "running_var")


def norm_layers(module: nn.Module) -> dict[str, _BatchNorm]:
    """The batch-normalisation layers of ``module`` by name."""
    return {name: layer for name, layer in module.named_modules() if isinstance(layer, _BatchNorm)}


class ClientStatistics(nn.Module):
    """One client's statistics of every batch-normalisation layer of a network, as buffers
    (``<layer>__running_mean``, ``<layer>__running_var``; dots of layer names as ``_``)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.names = list(norm_layers(network))
        for name, layer in norm_layers(network).items():
            for stat in STATISTICS:
                self.register_buffer(self._key(name, stat), getattr(layer, stat).detach().clone())

    @staticmethod
    def _key(layer: str, stat: str) -> str:
        return f"{layer.replace('.', '_')}__{stat}"

    def copy_from(self, network: nn.Module) -> "ClientStatistics":
        """Take ``network``'s current statistics."""
        for name, layer in norm_layers(network).items():
            for stat in STATISTICS:
                getattr(self, self._key(name, stat)).copy_(getattr(layer, stat))
        return self

    @contextlib.contextmanager
    def applied(self, network: nn.Module) -> Iterator[nn.Module]:
        """``network`` with these statistics for the block, its own restored afterwards."""
        layers = norm_layers(network)
        saved = {(name, stat): getattr(layer, stat).clone() for name, layer in layers.items() for stat in STATISTICS}
        for name, layer in layers.items():
            for stat in STATISTICS:
                getattr(layer, stat).copy_(getattr(self, self._key(name, stat)))
        try:
            yield network
        finally:
            for (name, stat), value in saved.items():
                getattr(layers[name], stat).copy_(value)


@torch.no_grad()
def estimate(network: nn.Module, images: Tensor, to_inputs: Callable[[Tensor], Tensor], batch: int = 1000) -> None:
    """Replace ``network``'s batch-normalisation statistics by their averages over ``images``
    (N, C, H, W) (forward passes in training mode with a cumulative average, no gradients); the
    network is left in evaluation mode."""
    layers = norm_layers(network)
    momenta = {name: layer.momentum for name, layer in layers.items()}
    for layer in layers.values():
        layer.reset_running_stats()
        layer.momentum = None  # cumulative moving average: every batch counts the same
    network.train()
    for start in range(0, len(images), batch):
        network(to_inputs(images[start:start + batch]))
    for name, layer in layers.items():
        layer.momentum = momenta[name]
    network.eval()
