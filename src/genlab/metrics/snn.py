"""SNN: similarity to the nearest neighbour in a reference set (MOSES).

Polykovskiy et al. (2020), *Molecular Sets (MOSES)*, Sec. 3.2:

    SNN(G, R) = (1/|G|) * sum_{m_G in G} max_{m_R in R} T(m_G, m_R),

with T the Tanimoto similarity of Morgan fingerprints (radius 2, 1024 bits). This matches molsets'
``SNNMetric`` (``average_agg_tanimoto(ref_fps, gen_fps, agg='max')``). Duplicates in G count as
often as they occur, as in MOSES.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from rdkit import Chem

from genlab.errors import DataError
from genlab.metrics.fingerprints import morgan_fingerprints, tanimoto_blocks


def snn_from_fingerprints(gen_fps: np.ndarray, ref_fps: np.ndarray) -> float:
    """SNN of packed generated fingerprints against packed reference fingerprints."""
    if len(gen_fps) == 0 or len(ref_fps) == 0:
        raise DataError("SNN needs at least one generated and one reference molecule")
    nearest = torch.zeros(len(gen_fps), dtype=torch.float32)  # (n,) max_j T_ij so far
    for rows, _, t in tanimoto_blocks(gen_fps, ref_fps):
        nearest[rows] = torch.maximum(nearest[rows], t.max(dim=1).values)
    return float(nearest.double().mean())


def snn(gen: Sequence[str | Chem.Mol], ref: Sequence[str | Chem.Mol]) -> float:
    """SNN of generated molecules (SMILES or Mols) against reference molecules."""
    return snn_from_fingerprints(morgan_fingerprints(gen), morgan_fingerprints(ref))
