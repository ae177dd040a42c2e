"""NSPDK MMD between molecule sets, as GDSS computes it.

Neighbourhood Subgraph Pairwise Distance Kernel (Costa & De Grave, 2010), via EDeN's
``vectorize(graphs, complexity=4, discrete=True)``: each molecule becomes a sparse, unit-norm
feature vector phi(G) in R^(2^16 + 1), and the kernel is linear, k(G, H) = <phi(G), phi(H)>.
GDSS (Jo et al., 2022; ``evaluation/mmd.py::compute_nspdk_mmd``, ``evaluation/stats.py::
nspdk_stats``) reports the squared MMD

    MMD^2 = mean K(R, R) + mean K(G, G) - 2 mean K(R, G)
          = || mean_R phi - mean_G phi ||^2        (the kernel is linear),

which is what we compute, from the mean embeddings (the matrix form needs 10k x 13k dense
kernels; the two agree to round-off, checked in the tests). A set's mean embedding is summed
chunk by chunk (:class:`EmbeddingSum`), so its (N, 2^16 + 1) feature matrix is never held whole.

Graphs are GDSS's ``mols_to_nx``: node ``label`` = atom symbol, edge ``label`` =
``int(bond.GetBondTypeAsDouble())`` — so an aromatic bond (1.5) becomes 1, the same label as a
single bond, for molecules parsed from SMILES. As in GDSS, empty molecules are dropped.

Determinism. EDeN hashes a node label with Python's ``hash()``; for a ``str`` that is salted per
process (``PYTHONHASHSEED``), so GDSS's number moves from run to run (feature hash collisions
change; ``docs/metrics.md`` has the spread), and features computed in two processes are
incomparable. We label atoms with :class:`AtomSymbol`, a ``str`` equal to the symbol whose hash
is a fixed BLAKE2b digest, so a cached reference embedding stays valid and the value is the same
in every process.

EDeN on a graph with one node and no edge (CH4, H2O, NH3 in QM9) returns a valid unit vector
with two non-zero entries of 1/sqrt(2), so such molecules need no special case; C, N and O give
different vectors. A graph with no node makes EDeN raise, and none reaches it. The 118 element
symbols get 118 distinct 16-bit label hashes, none equal to a bond label's (checked in the tests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp
from rdkit import Chem

from genlab.errors import DataError
from genlab.metrics.fingerprints import as_mols

NSPDK_COMPLEXITY = 4


class AtomSymbol(str):
    """An atom symbol with a process-independent hash (see the module docstring)."""

    __slots__ = ()

    def __hash__(self) -> int:
        digest = hashlib.blake2b(self.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") >> 2  # a non-negative 62-bit int, never -1


def mol_to_graph(mol: Chem.Mol) -> nx.Graph:
    """GDSS's ``mols_to_nx`` for one molecule, with deterministic node labels."""
    graph = nx.Graph()
    for atom in mol.GetAtoms():
        graph.add_node(atom.GetIdx(), label=AtomSymbol(atom.GetSymbol()))
    for bond in mol.GetBonds():
        graph.add_edge(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx(), label=int(bond.GetBondTypeAsDouble()))
    return graph


def nspdk_features(molecules: Sequence[str | Chem.Mol]) -> sp.csr_matrix:
    """(N, 65537) EDeN NSPDK features of the non-empty molecules, rows unit-norm, float64."""
    from eden.graph import vectorize

    graphs = [mol_to_graph(m) for m in as_mols(molecules) if m.GetNumAtoms() > 0]
    if not graphs:
        raise DataError("NSPDK needs at least one non-empty molecule")
    return vectorize(graphs, complexity=NSPDK_COMPLEXITY, discrete=True).tocsr()


@dataclass
class EmbeddingSum:
    """Sum (D,) and count of NSPDK feature rows, merged chunk by chunk: the mean embedding of a
    set without its (N, D) feature matrix."""

    total: np.ndarray | None
    n: int

    @classmethod
    def of(cls, molecules: Sequence[str | Chem.Mol]) -> "EmbeddingSum":
        """The non-empty molecules' feature sum (a set of only empty molecules sums to nothing)."""
        if not any(m.GetNumAtoms() > 0 for m in as_mols(molecules)):
            return cls(None, 0)
        features = nspdk_features(molecules)
        return cls(np.asarray(features.sum(axis=0), dtype=np.float64).ravel(), features.shape[0])

    def merge(self, other: "EmbeddingSum") -> "EmbeddingSum":
        if other.n:
            self.total = other.total.copy() if self.total is None else self.total + other.total
            self.n += other.n
        return self

    def mean(self) -> np.ndarray:
        if self.n == 0:
            raise DataError("NSPDK needs at least one non-empty molecule")
        return self.total / self.n


def mean_embedding(features: sp.spmatrix) -> np.ndarray:
    """(D,) mean of the feature rows."""
    return np.asarray(features.mean(axis=0), dtype=np.float64).ravel()


def nspdk_mmd_from_means(gen_mean: np.ndarray, ref_mean: np.ndarray) -> float:
    """MMD^2 with the linear NSPDK kernel from the two sets' mean embeddings."""
    diff = gen_mean - ref_mean
    return float(diff @ diff)


def nspdk_mmd(gen: Sequence[str | Chem.Mol], ref: Sequence[str | Chem.Mol]) -> float:
    """GDSS's NSPDK MMD^2 between generated and reference molecules."""
    return nspdk_mmd_from_means(mean_embedding(nspdk_features(gen)), mean_embedding(nspdk_features(ref)))
