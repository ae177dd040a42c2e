"""Molecule datasets as :class:`~genlab.data.bundle.DataBundle`\\ s: ``qm9``, ``moses``, ``smiles``.

Items are ``(part, index)`` pairs; the collate turns a list of them into a
:class:`~genlab.modalities.molecules.GraphBatch` with one vectorised
:meth:`~genlab.data.molgraph_set.MolGraphSet.dense` call (no per-atom Python loop). The modality is
:class:`~genlab.modalities.molecules.MolecularGraphModality` built from the training set's
vocabulary and atom-count histogram.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from genlab.data.bundle import DataBundle
from genlab.data.encoding import encode_smiles, why_not_encoded
from genlab.data.molecule_cache import load_molecules
from genlab.data.molgraph_set import MolGraphSet
from genlab.data.registry import DATASETS
from genlab.data.smiles_io import read_molecule_file
from genlab.errors import DataError, GenlabError
from genlab.modalities.molecules import EDGE_CLASSES, GraphBatch, MolecularGraphModality, atom_count_histogram


class MoleculeIndices(Dataset):
    """Item i is ``(part, i)``: molecule i of set ``part`` (0 = train, 1 = held out); the collate
    looks the molecules up, so the loaders move plain integers, never graphs."""

    def __init__(self, graphs: MolGraphSet, part: int) -> None:
        self.graphs, self.part = graphs, part

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, i: int) -> tuple[int, int]:
        return self.part, int(i)


class DenseCollate:
    """List of ``(part, index)`` items -> :class:`GraphBatch` of (B, N) atoms and (B, N, N) bonds,
    with one vectorised :meth:`MolGraphSet.dense` call. A class, not a closure, so that DataLoader
    worker processes can pickle it; one instance serves the training and the held-out loader."""

    def __init__(self, sets: tuple[MolGraphSet, ...]) -> None:
        self.sets = sets

    def __call__(self, items: list[tuple[int, int]]) -> GraphBatch:
        parts = {p for p, _ in items}
        if len(parts) != 1:
            raise ValueError(f"a batch must come from one set, got parts {sorted(parts)}")
        index = np.fromiter((i for _, i in items), dtype=np.int64, count=len(items))  # (B,)
        atoms, adj = self.sets[parts.pop()].dense(index)  # (B, N), (B, N, N)
        return GraphBatch(atoms, adj)


def _bundle(train: MolGraphSet, heldout: MolGraphSet, dataset: str, scale: float) -> DataBundle:
    """The bundle of every molecule dataset; the modality sees only the training set."""
    modality = MolecularGraphModality(
        train.vocab, atom_count_histogram(train.num_atoms(), train.vocab.max_atoms), scale=scale,
        class_counts=class_counts(train),
    )
    return DataBundle(
        modality=modality,
        train=MoleculeIndices(train, 0),
        heldout=MoleculeIndices(heldout, 1),
        collate=DenseCollate((train, heldout)),
        info={"vocab": train.vocab, "dataset": dataset, "train_smiles": train.smiles,
              "heldout_smiles": heldout.smiles},
    )


def class_counts(graphs: MolGraphSet) -> dict[str, list[int]]:
    """How often each atom class occurs among the real atoms and each edge class among the
    unordered pairs of real atoms (class 0 = no bond), over a whole set: the marginals of
    :meth:`MolecularGraphModality.class_prior`."""
    k, c = len(graphs.vocab.atoms), EDGE_CLASSES
    atoms = graphs.atoms[graphs.atoms > 0].astype(np.int64) - 1
    bonds = np.bincount(graphs.bonds[:, 2].astype(np.int64), minlength=c)[:c]  # (C,), bonds[0] = 0
    n = graphs.num_atoms().astype(np.int64)
    bonds[0] = int((n * (n - 1) // 2).sum()) - int(bonds[1:].sum())
    return {"x": np.bincount(atoms, minlength=k).tolist(), "adj": bonds.tolist()}


def _limit(graphs: MolGraphSet, limit: int | None, seed: int) -> MolGraphSet:
    """A seeded random subset of ``limit`` molecules (all of them when ``limit`` is None)."""
    if limit is None or limit >= len(graphs):
        return graphs
    if limit < 1:
        raise DataError(f"limit must be a positive number of molecules, got {limit}")
    index = np.sort(np.random.default_rng(seed).choice(len(graphs), size=limit, replace=False))
    return graphs.subset(index)


@DATASETS.register("qm9")
def qm9(split_heldout: str = "test", limit: int | None = None, limit_heldout: int | None = None,
        seed: int = 0, scale: float = 1.0) -> DataBundle:
    """QM9 (heavy atoms, kekulized, charges kept; standard MoFlow/GraphNVP split).

    ``limit`` / ``limit_heldout``: train / held out on a seeded random subset; ``scale``: the
    modality's one-hot magnitude.
    """
    train = _limit(load_molecules("qm9", "train"), limit, seed)
    heldout = _limit(load_molecules("qm9", split_heldout), limit_heldout, seed + 1)
    return _bundle(train, heldout, "qm9", scale)


@DATASETS.register("moses")
def moses(split_heldout: str = "test", limit: int | None = None, limit_heldout: int | None = None,
          seed: int = 0, scale: float = 1.0) -> DataBundle:
    """MOSES (Polykovskiy et al. 2020) train split; held out: ``test`` or ``test_scaffolds``."""
    train = _limit(load_molecules("moses", "train"), limit, seed)
    heldout = _limit(load_molecules("moses", split_heldout), limit_heldout, seed + 1)
    return _bundle(train, heldout, "moses", scale)


@DATASETS.register("smiles")
def smiles(path: str, heldout_fraction: float = 0.1, limit: int | None = None, seed: int = 0,
           scale: float = 1.0) -> DataBundle:
    """A user's molecule file (.smi/.txt/.csv/.sdf, optionally .gz). The vocabulary (element,
    charge pairs and the largest size) is taken from the file; a seeded ``heldout_fraction`` of
    the molecules is held out. Every error names the file."""
    file = Path(path)
    try:
        records = list(read_molecule_file(file))
        bad = next((r for r in records if r.smiles is None), None)
        if bad is not None:  # a training set has no room for an unreadable line
            raise DataError(bad.error, path=file, line=bad.line)
        if not records:
            raise DataError("no molecules in the file", path=file)
        graphs = encode_smiles([r.smiles for r in records], name=str(file), strict=False)
        if len(graphs) < len(records):  # name the first molecule that cannot be encoded by its line
            m = next(i for i, k in enumerate(graphs.ids.tolist() + [-1]) if i != k)
            raise DataError(why_not_encoded(records[m].smiles), path=file, line=records[m].line)
    except GenlabError as exc:
        if exc.path is None:
            raise DataError(exc.message, path=file) from None
        raise
    if not 0.0 <= heldout_fraction < 1.0:
        raise DataError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}", path=file)
    order = np.random.default_rng(seed).permutation(len(graphs))
    n_heldout = int(round(heldout_fraction * len(graphs)))
    if len(graphs) - n_heldout < 1:
        raise DataError(f"{len(graphs)} molecules leave none for training", path=file)
    train = _limit(graphs.subset(np.sort(order[n_heldout:]), name=f"{file.name}/train"), limit, seed)
    heldout = graphs.subset(np.sort(order[:n_heldout]), name=f"{file.name}/heldout")
    return _bundle(train, heldout, file.name, scale)
