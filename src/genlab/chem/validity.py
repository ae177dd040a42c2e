"""The three validity definitions of the literature, and the MoFlow/GDSS valency correction.

The published graph generators do not agree on what "valid" means, so genlab reports all three,
each judged on the *raw generated graph* (atoms with their charges, bonds), before any SMILES:

``validity`` (genlab's strict definition)
    the graph passes full RDKit sanitization as it is and is one connected molecule.
``validity_relaxed`` (GDSS "validity w/o correction", Jo et al. 2022, ``utils/mol_utils.py``)
    a neutral N, O or S exactly one bond order over its usual valence gets a +1 charge; the result
    must pass RDKit's valence check; several fragments are allowed.
``validity_fragment_free`` (MoFlow, Zang & Wang 2020 / GraphNVP, Madhawa et al. 2019)
    the same +1 rule, then the molecule's SMILES must parse again and contain no '.'.

:func:`correct` is the MoFlow/GDSS post-hoc correction: while some atom is over-valent, lower the
highest-order bond at that atom by one; then keep the largest fragment (by SMILES length, as the
reference code does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rdkit import Chem

from genlab.chem.graph import build_mol, canonical_smiles
from genlab.chem.vocab import AtomVocab

#: the usual valences GDSS/MoFlow use for the +1 charge rule (``ATOM_VALENCY``)
USUAL_VALENCE = {6: 4, 7: 3, 8: 2, 9: 1, 15: 3, 16: 2, 17: 1, 35: 1, 53: 1}
_CHARGEABLE = (7, 8, 16)  # N, O, S


@dataclass(frozen=True)
class GraphVerdict:
    """Validity of one generated graph under each definition, plus the molecules to score."""

    valid: bool
    valid_relaxed: bool
    valid_fragment_free: bool
    smiles: str | None  # canonical SMILES when strictly valid
    corrected_smiles: str | None  # canonical SMILES after the MoFlow/GDSS correction


def _first_valence_problem(mol: Chem.Mol) -> int | None:
    """Index of the first atom RDKit's valence check rejects, or ``None`` if there is none."""
    mol.UpdatePropertyCache(strict=False)
    for problem in Chem.DetectChemistryProblems(mol, Chem.SanitizeFlags.SANITIZE_PROPERTIES):
        if problem.GetType() == "AtomValenceException":
            return problem.GetAtomIdx()
    return None


def _bond_valence(atom: Chem.Atom) -> int:
    return int(sum(b.GetBondTypeAsDouble() for b in atom.GetBonds()))


def charge_rule(mol: Chem.RWMol) -> Chem.RWMol:
    """GDSS/MoFlow construction rule: neutral N/O/S with bond valence = usual + 1 gets charge +1."""
    for atom in mol.GetAtoms():
        z = atom.GetAtomicNum()
        if z in _CHARGEABLE and atom.GetFormalCharge() == 0 and _bond_valence(atom) == USUAL_VALENCE[z] + 1:
            atom.SetFormalCharge(1)
    return mol


def is_strictly_valid(mol: Chem.Mol) -> Chem.Mol | None:
    """Full sanitization of a copy, and a single connected fragment; the sanitized copy or None."""
    m = Chem.RWMol(mol)
    try:
        Chem.SanitizeMol(m)
    except Exception:
        return None
    if m.GetNumAtoms() == 0 or len(Chem.GetMolFrags(m)) != 1:
        return None
    return m.GetMol()


def correct(mol: Chem.Mol) -> Chem.Mol | None:
    """MoFlow/GDSS valency correction followed by largest-fragment selection."""
    m = Chem.RWMol(mol)
    for _ in range(4 * m.GetNumBonds() + 1):  # each pass lowers one bond order: terminates
        idx = _first_valence_problem(m)
        if idx is None:
            break
        bonds = sorted(m.GetAtomWithIdx(idx).GetBonds(), key=lambda b: b.GetBondTypeAsDouble(), reverse=True)
        if not bonds:
            break
        b = bonds[0]
        i, j, order = b.GetBeginAtomIdx(), b.GetEndAtomIdx(), int(b.GetBondTypeAsDouble())
        m.RemoveBond(i, j)
        if order > 1:
            m.AddBond(i, j, (Chem.BondType.SINGLE, Chem.BondType.DOUBLE)[order - 2])
    try:
        smiles = Chem.MolToSmiles(m)
    except Exception:
        return None
    if not smiles:
        return None
    largest = max(smiles.split("."), key=len)
    return Chem.MolFromSmiles(largest)


def judge_graph(atoms: np.ndarray, adj: np.ndarray, vocab: AtomVocab) -> GraphVerdict:
    """All three validity verdicts for one raw generated graph ((N,) atoms, (N, N) edges)."""
    raw = build_mol(atoms, adj, vocab)
    if raw.GetNumAtoms() == 0:
        return GraphVerdict(False, False, False, None, None)
    strict = is_strictly_valid(raw)
    charged = charge_rule(Chem.RWMol(raw))
    relaxed = _first_valence_problem(Chem.RWMol(charged)) is None
    try:
        smi = Chem.MolToSmiles(charged)
        reparsed = Chem.MolFromSmiles(smi) if smi else None
    except Exception:
        reparsed = None
    fragment_free = reparsed is not None and "." not in Chem.MolToSmiles(reparsed)
    corrected = correct(charged)
    return GraphVerdict(
        valid=strict is not None,
        valid_relaxed=relaxed,
        valid_fragment_free=fragment_free,
        smiles=None if strict is None else canonical_smiles(strict),
        corrected_smiles=None if corrected is None else canonical_smiles(corrected),
    )


def judge_smiles(smiles: str | None) -> GraphVerdict:
    """Verdicts for a SMILES sample: the parsed molecule plays the role of the raw graph.

    A SMILES that RDKit parses has passed sanitization, so ``validity`` = parses and has one
    fragment, ``validity_relaxed`` = parses, ``validity_fragment_free`` = ``validity``; the
    correction keeps the largest fragment.
    """
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None or mol.GetNumAtoms() == 0:
        return GraphVerdict(False, False, False, None, None)
    canon = canonical_smiles(mol)
    one = "." not in canon
    largest = max(canon.split("."), key=len)
    corrected = Chem.MolFromSmiles(largest)
    return GraphVerdict(one, True, one, canon if one else None,
                        None if corrected is None else canonical_smiles(corrected))
