"""Molecules <-> dense graph tensors, losslessly.

Encoding (kekulized, hydrogens implicit):

* ``atoms``: (N,) uint8 node classes, 0 = no atom, k = ``vocab.atoms[k-1]`` (element, charge);
* ``adj``:   (N, N) uint8 edge classes, 0 = none, 1/2/3 = single/double/triple, symmetric with a
  zero diagonal; on disk the edges are kept sparse as ``bonds`` (E, 3) rows ``(i, j, class)``, i < j.

Hydrogen counts are not stored: on decoding, RDKit assigns each atom the implicit hydrogens of
its element's default valence shifted by its formal charge (N+ -> 4, O- -> 1, C- -> 3, ...), which
is exactly what every QM9 and MOSES molecule has (no radicals). Stereochemistry is not part of a
2D graph and is dropped; the round trip is therefore checked on non-isomeric canonical SMILES.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem

from genlab.chem.vocab import BOND_ORDER, BOND_TYPES, AtomVocab
from genlab.errors import VocabularyError


def canonical_smiles(mol: Chem.Mol) -> str:
    """Non-isomeric canonical SMILES (the form genlab compares molecules in)."""
    return Chem.MolToSmiles(mol, isomericSmiles=False)


def parse_smiles(smiles: str) -> Chem.Mol | None:
    """RDKit parse with sanitization; ``None`` for a string RDKit rejects."""
    return Chem.MolFromSmiles(smiles) if smiles else None


def atom_pairs(mol: Chem.Mol) -> list[tuple[str, int]]:
    return [(a.GetSymbol(), a.GetFormalCharge()) for a in mol.GetAtoms()]


def encode_mol(mol: Chem.Mol, vocab: AtomVocab, name: str = "") -> tuple[np.ndarray, np.ndarray]:
    """One molecule -> ``atoms`` (n,) uint8 and ``bonds`` (E, 3) uint8; n = heavy atoms.

    Raises :class:`VocabularyError` naming the molecule for an element/charge outside ``vocab``,
    more atoms than ``vocab.max_atoms``, a bond that is not single/double/triple after
    kekulization, or explicit hydrogens/radicals that implicit-hydrogen decoding cannot restore.
    """
    label = name or canonical_smiles(mol)
    mol = Chem.Mol(mol)
    try:
        Chem.Kekulize(mol, clearAromaticFlags=True)
    except Exception as exc:  # RDKit raises KekulizeException (a ValueError subclass) and others
        raise VocabularyError(f"molecule '{label}' cannot be kekulized: {exc}") from None
    n = mol.GetNumAtoms()
    if n > vocab.max_atoms:
        raise VocabularyError(f"molecule '{label}' has {n} heavy atoms, more than the {vocab.max_atoms} allowed")
    atoms = np.zeros(n, dtype=np.uint8)
    for a in mol.GetAtoms():
        k = vocab.index(a.GetSymbol(), a.GetFormalCharge())
        if k is None:
            raise VocabularyError(
                f"molecule '{label}' has atom {a.GetSymbol()} with charge {a.GetFormalCharge():+d}, "
                f"not in the vocabulary {vocab.labels()[1:]}"
            )
        if a.GetNumRadicalElectrons():
            raise VocabularyError(f"molecule '{label}' has a radical on atom {a.GetIdx()} ({a.GetSymbol()})")
        atoms[a.GetIdx()] = k
    bonds = np.zeros((mol.GetNumBonds(), 3), dtype=np.uint8)
    for r, b in enumerate(mol.GetBonds()):
        order = BOND_ORDER.get(b.GetBondType())
        if order is None:
            raise VocabularyError(f"molecule '{label}' has a {b.GetBondType()} bond, not single/double/triple")
        i, j = sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))
        bonds[r] = (i, j, order)
    return atoms, bonds


def dense_adjacency(bonds: np.ndarray, n_max: int) -> np.ndarray:
    """(E, 3) bond rows -> (n_max, n_max) symmetric uint8 edge-class matrix."""
    adj = np.zeros((n_max, n_max), dtype=np.uint8)
    if len(bonds):
        adj[bonds[:, 0], bonds[:, 1]] = bonds[:, 2]
        adj[bonds[:, 1], bonds[:, 0]] = bonds[:, 2]
    return adj


def build_mol(atoms: np.ndarray, adj: np.ndarray, vocab: AtomVocab) -> Chem.RWMol:
    """Graph tensors -> an *unsanitized* RDKit molecule with exactly the graph's atoms, charges
    and bonds. Positions with class 0 are dropped; edges touching them are ignored.

    ``atoms``: (N,) ints in [0, K]; ``adj``: (N, N) ints in [0, 3] (only the upper triangle is read).
    """
    atoms = np.asarray(atoms)
    adj = np.asarray(adj)
    mol = Chem.RWMol()
    index = {}
    for i, k in enumerate(atoms.tolist()):
        if k <= 0:
            continue
        if k > len(vocab.atoms):
            raise VocabularyError(f"node class {k} at position {i} is outside the vocabulary of {len(vocab.atoms)} atoms")
        symbol, charge = vocab.atoms[k - 1]
        atom = Chem.Atom(symbol)
        atom.SetFormalCharge(charge)
        index[i] = mol.AddAtom(atom)
    rows, cols = np.nonzero(np.triu(adj, k=1))
    for i, j in zip(rows.tolist(), cols.tolist()):
        if i in index and j in index:
            c = int(adj[i, j])
            if not 1 <= c <= len(BOND_TYPES):
                raise VocabularyError(f"edge class {c} at ({i}, {j}) is not a bond class (1..{len(BOND_TYPES)})")
            mol.AddBond(index[i], index[j], BOND_TYPES[c - 1])
    return mol


def decode_graph(atoms: np.ndarray, adj: np.ndarray, vocab: AtomVocab) -> Chem.Mol | None:
    """Graph tensors -> a sanitized molecule, or ``None`` if RDKit sanitization fails."""
    mol = build_mol(atoms, adj, vocab)
    try:
        Chem.SanitizeMol(mol)
    except Exception:  # AtomValenceException, KekulizeException, ...
        return None
    return mol.GetMol()
