"""Known answers for the molecule codec: exact round trips, vocabulary errors, dense batches."""

import numpy as np
import pytest
from rdkit import Chem

from genlab.chem.graph import canonical_smiles, decode_graph, dense_adjacency, encode_mol
from genlab.chem.vocab import AtomVocab
from genlab.data.encoding import encode_smiles
from genlab.data.round_trip import roundtrip_check
from genlab.errors import VocabularyError

QM9_LIKE = AtomVocab.from_pairs([("C", 0), ("N", 0), ("O", 0), ("F", 0), ("N", 1), ("O", -1), ("C", -1), ("N", -1)], 9)


def test_vocab_order_is_canonical_and_class_zero_is_padding():
    assert QM9_LIKE.labels() == ["-", "C", "C-", "N", "N-", "N+", "O", "O-", "F"]
    assert QM9_LIKE.n_classes == 9
    assert AtomVocab.from_json(QM9_LIKE.to_json()) == QM9_LIKE


@pytest.mark.parametrize(
    "smiles",
    ["C[NH3+]", "CC(=O)[O-]", "c1cc[nH]c1", "[C-]#[N+]C", "O=C1C=CC(=O)C=C1", "C1=CC=CC=C1F", "[NH-]C=O", "N#N"],
)
def test_roundtrip_is_exact_for_charged_and_aromatic_molecules(smiles):
    mol = Chem.MolFromSmiles(smiles)
    atoms, bonds = encode_mol(mol, QM9_LIKE)
    back = decode_graph(atoms, dense_adjacency(bonds, len(atoms)), QM9_LIKE)
    assert canonical_smiles(back) == canonical_smiles(mol)


def test_encoding_is_kekulized_with_implicit_hydrogens():
    atoms, bonds = encode_mol(Chem.MolFromSmiles("c1ccccc1"), QM9_LIKE)
    assert atoms.tolist() == [1] * 6
    assert sorted(bonds[:, 2].tolist()) == [1, 1, 1, 2, 2, 2]  # alternating single/double


@pytest.mark.parametrize(
    "smiles, fragment",
    [("CCS", "atom S with charge +0"), ("CC[O+]=C", "atom O with charge +1"), ("C" * 10, "10 heavy atoms")],
)
def test_molecule_outside_vocabulary_is_named(smiles, fragment):
    with pytest.raises(VocabularyError) as err:
        encode_mol(Chem.MolFromSmiles(smiles), QM9_LIKE)
    assert canonical_smiles(Chem.MolFromSmiles(smiles)) in str(err.value)
    assert fragment in str(err.value)


def test_encode_smiles_strict_names_the_molecule_and_lenient_skips_it():
    with pytest.raises(VocabularyError, match="CCS"):
        encode_smiles(["CCO", "CCS"], QM9_LIKE, workers=1)
    s = encode_smiles(["CCO", "CCS", "not-a-smiles", "C#N"], QM9_LIKE, workers=1, strict=False)
    assert s.smiles == ["CCO", "C#N"] and s.ids.tolist() == [0, 3]


def test_dense_batch_equals_per_molecule_graph():
    s = encode_smiles(["CCO", "C1CC1", "[NH3+]CC([O-])=O", "C#CC#N", "C"], workers=1)
    x, adj = s.dense([4, 2, 0])
    for row, m in enumerate([4, 2, 0]):
        a, e = s.graph(m)
        assert x[row].tolist() == a.tolist()
        assert np.array_equal(adj[row].numpy(), e)
        assert (adj[row] == adj[row].T).all() and (adj[row].diagonal() == 0).all()
    sub = s.subset([2, 0])
    assert sub.smiles == [s.smiles[2], s.smiles[0]]
    assert np.array_equal(sub.dense([0])[1].numpy(), s.dense([2])[1].numpy())


def test_roundtrip_check_reports_unparsable_input():
    report = roundtrip_check(["CCO", "C1CC", "c1ccccc1"], workers=1)
    assert report["total"] == 3 and report["roundtrip_exact"] == 2
    assert report["failures"][0]["id"] == 2
