"""Fréchet ChemNet Distance (FCD), computed by ``fcd_torch`` with its bundled ChemNet.

Preuer et al. (2018), *Fréchet ChemNet Distance*, Eq. 1: with (mu, Sigma) the mean and
covariance of ChemNet's penultimate activations (512-d) over a set,

    FCD = ||mu_R - mu_G||^2 + Tr(Sigma_R + Sigma_G - 2 (Sigma_R Sigma_G)^(1/2)).

The activations and the formula are fcd_torch 1.0.7's own code (``FCD.get_predictions``, which
canonicalizes each SMILES with RDKit and pads it to 350 tokens; ``calculate_frechet_distance``),
on CPU with ``n_jobs=1`` and batch size 512, and (mu, Sigma) are those of ``FCD.precalc`` (mean
and ``np.cov``), so the value is ``FCD(device='cpu', n_jobs=1)(ref, gen)``. Why ``n_jobs=1``:
fcd_torch's ``n_jobs`` only moves SMILES canonicalization and one-hot encoding (a small part of
FCD's CPU time) into DataLoader worker processes; on 2 cores the second core is better spent on
the RDKit/EDeN statistics (``compare_to_reference(..., workers=1)``), while ChemNet itself uses
torch's intra-op threads (``torch.set_num_threads``). The number does not depend on ``n_jobs``.

Bounded memory. fcd_torch's ``get_predictions`` keeps every batch's output until the end, and
each output is a view of the last LSTM's whole output sequence (batch x 88 steps x 512 floats),
so its memory grows by 88 x 512 floats per molecule where 512 are needed. genlab calls it one
batch at a time, copies the (B, 512) activations out, and folds them into :class:`FrechetMoments`
(count, mean and scatter matrix in float64, merged with the pairwise update of Chan, Golub &
LeVeque 1979). The batches are the ones fcd_torch forms itself, so the activations are
identical; the mean is accumulated in float64 where fcd_torch takes a float32 mean, and the
covariance equals ``np.cov`` up to float64 round-off.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
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


@dataclass
class FrechetMoments:
    """Count, mean (D,) and scatter sum_i (x_i - mean)(x_i - mean)^T (D, D) of rows, float64;
    two sets' moments merge into those of their union (Chan, Golub & LeVeque 1979)."""

    n: int
    mean: np.ndarray
    scatter: np.ndarray

    @classmethod
    def empty(cls) -> "FrechetMoments":
        return cls(0, np.zeros(0), np.zeros((0, 0)))

    @classmethod
    def of(cls, rows: np.ndarray) -> "FrechetMoments":
        rows = np.asarray(rows, dtype=np.float64)  # (n, D)
        mean = rows.mean(axis=0)  # (D,)
        centred = rows - mean  # (n, D)
        return cls(len(rows), mean, centred.T @ centred)

    def merge(self, other: "FrechetMoments") -> "FrechetMoments":
        """The moments of both sets together (updates and returns ``self``)."""
        if other.n == 0:
            return self
        if self.n == 0:
            self.n, self.mean, self.scatter = other.n, other.mean.copy(), other.scatter.copy()
            return self
        n = self.n + other.n
        delta = other.mean - self.mean  # (D,)
        self.scatter += other.scatter + np.outer(delta, delta) * (self.n * other.n / n)
        self.mean = self.mean + delta * (other.n / n)
        self.n = n
        return self

    def stats(self) -> FrechetStats:
        """(mu, Sigma) with the N - 1 covariance of ``np.cov``."""
        if self.n < 2:
            raise DataError(f"FCD needs at least 2 molecules for a covariance, got {self.n}")
        return FrechetStats(mu=self.mean, sigma=self.scatter / (self.n - 1))


@lru_cache(maxsize=1)
def chemnet():
    """fcd_torch's ``FCD`` object (ChemNet weights loaded once per process), CPU, no workers."""
    from fcd_torch import FCD

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FCD(device="cpu", n_jobs=1, batch_size=FCD_BATCH_SIZE)


def _as_smiles(molecules: Sequence[str | Chem.Mol]) -> list[str]:
    return [Chem.MolToSmiles(m) if isinstance(m, Chem.Mol) else m for m in molecules]


def chemnet_batches(molecules: Sequence[str | Chem.Mol]) -> Iterator[np.ndarray]:
    """(B, 512) ChemNet penultimate activations, batch by batch, exactly as fcd_torch computes
    them (each batch copied out, so nothing of fcd_torch's per-batch output stays alive)."""
    smiles = _as_smiles(molecules)
    for start in range(0, len(smiles), FCD_BATCH_SIZE):
        batch = smiles[start : start + FCD_BATCH_SIZE]
        try:
            with warnings.catch_warnings():  # fcd_torch calls np.row_stack, deprecated in numpy 2
                warnings.simplefilter("ignore", DeprecationWarning)
                yield np.array(chemnet().get_predictions(batch), dtype=np.float32)  # (B, 512)
        except ValueError as err:  # fcd_torch raises ValueError("Got invalid SMILES ...")
            raise DataError(f"FCD: {err}") from err


def chemnet_activations(molecules: Sequence[str | Chem.Mol]) -> np.ndarray:
    """(N, 512) ChemNet penultimate activations, exactly as fcd_torch computes them."""
    batches = list(chemnet_batches(molecules))
    return np.concatenate(batches) if batches else np.zeros((0, 512), np.float32)


def frechet_moments(molecules: Sequence[str | Chem.Mol]) -> FrechetMoments:
    """The :class:`FrechetMoments` of a set's ChemNet activations, one batch in memory at a time."""
    moments = FrechetMoments.empty()
    for acts in chemnet_batches(molecules):
        moments.merge(FrechetMoments.of(acts))
    return moments


def frechet_stats(molecules: Sequence[str | Chem.Mol]) -> FrechetStats:
    """(mu, Sigma) of a molecule set, as ``FCD.precalc`` (``np.cov`` with N - 1)."""
    if len(molecules) < 2:
        raise DataError(f"FCD needs at least 2 molecules for a covariance, got {len(molecules)}")
    return frechet_moments(molecules).stats()


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
