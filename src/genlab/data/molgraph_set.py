"""``MolGraphSet``: encoded molecules of one split, sparse on disk and dense per batch.

The tensors come from :func:`genlab.data.encoding.encode_smiles` (any SMILES) or
:func:`genlab.data.molecule_cache.load_molecules` (QM9, MOSES); the layout is that of
:mod:`genlab.chem.graph` (node classes, bonds as ``(i, j, class)`` rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from genlab.chem.graph import dense_adjacency
from genlab.chem.vocab import AtomVocab


@dataclass
class MolGraphSet:
    """Encoded molecules of one split: sparse on disk, dense per batch.

    ``atoms``: (M, N) uint8 node classes (0 = no atom); ``bonds``: (E, 3) uint8 rows (i, j, class)
    with molecule m's bonds at ``bonds[bond_ptr[m]:bond_ptr[m+1]]``; ``smiles``: the canonical
    non-isomeric SMILES each graph encodes; ``ids``: source ids (GDB-9 ids for QM9, row numbers
    otherwise).
    """

    name: str
    vocab: AtomVocab
    atoms: np.ndarray
    bond_ptr: np.ndarray
    bonds: np.ndarray
    smiles: list[str]
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.smiles)

    def graph(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Molecule m as dense (N,) atom classes and (N, N) edge classes."""
        bonds = self.bonds[self.bond_ptr[m] : self.bond_ptr[m + 1]]
        return self.atoms[m], dense_adjacency(bonds, self.vocab.max_atoms)

    def dense(self, index: Sequence[int] | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch as ``x`` (B, N) long and ``adj`` (B, N, N) long, without a Python loop over bonds."""
        index = np.asarray(index, dtype=np.int64)
        n = self.vocab.max_atoms
        x = torch.from_numpy(self.atoms[index].astype(np.int64))  # (B, N)
        starts, ends = self.bond_ptr[index], self.bond_ptr[index + 1]
        counts = ends - starts
        rows = np.repeat(np.arange(len(index)), counts)  # (E_b,) batch row of each bond
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        b = self.bonds[np.repeat(starts, counts) + offsets].astype(np.int64)  # (E_b, 3)
        adj = torch.zeros(len(index), n, n, dtype=torch.long)  # (B, N, N)
        r, i, j, c = (torch.from_numpy(a) for a in (rows, b[:, 0], b[:, 1], b[:, 2]))
        adj[r, i, j] = c
        adj[r, j, i] = c
        return x, adj

    def num_atoms(self) -> np.ndarray:
        """(M,) heavy-atom count of each molecule."""
        return (self.atoms > 0).sum(axis=1)

    def subset(self, index: Sequence[int] | np.ndarray, name: str | None = None) -> "MolGraphSet":
        index = np.asarray(index, dtype=np.int64)
        counts = self.bond_ptr[index + 1] - self.bond_ptr[index]
        take = np.concatenate([np.arange(self.bond_ptr[m], self.bond_ptr[m + 1]) for m in index]) if len(index) else np.zeros(0, np.int64)
        return MolGraphSet(
            name or self.name,
            self.vocab,
            self.atoms[index],
            np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            self.bonds[take.astype(np.int64)].reshape(-1, 3),
            [self.smiles[m] for m in index],
            self.ids[index],
        )
