"""Molecular graphs as categorical tensors with an explicit "no atom" class.

The one-shot graph generators of 2018–2021 (GraphNVP, Madhawa et al. 2019, §3.1; MolGAN, De Cao &
Kipf 2018, §3; MPGVAE, Flam-Shepherd et al. 2021, §3.2) all emit a fixed number N of node slots,
each a categorical over K atom types *plus* a virtual "no atom" type, and a categorical over C
edge classes (no bond, single, double, triple) for every pair. The model, not a histogram, then
decides how many atoms a molecule has. These helpers translate between that representation and
genlab's :class:`~genlab.modalities.molecules.GraphBatch` (node class 0 is "no atom" there too, so
the class indices coincide: node class k ∈ 0..K, edge class c ∈ 0..C-1):

    one_hot_graphs(batch)       -> X (B, N, K+1), A (B, N, N, C)      exact 0/1 tensors
    graph_from_classes(...)     -> GraphBatch through the modality's decode (no valency fixing)
    categorical_nll(logits, b)  -> −log p(graph) summed over N nodes and the N(N−1)/2 pairs i < j
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from genlab.modalities.base import State
from genlab.modalities.molecules import GraphBatch, MolecularGraphModality


def node_classes(modality: MolecularGraphModality) -> int:
    """K + 1: the modality's atom types plus the virtual "no atom" class 0."""
    return modality.atom_types + 1


def one_hot_graphs(batch: GraphBatch, modality: MolecularGraphModality) -> tuple[Tensor, Tensor]:
    """Integer graphs -> one-hot X (B, N, K+1) and A (B, N, N, C) (diagonal: class "no bond")."""
    x = F.one_hot(batch.atoms.long(), node_classes(modality)).float()  # (B, N, K+1)
    a = F.one_hot(batch.adj.long(), modality.edge_classes).float()  # (B, N, N, C)
    return x, a


def symmetric_classes(adj_scores: Tensor) -> Tensor:
    """Edge classes (B, N, N) from scores (B, N, N, C): argmax of (s_ij + s_ji)/2."""
    return (0.5 * (adj_scores + adj_scores.transpose(1, 2))).argmax(-1)


def graph_from_classes(atoms: Tensor, adj: Tensor, modality: MolecularGraphModality) -> GraphBatch:
    """Node classes (B, N) in 0..K and symmetric edge classes (B, N, N) -> a GraphBatch.

    Goes through :meth:`MolecularGraphModality.decode`: slots of class 0 become the node mask's
    padding, and bonds touching them or on the diagonal are dropped. Nothing else is changed.
    """
    mask = atoms > 0  # (B, N)
    x = F.one_hot((atoms - 1).clamp(min=0), modality.atom_types).float()  # (B, N, K)
    e = F.one_hot(adj, modality.edge_classes).float()  # (B, N, N, C)
    return modality.decode(State({"x": x, "adj": e}, mask))


def graph_from_scores(x_scores: Tensor, adj_scores: Tensor, modality: MolecularGraphModality) -> GraphBatch:
    """Argmax decoding of node scores (B, N, K+1) and edge scores (B, N, N, C)."""
    return graph_from_classes(x_scores.argmax(-1), symmetric_classes(adj_scores), modality)


def categorical_nll(x_logits: Tensor, adj_logits: Tensor, batch: GraphBatch) -> tuple[Tensor, Tensor]:
    """(node NLL, edge NLL), each (B,): cross-entropy summed over the N node slots (K+1 classes,
    "no atom" included) and over the N(N−1)/2 pairs i < j (C classes, "no bond" included)."""
    n = batch.atoms.shape[1]
    node = F.cross_entropy(x_logits.movedim(-1, 1), batch.atoms.long(), reduction="none").sum(1)  # (B,)
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=adj_logits.device), diagonal=1)  # (N, N)
    edge = F.cross_entropy(adj_logits.movedim(-1, 1), batch.adj.long(), reduction="none")  # (B, N, N)
    return node, (edge * upper).sum((1, 2))
