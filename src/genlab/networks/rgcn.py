"""Relational graph convolutions (Schlichtkrull et al. 2018, "Modeling relational data with graph
convolutional networks", eq. 2) on dense, possibly soft, adjacency tensors.

With node features h (B, N, d) and an adjacency A (B, N, N, R) whose channel r weights relation r
(a bond type; the "no bond" channel is dropped by the caller), one layer is

    h_i' = W_0 h_i + Σ_r Σ_j A_ijr W_r h_j / c_i,        c_i = 1 + Σ_r Σ_j A_ijr       (eq. 2)

(the per-node normalisation c_i of Schlichtkrull et al., here the weighted degree). A may be
one-hot (GraphNVP's node couplings, Madhawa et al. 2019, §3.3), a Gumbel-softmax relaxation
(MolGAN's generator output, De Cao & Kipf 2018, §3.2) or an interpolation of both (WGAN-GP).

A graph-level vector is read by MolGAN's gated sum (§3.3, after Li et al. 2016, eq. 7):

    h_G = tanh( Σ_v σ(i([h_v, x_v])) ⊙ tanh(j([h_v, x_v])) ).

``rgcn_critic`` (registered network) is that critic: State with parts ``"x"`` (B, N, K+1) node
class probabilities and ``"adj"`` (B, N, N, C) edge class probabilities -> (B, out_dim) features;
the GAN family adds the linear score head. Every operation is per node or a sum over nodes, so the
output is invariant to a permutation of the node slots.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.modalities.base import State
from genlab.networks.registry import NETWORKS
from genlab.utils import checks


class RelationalGraphConv(nn.Module):
    """``RelationalGraphConv(in_dim, out_dim, relations)``: one layer of eq. 2."""

    def __init__(self, in_dim: int, out_dim: int, relations: int) -> None:
        super().__init__()
        self.self_loop = nn.Linear(in_dim, out_dim)  # W_0
        self.relation = nn.Linear(in_dim, relations * out_dim, bias=False)  # W_1..W_R stacked
        self.relations, self.out_dim = relations, out_dim

    def forward(self, h: Tensor, adj: Tensor) -> Tensor:
        """h (B, N, d_in), adj (B, N, N, R) -> (B, N, d_out)."""
        b, n, _ = h.shape
        w_h = self.relation(h).view(b, n, self.relations, self.out_dim)  # (B, N, R, d_out): W_r h_j
        msg = torch.einsum("bijr,bjrd->bid", adj, w_h)  # (B, N, d_out): Σ_r Σ_j A_ijr W_r h_j
        degree = 1 + adj.sum(dim=(2, 3))  # (B, N): c_i
        return self.self_loop(h) + msg / degree[..., None]


class RGCN(nn.Module):
    """``RGCN(in_dim, hidden, relations, layers)``: a stack of eq. 2 with tanh between layers
    (MolGAN's critic body), returning node features (B, N, hidden[-1])."""

    def __init__(self, in_dim: int, hidden: list[int], relations: int) -> None:
        super().__init__()
        widths = [in_dim, *hidden]
        self.layers = nn.ModuleList(RelationalGraphConv(a, b, relations) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        h = x
        for layer in self.layers:
            h = torch.tanh(layer(h, adj))  # (B, N, d_l)
        return h


class GatedSum(nn.Module):
    """``GatedSum(in_dim, out_dim)``: h_G = tanh(Σ_v σ(i(u_v)) ⊙ tanh(j(u_v))), u_v (B, N, in_dim)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.gate, self.value = nn.Linear(in_dim, out_dim), nn.Linear(in_dim, out_dim)

    def forward(self, u: Tensor) -> Tensor:
        return torch.tanh((torch.sigmoid(self.gate(u)) * torch.tanh(self.value(u))).sum(1))  # (B, out_dim)


@NETWORKS.register("rgcn_critic")
class RGCNCritic(nn.Module):
    """``RGCNCritic(shapes, hidden, readout, mlp_hidden)``: MolGAN's discriminator body
    (De Cao & Kipf 2018, §3.3, App. B: R-GCN [128, 64], gated readout 128, MLP [128, 64]).

    ``shapes`` is the modality's slot view ``{"x": (N, K+1), "adj": (N, N, C)}``: K+1 node classes
    ("no atom" first) and the C−1 bond channels of the adjacency (channel 0, "no bond", is not a
    relation).
    """

    view = "slots"

    def __init__(self, shapes: dict[str, tuple[int, ...]], hidden: tuple[int, ...] = (128, 64),
                 readout: int = 128, mlp_hidden: tuple[int, ...] = (128, 64)) -> None:
        super().__init__()
        checks.at_least("hidden", len(hidden), 1, bound="one layer")
        for width in hidden:
            checks.at_least("hidden", width, 1)
        for width in mlp_hidden:
            checks.at_least("mlp_hidden", width, 1)
        checks.at_least("readout", readout, 1)
        n, node_classes = shapes["x"]
        c = shapes["adj"][-1]
        self.rgcn = RGCN(node_classes, list(hidden), relations=c - 1)
        self.readout = GatedSum(hidden[-1] + node_classes, readout)
        layers: list[nn.Module] = []
        width = readout
        for w in mlp_hidden:
            layers += [nn.Linear(width, w), nn.Tanh()]
            width = w
        self.mlp = nn.Sequential(*layers)
        self.out_dim = width

    def forward(self, graph: State) -> Tensor:
        x, adj = graph.parts["x"], graph.parts["adj"]  # (B, N, K+1), (B, N, N, C)
        bonds = adj[..., 1:]  # (B, N, N, C-1): relations
        h = self.rgcn(x, bonds)  # (B, N, d)
        return self.mlp(self.readout(torch.cat([h, x], dim=-1)))  # (B, out_dim)
