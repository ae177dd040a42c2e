"""Morgan fingerprints and blockwise Tanimoto similarity, the substrate of SNN and IntDiv.

MOSES (Polykovskiy et al., 2020, *Molecular Sets*, Sec. 3) compares molecules by the Tanimoto
similarity of Morgan fingerprints of radius 2 folded to 1024 bits (molsets'
``moses/metrics/utils.py``: ``fingerprint(..., fp_type='morgan', morgan__r=2, morgan__n=1024)``).
For bit vectors ``a`` and ``b``

    T(a, b) = |a & b| / (|a| + |b| - |a & b|),

and MOSES defines T = 1 when both vectors are empty (``jac[np.isnan(jac)] = 1``).

Fingerprints are stored packed (``np.packbits``, 128 bytes per molecule) so a 176k-molecule
reference costs 22 MB. Similarities are computed block by block as a float32 matrix product
of unpacked bits (exact: counts are integers below 2**24), the same arithmetic as molsets'
``average_agg_tanimoto``, which divides in float32 too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from genlab.errors import DataError

MORGAN_RADIUS = 2
MORGAN_BITS = 1024


def as_mols(molecules: Sequence[str | Chem.Mol], start: int = 0) -> list[Chem.Mol]:
    """RDKit molecules from SMILES (parsed and sanitized) or molecules (passed through).

    Every metric takes valid molecules; a SMILES that RDKit rejects is a :class:`DataError`
    naming its position (counted from ``start``, for a chunk of a larger set), never a silent skip.
    """
    mols = []
    for i, item in enumerate(molecules, start):
        if isinstance(item, Chem.Mol):
            mols.append(item)
            continue
        mol = Chem.MolFromSmiles(item) if isinstance(item, str) and item else None
        if mol is None:
            raise DataError(f"molecule {i} ({item!r}) is not a valid SMILES; metrics take valid molecules only")
        mols.append(mol)
    return mols


def morgan_fingerprints(molecules: Sequence[str | Chem.Mol]) -> np.ndarray:
    """Packed Morgan fingerprints (radius 2, 1024 bits): (N, 128) uint8.

    Bit-identical to RDKit's ``GetMorganFingerprintAsBitVect(mol, 2, nBits=1024)``, which MOSES
    calls (checked in ``tests/test_metrics_moses.py``).
    """
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=MORGAN_RADIUS, fpSize=MORGAN_BITS)
    mols = as_mols(molecules)
    bits = np.zeros((len(mols), MORGAN_BITS), dtype=np.uint8)  # (N, 1024)
    for i, mol in enumerate(mols):
        bits[i] = generator.GetFingerprintAsNumPy(mol)
    return np.packbits(bits, axis=1)  # (N, 128)


def _unpack(packed: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.unpackbits(packed, axis=1).astype(np.float32))  # (n, 1024)


def tanimoto_blocks(
    x_packed: np.ndarray, y_packed: np.ndarray, block: int = 4096
) -> Iterator[tuple[slice, slice, torch.Tensor]]:
    """Yield ``(rows, cols, T)`` with ``T = Tanimoto(x[rows], y[cols])`` as a float32 tensor.

    ``x`` is unpacked once (the smaller, generated side); ``y`` (the reference, possibly 176k
    molecules) is unpacked one block at a time, so memory stays at a few hundred MB.
    """
    if x_packed.ndim != 2 or y_packed.ndim != 2 or x_packed.shape[1] != y_packed.shape[1]:
        raise DataError(f"fingerprint shapes {x_packed.shape} and {y_packed.shape} do not match")
    x = _unpack(x_packed)  # (n, B)
    x_count = x.sum(1)  # (n,)
    for j in range(0, y_packed.shape[0], block):
        cols = slice(j, min(j + block, y_packed.shape[0]))
        y = _unpack(y_packed[cols])  # (b, B)
        y_count = y.sum(1)  # (b,)
        for i in range(0, x.shape[0], block):
            rows = slice(i, min(i + block, x.shape[0]))
            both = x[rows] @ y.T  # (r, b) |a & b|
            union = x_count[rows, None] + y_count[None, :] - both  # (r, b)
            t = torch.where(union > 0, both / union.clamp_min(1), torch.ones_like(both))
            yield rows, cols, t


def tanimoto(a: str | Chem.Mol, b: str | Chem.Mol) -> float:
    """Tanimoto similarity of two molecules' MOSES fingerprints (one pair; for tests and users)."""
    fps = morgan_fingerprints([a, b])
    (_, _, t), = tanimoto_blocks(fps[:1], fps[1:])
    return float(t[0, 0])
