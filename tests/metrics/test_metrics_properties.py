"""Molecular properties (logP, SA, QED, weight), their W1 distances and the histogram figure.

Known answers: ethanol's values from RDKit called directly (and its weight by hand); W1 of a set
with itself is 0 and of a set shifted by c is c.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import QED, Crippen, Descriptors

from genlab.errors import DataError
from genlab.metrics.properties import (
    PROPERTY_NAMES,
    plot_property_histograms,
    property_distances,
    property_values,
    sascorer,
)


def test_ethanol_matches_rdkit():
    values = property_values(["CCO"])
    mol = Chem.MolFromSmiles("CCO")
    assert values["logP"][0] == Crippen.MolLogP(mol)
    assert values["QED"][0] == QED.qed(mol)
    assert values["SA"][0] == sascorer().calculateScore(mol)
    assert values["weight"][0] == Descriptors.MolWt(mol)
    # by hand: C2H6O with IUPAC average masses 2 * 12.011 + 6 * 1.008 + 15.999
    assert values["weight"][0] == pytest.approx(2 * 12.011 + 6 * 1.008 + 15.999, abs=1e-3)
    assert values["logP"][0] == pytest.approx(-0.0014, abs=1e-4)  # Crippen's published ethanol value
    assert 1.0 <= values["SA"][0] <= 3.0  # ethanol is trivially synthesizable (SA scale 1..10)


def test_mols_and_smiles_give_the_same_values():
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"]
    a = property_values(smiles)
    b = property_values([Chem.MolFromSmiles(s) for s in smiles])
    assert all(np.array_equal(a[k], b[k]) for k in PROPERTY_NAMES)


def test_wasserstein_known_answers():
    rng = np.random.default_rng(0)
    ref = {k: rng.normal(size=500) for k in PROPERTY_NAMES}
    assert property_distances(ref, ref) == {k: 0.0 for k in PROPERTY_NAMES}
    shifted = {k: v + 0.25 for k, v in ref.items()}
    for value in property_distances(shifted, ref).values():
        assert value == pytest.approx(0.25, abs=1e-12)


def test_histogram_png(tmp_path):
    gen = property_values(["CCO", "CCN", "c1ccccc1", "CC(=O)O"])
    ref = property_values(["CCCO", "CCCN", "c1ccncc1", "CC(=O)OC"])
    path = plot_property_histograms(gen, ref, tmp_path / "figs" / "properties.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_errors():
    with pytest.raises(DataError):
        property_values(["CCO", "C(("])
    with pytest.raises(DataError):
        property_distances({k: np.array([]) for k in PROPERTY_NAMES}, {k: np.ones(2) for k in PROPERTY_NAMES})
    assert math.isfinite(property_values(["C"])["SA"][0])
