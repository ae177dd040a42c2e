"""Fréchet ChemNet Distance (FCD), computed by ``fcd_torch`` with its bundled ChemNet.

Preuer et al. (2018), *Fréchet ChemNet Distance*, Eq. 1: with (mu, Sigma) the mean and
covariance of ChemNet's penultimate activations (512-d) over a set,

    FCD = ||mu_R - mu_G||^2 + Tr(Sigma_R + Sigma_G - 2 (Sigma_R Sigma_G)^(1/2)).

Everything is fcd_torch 1.0.7's own code (``FCD.get_predictions`` for the activations, which
canonicalizes each SMILES with RDKit and pads it to 350 tokens, then ``FCD.precalc``'s mean and
``np.cov``; ``calculate_frechet_distance`` for the formula), on CPU with ``n_jobs=1`` and batch size 512, so the value equals
``FCD(device='cpu', n_jobs=1)(ref, gen)``. Why ``n_jobs=1``: fcd_torch's ``n_jobs`` only moves
SMILES canonicalization and one-hot encoding (~18 % of FCD's CPU time; 0.75 s of 4.2 s for 2,000
QM9 molecules) into DataLoader worker processes; on 2 cores the second core is better spent on
the RDKit/EDeN metrics (``compare_to_reference(..., workers=1)``), while ChemNet itself uses
torch's intra-op threads (``torch.set_num_threads``). The number does not depend on ``n_jobs``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rdkit import Chem

from genlab.errors import DataError

FCD_BATCH_SIZE = 512


@dataclass(frozen=True)
class FrechetStats:
    """Mean (512,) and covariance (512, 512) of ChemNet activations over a molecule set."""

    mu: np.ndarray
    sigma: np.ndarray


@lru_cache(maxsize=1)
def chemnet():
    """fcd_torch's ``FCD`` object (ChemNet weights loaded once per process), CPU, no workers."""
    from fcd_torch import FCD

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FCD(device="cpu", n_jobs=1, batch_size=FCD_BATCH_SIZE)


def _as_smiles(molecules: Sequence[str | Chem.Mol]) -> list[str]:
    return [Chem.MolToSmiles(m) if isinstance(m, Chem.Mol) else m for m in molecules]


def chemnet_activations(molecules: Sequence[str | Chem.Mol]) -> np.ndarray:
    """(N, 512) ChemNet penultimate activations, exactly as fcd_torch computes them."""
    smiles = _as_smiles(molecules)
    try:
        with warnings.catch_warnings():  # fcd_torch calls np.row_stack, deprecated in numpy 2
            warnings.simplefilter("ignore", DeprecationWarning)
            return chemnet().get_predictions(smiles)
    except ValueError as err:  # fcd_torch raises ValueError("Got invalid SMILES ...")
        raise DataError(f"FCD: {err}") from err


def frechet_stats(molecules: Sequence[str | Chem.Mol]) -> FrechetStats:
    """(mu, Sigma) of a molecule set, as ``FCD.precalc`` (``np.cov`` with N - 1)."""
    if len(molecules) < 2:
        raise DataError(f"FCD needs at least 2 molecules for a covariance, got {len(molecules)}")
    acts = chemnet_activations(molecules)  # (N, 512)
    return FrechetStats(mu=acts.mean(0), sigma=np.cov(acts.T))


def frechet_distance(gen: FrechetStats, ref: FrechetStats) -> float:
    """FCD between two sets' statistics (fcd_torch's ``calculate_frechet_distance``, ref first)."""
    from fcd_torch.utils import calculate_frechet_distance

    with warnings.catch_warnings():  # fcd_torch passes sqrtm(disp=False), deprecated in SciPy 1.16
        warnings.simplefilter("ignore", DeprecationWarning)
        return float(calculate_frechet_distance(ref.mu, ref.sigma, gen.mu, gen.sigma))


def fcd(gen: Sequence[str | Chem.Mol], ref: Sequence[str | Chem.Mol] | FrechetStats) -> float:
    """FCD of generated molecules against reference molecules or precomputed reference stats."""
    ref_stats = ref if isinstance(ref, FrechetStats) else frechet_stats(ref)
    return frechet_distance(frechet_stats(gen), ref_stats)
