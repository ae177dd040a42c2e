"""QM9 and MOSES as shipped by packages: the standard split, exact round trips, the cache."""

import os
import time
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from genlab.data import sources
from genlab.data.molecule_cache import canonical_split, load_molecules
from genlab.data.round_trip import roundtrip_check
from genlab.data.sources import qm9_raw, raw_split
from genlab.paths import cache_dir
from support import REPO


def test_qm9_standard_split_sizes_and_ids():
    train, test = load_molecules("qm9", "train"), load_molecules("qm9", "test")
    assert len(train) + len(test) == 130_831  # qm9pack ships 130,831 of QM9's 133,885
    assert len(test) == 13_082  # every id of the standard test list is present in qm9pack
    assert set(test.ids.tolist()) == sources.qm9_test_ids()
    assert not set(train.ids.tolist()) & set(test.ids.tolist())
    assert train.vocab == test.vocab and train.vocab.max_atoms == 9
    assert train.vocab.labels()[1:] == ["C", "C-", "N", "N-", "N+", "O", "O-", "F"]


def test_qm9_second_load_is_fast():
    load_molecules("qm9", "train")  # builds the cache if needed
    start = time.perf_counter()
    load_molecules("qm9", "train")
    assert time.perf_counter() - start < 1.0
    assert list(cache_dir("graphs").glob("qm9-*.safetensors"))  # in the tests' own cache


def test_tests_use_a_cache_of_their_own():
    expected = Path(os.environ.get("GENLAB_TEST_CACHE", REPO / ".cache" / "genlab-tests"))
    assert cache_dir().resolve() == expected.resolve()
    assert cache_dir().resolve() != (Path.home() / ".cache" / "genlab").resolve()


def test_full_qm9_roundtrip_is_exact_charged_included():
    smiles, ids = qm9_raw()
    assert len(smiles) == 130_831
    # 580 molecules carry formal charges once RDKit sanitizes them (nitro groups written O=N(=O)
    # become [N+](=O)[O-]); the graphs store those charges and must give them back
    charged = [s for s in smiles if any(a.GetFormalCharge() for a in Chem.MolFromSmiles(s).GetAtoms())]
    assert len(charged) == 580
    report = roundtrip_check(smiles, ids.tolist())
    assert report["failures"] == []
    assert report["roundtrip_exact"] == 130_831


def test_large_moses_sample_roundtrip_is_exact():
    smiles, _ = raw_split("moses", "train")
    assert len(smiles) == 1_584_663
    pick = np.random.default_rng(0).choice(len(smiles), 20_000, replace=False)
    report = roundtrip_check([smiles[i] for i in pick])
    assert report["failures"] == [] and report["roundtrip_exact"] == 20_000


def test_moses_split_sizes():
    assert len(raw_split("moses", "test")[0]) == 176_074
    assert len(raw_split("moses", "test_scaffolds")[0]) == 176_225


def test_unknown_dataset_and_split_are_clear_errors():
    from genlab.errors import DataError

    with pytest.raises(DataError, match="unknown dataset 'zinc'"):
        load_molecules("zinc", "train")
    with pytest.raises(DataError, match="unknown qm9 split 'valid'"):
        load_molecules("qm9", "valid")


def test_canonical_split_equals_the_encoded_graphs_smiles():
    assert canonical_split("qm9", "test") == load_molecules("qm9", "test").smiles
