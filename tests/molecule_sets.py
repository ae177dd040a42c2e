"""Molecule sets shared by the metric tests (imported as ``from molecule_sets import ...``;
pytest puts this folder on ``sys.path``)."""

from functools import lru_cache

import numpy as np
from rdkit import Chem

from genlab.data.sources import qm9_raw


@lru_cache(maxsize=None)
def qm9_halves(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Two disjoint random sets of n canonical QM9 SMILES each."""
    smiles, _ = qm9_raw()
    idx = np.random.default_rng(seed).permutation(len(smiles))[: 2 * n]
    canon = [Chem.MolToSmiles(Chem.MolFromSmiles(smiles[i])) for i in idx]
    return canon[:n], canon[n:]
