"""Two-sample distances for point clouds: sliced Wasserstein-1 and Gaussian-kernel MMD².

**Sliced Wasserstein-1** (Rabin et al. 2011; Bonneel et al. 2015). For unit directions θ_k,

    SW_1(P, Q) = (1/K) Σ_k W_1(θ_k·P, θ_k·Q),

where W_1 of two 1-D empirical measures is ∫ |F_P(s) - F_Q(s)| ds (exact, any sizes). The K
directions are fixed: ``K = 512`` draws of N(0, I_D) normalised, from ``numpy.random.default_rng(0)``,
so two calls compare with the same directions. Known answer: for Q = P shifted by c, each
projection is shifted by θ_k·c, so SW_1 = (1/K) Σ_k |θ_k·c| exactly; averaged over the whole
circle (D = 2) this is 2‖c‖/π.

**MMD²** (Gretton et al. 2012, the biased V-statistic, Eq. 5):

    MMD²(P, Q) = mean k(x, x') + mean k(y, y') - 2 mean k(x, y),

with a fixed multi-bandwidth Gaussian kernel k(a, b) = (1/|H|) Σ_{h ∈ H} exp(-‖a - b‖² / (2h²)),
H = (0.05, 0.1, 0.2, 0.5, 1, 2) in data units (genlab's toy sets live in [-4, 4] with mode widths
0.05–0.3). Fixed bandwidths, not the median heuristic, so a number means the same thing for every
model compared against the same reference. The V-statistic is the squared RKHS distance of the two
empirical measures: ≥ 0 and exactly 0 for identical sets (the unbiased U-statistic is not). For
two point masses a distance c apart it is 2 - 2 (1/|H|) Σ_h exp(-c²/(2h²)).
"""

from __future__ import annotations

import numpy as np

#: number of fixed random projections for sliced W1
N_PROJECTIONS = 512
#: seed of the projection directions
PROJECTION_SEED = 0
#: Gaussian kernel bandwidths of the MMD (data units)
MMD_BANDWIDTHS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


def projections(dim: int, n: int = N_PROJECTIONS, seed: int = PROJECTION_SEED) -> np.ndarray:
    """(n, dim) fixed unit directions: normalised N(0, I) draws of ``default_rng(seed)``."""
    theta = np.random.default_rng(seed).standard_normal((n, dim))  # (K, D)
    return theta / np.linalg.norm(theta, axis=1, keepdims=True)


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """W_1 = ∫ |F_a(s) - F_b(s)| ds between two 1-D empirical measures (any sizes), exactly."""
    a, b = np.sort(a), np.sort(b)
    grid = np.sort(np.concatenate([a, b]))  # (n + m,) the CDFs are constant between these
    f_a = np.searchsorted(a, grid[:-1], side="right") / len(a)  # (n + m - 1,)
    f_b = np.searchsorted(b, grid[:-1], side="right") / len(b)
    return float(np.sum(np.abs(f_a - f_b) * np.diff(grid)))


def sliced_wasserstein(x: np.ndarray, y: np.ndarray, theta: np.ndarray | None = None) -> float:
    """Sliced W_1 between point sets x (n, D) and y (m, D) over the fixed directions ``theta``."""
    x, y = _as_points(x), _as_points(y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"dimension mismatch: {x.shape[1]} vs {y.shape[1]}")
    theta = projections(x.shape[1]) if theta is None else theta  # (K, D)
    px, py = x @ theta.T, y @ theta.T  # (n, K), (m, K)
    if len(x) == len(y):  # equal sizes: W_1 is the mean gap between sorted projections
        return float(np.abs(np.sort(px, axis=0) - np.sort(py, axis=0)).mean())
    return float(np.mean([wasserstein_1d(px[:, k], py[:, k]) for k in range(theta.shape[0])]))


def mmd2(x: np.ndarray, y: np.ndarray, bandwidths: tuple[float, ...] = MMD_BANDWIDTHS,
         chunk: int = 1024) -> float:
    """Biased (V-statistic) MMD² with the multi-bandwidth Gaussian kernel; ≥ 0, 0 iff same set."""
    x, y = _as_points(x), _as_points(y)
    k_xx = _mean_kernel(x, x, bandwidths, chunk)
    k_yy = _mean_kernel(y, y, bandwidths, chunk)
    k_xy = _mean_kernel(x, y, bandwidths, chunk)
    return max(0.0, k_xx + k_yy - 2.0 * k_xy)  # clip float round-off below zero


def _mean_kernel(a: np.ndarray, b: np.ndarray, bandwidths: tuple[float, ...], chunk: int) -> float:
    """mean over all pairs of (1/|H|) Σ_h exp(-‖a_i - b_j‖²/(2h²)), in row chunks."""
    inv = 1.0 / (2.0 * np.asarray(bandwidths, dtype=np.float64) ** 2)  # (H,)
    b_sq = (b**2).sum(1)  # (m,)
    total = 0.0
    for start in range(0, len(a), chunk):
        rows = a[start:start + chunk]  # (c, D)
        d2 = np.maximum((rows**2).sum(1)[:, None] + b_sq[None, :] - 2.0 * rows @ b.T, 0.0)  # (c, m)
        total += sum(np.exp(-d2 * w).sum() for w in inv)
    return total / (len(a) * len(b) * len(bandwidths))


def _as_points(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"expected a non-empty (n, D) point set, got shape {x.shape}")
    return x
