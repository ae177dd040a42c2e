"""A time-conditioned graph transformer over node and edge channels jointly.

The layer follows the design of Dwivedi & Bresson (2021, "A generalization of transformer
networks to graphs", §3.2, eqs. 11-12) as used for graph diffusion by Vignac et al. (2023,
DiGress, App. B.1): attention scores between atoms are modulated by the pair's edge features,
and the pre-softmax scores in turn update the edge features, so nodes and edges inform each
other in every layer. Per layer ℓ, with h_i (B, N, d) node and e_ij (B, N, N, d_e) edge features
and γ = time/size embedding (B, d):

    ĥ = LN(h)(1 + a(γ)) + b(γ),     ê = LN(e)(1 + a'(γ)) + b'(γ)               (FiLM, Perez et al. 2018)
    s_ij^k = (q_i^k · k_j^k)/√d_k · (1 + m^k(ê_ij)) + c^k(ê_ij)               per head k
    h_i ← h_i + W_o Σ_j softmax_j(s_ij) v_j^k + W_d Σ_j ê_ij / 4,      h ← h + FF(h)
    e_ij ← e_ij + W_s s_ij + W_n(ĥ_i) + W_n(ĥ_j),                      e ← e + FF(e)

The sum Σ_j ê_ij is there because softmax attention averages and cannot count: an atom's
valence is a *sum* of bond orders (Xu et al. 2019, GIN, §4: sum aggregation distinguishes
multisets that mean aggregation cannot); on QM9 it raised the share of samples that pass the
valence check (docs/benchmarks.md). With ``reach_hops = k > 0`` each layer also reads
a soft bond matrix A_ij = σ(w·ê_ij), forms the lazy random walk P = (I + A)/(1 + deg) and adds
log P^(2^k)_ij (reachability within 2^k bonds) to the edges and each atom's least reachable
partner to the nodes: a differentiable connectivity signal, since a molecule must be one
connected graph and attention alone sees no global structure.

Every operation is per node, per pair, or a sum over j restricted to real atoms, so the network
is permutation equivariant, and padded atoms never reach a real atom's output. The edge output
is symmetrised ((o_ij + o_ji)/2) and masked like the input.

Contract (:mod:`genlab.networks.registry`): ``out: State = net(x_t, t)`` with components
``"x"`` (B, N, K) and ``"adj"`` (B, N, N, C) and the node mask (B, N).

**Self-conditioning** (Chen, Zhang & Hinton 2023, "Analog bits", §3.2): with
``self_condition: true`` the network takes a third argument, ``net(x_t, t, cond)``, a previous
estimate of x_0 in the same components (``None`` = zeros), embedded by its own input layers and
added to the node and edge features; the family decides when to pass one.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genlab.modalities.base import State
from genlab.networks.embedding import build_time_embedding
from genlab.networks.registry import NETWORKS
from genlab.utils.checks import at_least, divides, non_negative


def _pairs(mask: Tensor) -> Tensor:
    """(B, N) node mask -> (B, N, N) mask of pairs of distinct real atoms."""
    eye = torch.eye(mask.shape[1], dtype=torch.bool, device=mask.device)
    return mask[:, :, None] & mask[:, None, :] & ~eye


class GraphTransformerLayer(nn.Module):
    """One joint node/edge attention layer (module docstring)."""

    def __init__(self, hidden: int, edge_hidden: int, heads: int, reach_hops: int = 0) -> None:
        super().__init__()
        divides("heads", heads, hidden, bound="hidden")
        self.heads, self.d_k = heads, hidden // heads
        self.norm_h = nn.LayerNorm(hidden, elementwise_affine=False)
        self.norm_e = nn.LayerNorm(edge_hidden, elementwise_affine=False)
        self.film_h = nn.Linear(hidden, 2 * hidden)
        self.film_e = nn.Linear(hidden, 2 * edge_hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.edge_to_score = nn.Linear(edge_hidden, 2 * heads)  # m^k, c^k
        self.out_h = nn.Linear(hidden, hidden)
        self.ff_h = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, 2 * hidden), nn.SiLU(),
                                  nn.Linear(2 * hidden, hidden))
        self.degree = nn.Linear(edge_hidden, hidden)  # W_d
        self.reach_hops = reach_hops
        if reach_hops:
            self.bond_gate = nn.Linear(edge_hidden, 1)  # w
            self.reach_to_edge = nn.Linear(2, edge_hidden)
            self.reach_to_node = nn.Linear(1, hidden)
        self.score_to_edge = nn.Linear(heads, edge_hidden)  # W_s
        self.node_to_edge = nn.Linear(hidden, edge_hidden)  # W_n
        self.ff_e = nn.Sequential(nn.LayerNorm(edge_hidden), nn.Linear(edge_hidden, 2 * edge_hidden), nn.SiLU(),
                                  nn.Linear(2 * edge_hidden, edge_hidden))

    def forward(self, h: Tensor, e: Tensor, gamma: Tensor, mask: Tensor, pairs: Tensor) -> tuple[Tensor, Tensor]:
        b, n, d = h.shape
        a_h, b_h = self.film_h(gamma)[:, None].chunk(2, dim=-1)  # (B, 1, d) each
        a_e, b_e = self.film_e(gamma)[:, None, None].chunk(2, dim=-1)  # (B, 1, 1, d_e) each
        h_hat = self.norm_h(h) * (1 + a_h) + b_h  # (B, N, d)
        e_hat = self.norm_e(e) * (1 + a_e) + b_e  # (B, N, N, d_e)
        q, k, v = self.qkv(h_hat).view(b, n, 3, self.heads, self.d_k).unbind(dim=2)  # (B, N, H, d_k) each
        s = torch.einsum("bihd,bjhd->bijh", q, k) / math.sqrt(self.d_k)  # (B, N, N, H)
        m, c = self.edge_to_score(e_hat).chunk(2, dim=-1)  # (B, N, N, H) each
        s = s * (1 + m) + c  # (B, N, N, H)
        attn = s.masked_fill(~mask[:, None, :, None], float("-inf")).softmax(dim=2)  # over j
        attn = torch.nan_to_num(attn)  # rows of graphs with no atoms at all
        msg = torch.einsum("bijh,bjhd->bihd", attn, v).reshape(b, n, d)  # (B, N, d)
        h = h + self.out_h(msg) + self.degree((e_hat * pairs[..., None]).sum(dim=2) / 4)  # (B, N, d)
        if self.reach_hops:
            e, h = self._reachability(e_hat, e, h, mask, pairs)
        h = (h + self.ff_h(h)) * mask[..., None]  # (B, N, d)
        w_n = self.node_to_edge(h_hat)  # (B, N, d_e)
        e = e + self.score_to_edge(s) + w_n[:, :, None] + w_n[:, None, :]  # (B, N, N, d_e)
        e = (e + self.ff_e(e)) * pairs[..., None]
        return h, e

    def _reachability(self, e_hat: Tensor, e: Tensor, h: Tensor, mask: Tensor, pairs: Tensor) -> tuple[Tensor, Tensor]:
        """Add log P^(2^k) (lazy random walk on soft bonds) to the edges, min_j of it to the nodes."""
        n = mask.shape[1]
        bonds = torch.sigmoid(self.bond_gate(e_hat)).squeeze(-1) * pairs  # (B, N, N) soft A
        eye = torch.eye(n, device=e.device) * mask[:, :, None]  # (B, N, N) I on real atoms
        walk = (eye + bonds) / (1 + bonds.sum(dim=-1, keepdim=True))  # (B, N, N) row-stochastic
        for _ in range(self.reach_hops):
            walk = walk @ walk  # P^(2^k)
        log_reach = torch.log(0.5 * (walk + walk.transpose(1, 2)) + 1e-6)  # (B, N, N)
        e = e + self.reach_to_edge(torch.stack([log_reach, bonds], dim=-1)) * pairs[..., None]
        least = log_reach.masked_fill(~mask[:, None, :], 0.0).min(dim=-1).values  # (B, N)
        h = h + self.reach_to_node(least[..., None] / 10) * mask[..., None]
        return e, h


@NETWORKS.register("graph_transformer")
class GraphTransformer(nn.Module):
    """``GraphTransformer(shapes, hidden, edge_hidden, layers, heads, reach_hops, time_embedding,
    time_dim, aux_dim, self_condition)``: ``shapes = {"x": (N, K), "adj": (N, N, C)}`` from the modality.

    The conditioning vector γ is the time embedding plus an embedding of the number of real
    atoms n (a permutation-invariant graph feature). ``aux_dim > 0`` reads a per-graph vector
    (B, aux_dim) from the masked mean of the final node and edge features.
    """

    def __init__(self, shapes: dict[str, tuple[int, ...]], hidden: int = 64, edge_hidden: int = 32,
                 layers: int = 4, heads: int = 4, reach_hops: int = 0, time_embedding: str = "sinusoidal",
                 time_dim: int = 64, aux_dim: int = 0, self_condition: bool = False) -> None:
        super().__init__()
        if set(shapes) != {"x", "adj"}:
            raise ValueError(f"graph_transformer needs components 'x' and 'adj', got {sorted(shapes)}")
        at_least("hidden", hidden, 1)
        at_least("edge_hidden", edge_hidden, 1)
        at_least("layers", layers, 1)
        divides("heads", heads, hidden, bound="hidden")
        non_negative("reach_hops", reach_hops)
        non_negative("aux_dim", aux_dim)
        n, k = shapes["x"]
        c = shapes["adj"][-1]
        self.aux_dim = aux_dim
        self.embed_t = build_time_embedding(time_embedding, time_dim)
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.embed_n = nn.Embedding(n + 1, hidden)
        self.in_x = nn.Linear(k, hidden)
        self.in_e = nn.Linear(c, edge_hidden)
        self.self_condition = self_condition
        if self_condition:  # embeddings of the previous x_0 estimate
            self.cond_x = nn.Linear(k, hidden)
            self.cond_e = nn.Linear(c, edge_hidden)
        self.layers = nn.ModuleList(GraphTransformerLayer(hidden, edge_hidden, heads, reach_hops) for _ in range(layers))
        self.out_x = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, k))
        self.out_e = nn.Sequential(nn.LayerNorm(edge_hidden), nn.Linear(edge_hidden, c))
        if aux_dim:
            self.out_aux = nn.Sequential(nn.LayerNorm(hidden + edge_hidden), nn.Linear(hidden + edge_hidden, aux_dim))

    def forward(self, x_t: State, t: Tensor, cond: State | None = None) -> State:
        if x_t.mask is None:
            raise ValueError("graph_transformer needs the node mask of the state")
        mask = x_t.mask.bool()  # (B, N)
        pairs = _pairs(mask)  # (B, N, N)
        x, a = x_t.parts["x"], x_t.parts["adj"]  # (B, N, K), (B, N, N, C)
        n_atoms = mask.sum(dim=1)  # (B,)
        gamma = self.time_mlp(self.embed_t(t)) + self.embed_n(n_atoms)  # (B, d)
        h = self.in_x(x) * mask[..., None]  # (B, N, d)
        e = self.in_e(a) * pairs[..., None]  # (B, N, N, d_e)
        if self.self_condition and cond is not None:  # zeros embed to the biases alone
            h = h + self.cond_x(cond.parts["x"]) * mask[..., None]  # (B, N, d)
            e = e + self.cond_e(cond.parts["adj"]) * pairs[..., None]  # (B, N, N, d_e)
        elif self.self_condition:
            h = h + self.cond_x.bias * mask[..., None]
            e = e + self.cond_e.bias * pairs[..., None]
        elif cond is not None:
            raise ValueError("this graph_transformer was built without self_condition")
        for layer in self.layers:
            h, e = layer(h, e, gamma, mask, pairs)
        out_x = self.out_x(h) * mask[..., None]  # (B, N, K)
        out_e = self.out_e(e)  # (B, N, N, C)
        out_e = 0.5 * (out_e + out_e.transpose(1, 2)) * pairs[..., None]
        out = x_t.with_parts({"x": out_x, "adj": out_e})
        if self.aux_dim:
            n_pairs = pairs.sum(dim=(1, 2)).clamp(min=1)[:, None]  # (B, 1)
            pooled_h = h.sum(dim=1) / n_atoms.clamp(min=1)[:, None]  # (B, d)
            pooled_e = e.sum(dim=(1, 2)) / n_pairs  # (B, d_e)
            out.parts["aux"] = self.out_aux(torch.cat([pooled_h, pooled_e], dim=-1))  # (B, aux)
        return out
