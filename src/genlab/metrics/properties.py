"""Property distributions: logP, SA, QED and molecular weight, compared by Wasserstein-1.

MOSES (Polykovskiy et al., 2020, Sec. 3.2 and molsets' ``WassersteinMetric``) reports, per
property, the 1-D Wasserstein distance between the values over the generated and the reference
molecules (``scipy.stats.wasserstein_distance``). The properties are RDKit's:

* ``logP``: Wildman-Crippen logP (``Crippen.MolLogP``; Wildman & Crippen, 1999);
* ``SA``: synthetic accessibility (Ertl & Schuffenhauer, 2009), RDKit Contrib's ``sascorer``,
  which reads its shipped fragment-score table ``fpscores.pkl.gz`` on first use;
* ``QED``: quantitative estimate of drug-likeness (Bickerton et al., 2012; ``QED.qed``);
* ``weight``: average molecular weight (``Descriptors.MolWt``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np
from rdkit import Chem, RDConfig
from rdkit.Chem import QED, Crippen, Descriptors
from scipy.stats import wasserstein_distance

from genlab.errors import DataError, GenlabError
from genlab.metrics.fingerprints import as_mols

PROPERTY_NAMES = ("logP", "SA", "QED", "weight")


@lru_cache(maxsize=1)
def sascorer() -> ModuleType:
    """RDKit Contrib's ``SA_Score/sascorer.py``, loaded from its file (it is not a package)."""
    path = Path(RDConfig.RDContribDir) / "SA_Score" / "sascorer.py"
    if not path.is_file():
        raise GenlabError(f"RDKit's SA_Score contribution is missing ({path}); reinstall rdkit")
    spec = importlib.util.spec_from_file_location("genlab_rdkit_sascorer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sa_score(mol: Chem.Mol) -> float:
    score = sascorer().calculateScore(mol)
    if score is None:
        raise DataError(f"SA score is undefined for the empty molecule {Chem.MolToSmiles(mol)!r}")
    return float(score)


def prepare_properties() -> None:
    """Load the SA module and its fragment-score table now (e.g. before forking workers)."""
    sa_score(Chem.MolFromSmiles("C"))


PROPERTIES: dict[str, Callable[[Chem.Mol], float]] = {
    "logP": Crippen.MolLogP,
    "SA": sa_score,
    "QED": QED.qed,
    "weight": Descriptors.MolWt,
}


def property_values(molecules: Sequence[str | Chem.Mol]) -> dict[str, np.ndarray]:
    """Property name -> (N,) float64 values, in input order."""
    mols = as_mols(molecules)
    return {name: np.array([fn(m) for m in mols], dtype=np.float64) for name, fn in PROPERTIES.items()}


def property_distances(gen: Mapping[str, np.ndarray], ref: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Property name -> W1(generated values, reference values)."""
    out = {}
    for name in PROPERTY_NAMES:
        if len(gen[name]) == 0 or len(ref[name]) == 0:
            raise DataError(f"property '{name}': Wasserstein distance needs values on both sides")
        out[name] = float(wasserstein_distance(ref[name], gen[name]))
    return out


def plot_property_histograms(
    gen: Mapping[str, np.ndarray], ref: Mapping[str, np.ndarray], path: str | os.PathLike, *, bins: int = 50,
    labels: tuple[str, str] = ("generated", "reference"),
) -> Path:
    """Write a PNG (Agg) with one density-histogram panel per property (2 x 2 grid); returns the path.

    Each panel overlays generated and reference values on shared bins and names the W1 distance.
    """
    from matplotlib.figure import Figure  # a bare Figure renders with Agg and leaves pyplot alone

    distances = property_distances(gen, ref)
    fig = Figure(figsize=(9, 7))
    axes = fig.subplots(2, 2)
    for ax, name in zip(axes.ravel(), PROPERTY_NAMES):
        both = np.concatenate([gen[name], ref[name]])
        edges = np.histogram_bin_edges(both, bins=bins)
        ax.hist(ref[name], bins=edges, density=True, alpha=0.5, label=labels[1])
        ax.hist(gen[name], bins=edges, density=True, alpha=0.5, label=labels[0])
        ax.set_title(f"{name} (W1 = {distances[name]:.4g})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
