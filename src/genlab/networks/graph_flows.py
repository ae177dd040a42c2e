"""GraphNVP's invertible network (Madhawa et al. 2019, §3.2–3.4): adjacency couplings, then node
couplings conditioned on the adjacency through an R-GCN.

Contract (as the RealNVP networks of :mod:`genlab.networks.coupling_flows`)::

    z, log_det = flow(g)        # g: State {"x": (B, N, K+1), "adj": (B, N, N, C)}, dequantised
    g = flow.inverse(z)         # z: State like g

``x`` holds N node slots over K+1 classes (class 0 = the virtual "no atom" type, GraphNVP §3.1),
``adj`` every ordered pair (i, j), diagonal included, over C edge classes ("no bond" first). The
flow is f = (f_X, f_A):

    z_A = f_A(A)          ``adj_couplings`` layers, layer k updating adjacency row k mod N from an
                          MLP on the rest (eq. 4; the paper's adjacency conditioner is an MLP);
    z_X = f_X(X; Â)       ``node_couplings`` layers, layer k updating node k mod N from an R-GCN on
                          the other nodes over the bonds of Â (eq. 3),

with Â = onehot(argmax_c (A_ij + A_ji)/2) the quantised adjacency. Â is a deterministic function of
A, and on dequantised data (A = onehot + c·u, c < 1) it is exactly the data's adjacency, so
log p(X, A) = log p(z_A) + log|det ∂f_A| + log p(z_X) + log|det ∂f_X(·; Â)| is an exact density,
and generation runs the two inverses in order: A = f_A⁻¹(z_A), then X = f_X⁻¹(z_X; Â) (§3.4).
Conditioners end in zero-initialised layers, so every coupling starts as the identity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.generative.flows import AffineCoupling
from genlab.generative.flows.graph_coupling import ConditionalAffineCoupling, adjacency_row_mask, node_row_mask
from genlab.modalities.base import State
from genlab.networks.coupling_flows import MLPConditioner
from genlab.networks.registry import NETWORKS
from genlab.networks.rgcn import RGCN
from genlab.utils import checks


def quantized_adjacency(adj: Tensor) -> Tensor:
    """Â (B, N, N, C): one-hot of argmax_c (A_ij + A_ji)/2, symmetric by construction."""
    classes = (0.5 * (adj + adj.transpose(1, 2))).argmax(-1)  # (B, N, N)
    return F.one_hot(classes, adj.shape[-1]).to(adj.dtype)


class AdjacencyConditioner(nn.Module):
    """(B, N, N, C) masked adjacency -> (s_raw, t) (B, N, N, C): an MLP on the flattened tensor."""

    def __init__(self, n: int, channels: int, hidden: int, depth: int) -> None:
        super().__init__()
        self.shape = (n, n, channels)
        self.mlp = MLPConditioner(n * n * channels, hidden, depth)

    def forward(self, a_kept: Tensor) -> tuple[Tensor, Tensor]:
        s_raw, t = self.mlp(a_kept.flatten(1))  # (B, N·N·C) each
        return s_raw.view(-1, *self.shape), t.view(-1, *self.shape)


class NodeConditioner(nn.Module):
    """(B, N, K') masked nodes and Â (B, N, N, C) -> (s_raw, t) (B, N, K'): an R-GCN over the bond
    channels of Â, an MLP per node, and a zero-initialised output layer."""

    def __init__(self, channels: int, edge_classes: int, hidden: tuple[int, ...], mlp_hidden: int) -> None:
        super().__init__()
        self.rgcn = RGCN(channels, list(hidden), relations=edge_classes - 1)
        self.mlp = nn.Sequential(nn.Linear(hidden[-1], mlp_hidden), nn.Tanh())
        self.out = nn.Linear(mlp_hidden, 2 * channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x_kept: Tensor, adj: Tensor) -> tuple[Tensor, Tensor]:
        h = self.rgcn(x_kept, adj[..., 1:])  # (B, N, d): bonds only as relations
        s_raw, t = self.out(self.mlp(h)).chunk(2, dim=-1)  # (B, N, K') each
        return s_raw, t


@NETWORKS.register("graphnvp_flow")
class GraphNVPFlow(nn.Module):
    """``GraphNVPFlow(shapes, adj_couplings, node_couplings, adj_hidden, adj_depth, rgcn_hidden,
    node_mlp_hidden)``; ``shapes`` is the molecules modality's slot view ``{"x": (N, K+1),
    "adj": (N, N, C)}``."""

    view = "slots"

    def __init__(self, shapes: dict[str, tuple[int, ...]], adj_couplings: int = 27, node_couplings: int = 36,
                 adj_hidden: int = 256, adj_depth: int = 2, rgcn_hidden: tuple[int, ...] = (128, 64),
                 node_mlp_hidden: int = 128) -> None:
        super().__init__()
        for name, value in (("adj_couplings", adj_couplings), ("node_couplings", node_couplings),
                            ("adj_hidden", adj_hidden), ("node_mlp_hidden", node_mlp_hidden)):
            checks.at_least(name, value, 1)
        checks.at_least("adj_depth", adj_depth, 0)
        checks.at_least("rgcn_hidden", len(rgcn_hidden), 1, bound="one layer")
        for width in rgcn_hidden:
            checks.at_least("rgcn_hidden", width, 1)
        if set(shapes) != {"x", "adj"}:
            raise ValueError(f"graphnvp_flow needs components 'x' and 'adj', got {sorted(shapes)}")
        n, node_classes = shapes["x"]
        c = shapes["adj"][-1]
        self.n, self.node_classes, self.edge_classes = n, node_classes, c
        self.adj_flow = nn.ModuleList(
            AffineCoupling(adjacency_row_mask(n, c, i), AdjacencyConditioner(n, c, adj_hidden, adj_depth))
            for i in range(adj_couplings))
        self.node_flow = nn.ModuleList(
            ConditionalAffineCoupling(node_row_mask(n, node_classes, i),
                                      NodeConditioner(node_classes, c, tuple(rgcn_hidden), node_mlp_hidden))
            for i in range(node_couplings))

    def forward(self, g: State) -> tuple[State, Tensor]:
        x, a = g.parts["x"], g.parts["adj"]  # (B, N, K+1), (B, N, N, C)
        a_hat = quantized_adjacency(a)  # (B, N, N, C)
        log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)  # (B,)
        for layer in self.adj_flow:
            a, ld = layer(a)
            log_det = log_det + ld
        for layer in self.node_flow:
            x, ld = layer(x, a_hat)
            log_det = log_det + ld
        return g.with_parts({"x": x, "adj": a}), log_det

    def inverse(self, z: State) -> State:
        """Two-step generation (§3.4): the adjacency first, then the nodes given its quantisation."""
        x, a = z.parts["x"], z.parts["adj"]
        for layer in reversed(self.adj_flow):
            a = layer.inverse(a)
        a_hat = quantized_adjacency(a)
        for layer in reversed(self.node_flow):
            x = layer.inverse(x, a_hat)
        return z.with_parts({"x": x, "adj": a})
