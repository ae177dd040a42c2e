"""SMILES -> graph tensors (:class:`~genlab.data.molgraph_set.MolGraphSet`), in two steps.

1. **Pre-encoding** (per molecule, in worker processes): parse, canonicalize, and encode with a
   universal vocabulary, each atom written as the code ``Z * 32 + (charge + 16)`` — independent
   of any dataset's vocabulary, so chunks can be encoded before the vocabulary is known.
2. **Assembly** (one process): map the codes onto the set's vocabulary (given, or the distinct
   (element, charge) pairs and the largest size found) and pack the rows.

Canonical SMILES are non-isomeric (:func:`genlab.chem.graph.canonical_smiles`), the form in which
genlab compares molecules.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
from rdkit import Chem, RDLogger

from genlab.chem.graph import canonical_smiles, encode_mol
from genlab.chem.vocab import AtomVocab
from genlab.data.molgraph_set import MolGraphSet
from genlab.errors import DataError, VocabularyError
from genlab.utils.parallel import default_workers, map_chunks

UNIVERSAL_MAX = 255  # atoms per molecule the universal pre-encoding can hold

#: what :func:`pre_encode` returns: (canonical SMILES, (n,) uint16 atom codes, (E, 3) bonds), or
#: (None, the reason, None) for a molecule that cannot be encoded
PreEncoded = tuple


def atom_code(symbol_charge: tuple[str, int]) -> int:
    """(element, charge) -> uint16 code Z * 32 + (charge + 16), independent of any vocabulary."""
    symbol, charge = symbol_charge
    return Chem.GetPeriodicTable().GetAtomicNumber(symbol) * 32 + (charge + 16)


def code_pair(code: int) -> tuple[str, int]:
    """The (element, charge) of an atom code."""
    return Chem.GetPeriodicTable().GetElementSymbol(code // 32), code % 32 - 16


def pre_encode(smiles: str) -> PreEncoded:
    """One SMILES -> (canonical SMILES, atom codes, bonds) or (None, reason, None)."""
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        return None, "RDKit cannot parse this SMILES", None
    canon = canonical_smiles(mol)
    pairs = [(a.GetSymbol(), a.GetFormalCharge()) for a in mol.GetAtoms()]
    charge = max((c for _, c in pairs), key=abs, default=0)
    if abs(charge) > 15:  # the code below holds charges -16..15; beyond, it would alias another element
        return None, f"molecule '{canon}' has an atom with charge {charge:+d}, outside -15..+15", None
    universal = AtomVocab.from_pairs(pairs, UNIVERSAL_MAX)
    try:
        atoms, bonds = encode_mol(mol, universal, name=canon)
    except VocabularyError as exc:
        return None, exc.message, None
    codes = np.array([atom_code(universal.atoms[k - 1]) for k in atoms], dtype=np.uint16)
    return canon, codes, bonds


def pre_encode_chunk(chunk: list[str]) -> list[PreEncoded]:
    RDLogger.DisableLog("rdApp.*")
    return [pre_encode(s) for s in chunk]


def why_not_encoded(smiles: str, limit: int = 60) -> str:
    """Why :func:`encode_smiles` drops ``smiles`` (molecule strings cut to ``limit`` characters)."""
    reason = pre_encode(smiles)[1]
    if not isinstance(reason, str):
        return "molecule can be encoded"
    if reason.startswith("RDKit cannot parse"):
        reason = f"{reason}: '{smiles}'"
    return re.sub(r"'([^']{%d})[^']+'" % (limit - 3), r"'\1...'", reason)


def vocab_of(results: Sequence[PreEncoded]) -> AtomVocab:
    """The vocabulary of pre-encoded molecules: their (element, charge) pairs and largest size."""
    encoded = [r for r in results if r[0] is not None]
    codes = np.unique(np.concatenate([r[1] for r in encoded])) if encoded else np.zeros(0, np.uint16)
    return AtomVocab.from_pairs([code_pair(int(c)) for c in codes], max((len(r[1]) for r in encoded), default=1))


def encode_smiles(smiles: Sequence[str], vocab: AtomVocab | None = None, *, workers: int | None = None,
                  name: str = "molecules", ids: np.ndarray | None = None, strict: bool = True) -> MolGraphSet:
    """Encode SMILES into a :class:`MolGraphSet`; with ``vocab=None`` the vocabulary is taken from the data.

    ``strict``: a SMILES that does not parse or fits no vocabulary raises :class:`DataError` naming
    it; otherwise it is skipped (its id is left out of ``ids``).
    """
    results = map_chunks(pre_encode_chunk, list(smiles), workers or default_workers())
    return assemble(results, smiles, vocab, name, ids, strict)


def assemble(results: Sequence[PreEncoded], smiles: Sequence[str], vocab: AtomVocab | None, name: str,
             ids: np.ndarray | None, strict: bool) -> MolGraphSet:
    """Pack pre-encoded molecules into a :class:`MolGraphSet` with ``vocab`` (``None``: :func:`vocab_of`)."""
    keep = []
    for m, (canon, codes, _) in enumerate(results):
        if canon is None:
            if strict:
                raise DataError(f"{name}: molecule {m + 1} '{smiles[m]}': {codes}")
            continue
        keep.append(m)
    all_codes = np.unique(np.concatenate([results[m][1] for m in keep])) if keep else np.zeros(0, np.uint16)
    if vocab is None:
        vocab = vocab_of(results)
    lookup = np.zeros(UNIVERSAL_MAX * 32 + 32, dtype=np.int64) - 1
    for c in all_codes:
        k = vocab.index(*code_pair(int(c)))
        lookup[c] = -1 if k is None else k
    atoms = np.zeros((len(keep), vocab.max_atoms), dtype=np.uint8)
    bond_ptr = np.zeros(len(keep) + 1, dtype=np.int64)
    bonds, out_smiles, out_rows = [], [], []
    row = 0
    for m in keep:
        canon, codes, b = results[m]
        k = lookup[codes]
        problem = None
        if len(codes) > vocab.max_atoms:
            problem = f"has {len(codes)} heavy atoms, more than the {vocab.max_atoms} allowed"
        elif (k < 0).any():
            bad = code_pair(int(codes[np.argmax(k < 0)]))
            problem = f"has atom {bad[0]} with charge {bad[1]:+d}, not in the vocabulary {vocab.labels()[1:]}"
        if problem:
            if strict:
                raise VocabularyError(f"{name}: molecule '{canon}' {problem}")
            continue
        atoms[row, : len(k)] = k
        bonds.append(b)
        bond_ptr[row + 1] = bond_ptr[row] + len(b)
        out_smiles.append(canon)
        out_rows.append(m)
        row += 1
    atoms, bond_ptr = atoms[:row], bond_ptr[: row + 1]
    src_ids = np.arange(len(results)) if ids is None else np.asarray(ids)
    return MolGraphSet(name, vocab, atoms, bond_ptr,
                       np.concatenate(bonds).astype(np.uint8) if bonds else np.zeros((0, 3), np.uint8),
                       out_smiles, src_ids[np.asarray(out_rows, dtype=np.int64)].astype(np.int64))


def canonical_chunk(chunk: list[str]) -> list[str | None]:
    """Canonical non-isomeric SMILES of each string, ``None`` where RDKit cannot parse it."""
    RDLogger.DisableLog("rdApp.*")
    out = []
    for smiles in chunk:
        mol = Chem.MolFromSmiles(smiles) if smiles else None
        out.append(None if mol is None else canonical_smiles(mol))
    return out
