"""MolGAN's generator network (De Cao & Kipf 2018, §3.1, App. B): an MLP from a latent vector to
the logits of a dense categorical graph.

    z (B, L) -> MLP (tanh) -> node logits (B, N, K+1), edge logits (B, N, N, C)

It emits the molecules modality's slot view (``view = "slots"``): node class 0 is the virtual "no
atom" type and edge class 0 "no bond", so the number of atoms is generated, not given. Edge logits are symmetrised, (l_ij + l_ji)/2, so the categorical over each
unordered pair is one distribution. The family turns logits into (relaxed) samples.
"""

from __future__ import annotations

from torch import Tensor, nn

from genlab.modalities.base import State
from genlab.networks.registry import NETWORKS
from genlab.utils import checks


@NETWORKS.register("graph_generator")
class GraphGenerator(nn.Module):
    """``GraphGenerator(shapes, latent_dim, hidden, dropout)``; ``shapes`` is the molecules
    modality's slot view ``{"x": (N, K+1), "adj": (N, N, C)}``. MolGAN: hidden (128, 256, 512), L = 32."""

    view = "slots"

    def __init__(self, shapes: dict[str, tuple[int, ...]], latent_dim: int = 32,
                 hidden: tuple[int, ...] = (128, 256, 512), dropout: float = 0.0) -> None:
        super().__init__()
        checks.at_least("latent_dim", latent_dim, 1)
        for width in hidden:
            checks.at_least("hidden", width, 1)
        checks.in_unit_interval("dropout", dropout, closed_high=False)
        n, node_classes = shapes["x"]
        c = shapes["adj"][-1]
        self.n, self.node_classes, self.edge_classes, self.latent_dim = n, node_classes, c, latent_dim
        layers: list[nn.Module] = []
        width = latent_dim
        for w in hidden:
            layers += [nn.Linear(width, w), nn.Tanh(), nn.Dropout(dropout)]
            width = w
        self.body = nn.Sequential(*layers)
        self.out_x = nn.Linear(width, n * node_classes)
        self.out_adj = nn.Linear(width, n * n * c)

    def forward(self, z: Tensor) -> State:
        b = z.shape[0]
        h = self.body(z)  # (B, hidden[-1])
        x = self.out_x(h).view(b, self.n, self.node_classes)  # (B, N, K+1)
        adj = self.out_adj(h).view(b, self.n, self.n, self.edge_classes)  # (B, N, N, C)
        return State({"x": x, "adj": 0.5 * (adj + adj.transpose(1, 2))})
