"""The three validity definitions and the correction on graphs whose verdicts are known."""

import numpy as np
import pytest

from genlab.chem.validity import correct, judge_graph, judge_smiles
from genlab.chem.vocab import AtomVocab
from rdkit import Chem

V = AtomVocab.from_pairs([("C", 0), ("N", 0), ("O", 0), ("N", 1), ("O", -1)], 9)


def graph(atoms, bonds):
    a = np.array(atoms)
    e = np.zeros((len(a), len(a)), int)
    for i, j, c in bonds:
        e[i, j] = e[j, i] = c
    return a, e


def ids():
    """Class id of each label in V."""
    lab = V.labels()
    return {name: lab.index(name) for name in ("C", "N", "N+", "O", "O-")}


def test_valid_molecule_is_valid_under_all_definitions():
    k = ids()
    v = judge_graph(*graph([k["C"], k["C"], k["O"]], [(0, 1, 1), (1, 2, 1)]), V)
    assert (v.valid, v.valid_relaxed, v.valid_fragment_free) == (True, True, True)
    assert v.smiles == "CCO" and v.corrected_smiles == "CCO"


def test_charged_atoms_from_the_vocabulary_are_kept():
    k = ids()  # C[NH3+] and acetate
    assert judge_graph(*graph([k["C"], k["N+"]], [(0, 1, 1)]), V).smiles == "C[NH3+]"
    v = judge_graph(*graph([k["C"], k["C"], k["O"], k["O-"]], [(0, 1, 1), (1, 2, 2), (1, 3, 1)]), V)
    assert v.valid and v.smiles == "CC(=O)[O-]"


def test_overvalent_neutral_nitrogen_is_valid_only_under_the_relaxed_rules():
    k = ids()  # N with four carbons: strictly invalid, GDSS/MoFlow make it N+
    v = judge_graph(*graph([k["N"]] + [k["C"]] * 4, [(0, j, 1) for j in range(1, 5)]), V)
    assert (v.valid, v.valid_relaxed, v.valid_fragment_free) == (False, True, True)
    assert v.corrected_smiles == "C[N+](C)(C)C"


def test_fragments_are_valid_only_under_gdss_relaxed_validity():
    k = ids()
    v = judge_graph(*graph([k["C"], k["C"], k["O"]], [(0, 1, 1)]), V)
    assert (v.valid, v.valid_relaxed, v.valid_fragment_free) == (False, True, False)
    assert v.corrected_smiles == "CC"  # the largest fragment


def test_pentavalent_carbon_is_invalid_everywhere_and_corrected_by_lowering_a_bond():
    k = ids()
    v = judge_graph(*graph([k["C"], k["C"], k["C"]], [(0, 1, 3), (0, 2, 2)]), V)
    assert (v.valid, v.valid_relaxed, v.valid_fragment_free) == (False, False, False)
    assert v.corrected_smiles == "C=C=C"  # the triple bond (highest order) drops to a double


def test_correction_lowers_the_highest_order_bond_first():
    mol = Chem.RWMol()
    for _ in range(3):
        mol.AddAtom(Chem.Atom(6))
    mol.AddBond(0, 1, Chem.BondType.TRIPLE)
    mol.AddBond(0, 2, Chem.BondType.DOUBLE)
    fixed = correct(mol)
    assert Chem.MolToSmiles(fixed) == "C=C=C"  # triple -> double gives valence 4


def test_empty_graph_is_invalid():
    v = judge_graph(np.zeros(4, int), np.zeros((4, 4), int), V)
    assert not (v.valid or v.valid_relaxed or v.valid_fragment_free)


@pytest.mark.parametrize(
    "smiles, expected",
    [("CCO", (True, True, True)), ("CC.O", (False, True, False)), ("C1CC", (False, False, False)), ("", (False, False, False))],
)
def test_smiles_samples(smiles, expected):
    v = judge_smiles(smiles)
    assert (v.valid, v.valid_relaxed, v.valid_fragment_free) == expected
