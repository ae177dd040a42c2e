"""Frag and Scaf: cosine similarity of fragment and scaffold frequencies (MOSES).

Polykovskiy et al. (2020), *Molecular Sets (MOSES)*, Sec. 3.2. For count vectors f_G, f_R over
the union of keys,

    Frag = cos(f_G, f_R) over BRICS fragments (Degen et al., 2008),
    Scaf = cos(f_G, f_R) over Bemis-Murcko scaffolds (Bemis & Murcko, 1996).

Definitions follow molsets' ``moses/metrics/utils.py`` exactly:

* fragments: ``Chem.MolToSmiles(FragmentOnBRICSBonds(mol)).split('.')`` — the pieces keep their
  dummy attachment atoms (``[1*]`` etc.), every occurrence counts;
* scaffolds: ``MolToSmiles(GetScaffoldForMol(mol))``, kept only when it has at least
  ``min_rings = 2`` rings (so benzene, a one-ring scaffold, never counts) and is non-empty;
* cosine of two empty count tables is NaN (MOSES returns ``np.nan``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

from genlab.metrics.fingerprints import as_mols

SCAFFOLD_MIN_RINGS = 2


def brics_fragments(mol: Chem.Mol) -> list[str]:
    """SMILES of the BRICS pieces of one molecule (with their dummy atoms), as MOSES's ``fragmenter``."""
    return Chem.MolToSmiles(Chem.FragmentOnBRICSBonds(mol)).split(".")


def murcko_scaffold(mol: Chem.Mol, min_rings: int = SCAFFOLD_MIN_RINGS) -> str | None:
    """Canonical SMILES of the Bemis-Murcko scaffold, or ``None`` below ``min_rings`` rings."""
    try:
        scaffold = MurckoScaffold.GetScaffoldForMol(mol)
    except (ValueError, RuntimeError):
        return None
    smiles = Chem.MolToSmiles(scaffold)
    if smiles == "" or scaffold.GetRingInfo().NumRings() < min_rings:
        return None
    return smiles


def fragment_counts(molecules: Sequence[str | Chem.Mol]) -> Counter[str]:
    """BRICS fragment SMILES -> number of occurrences over the set."""
    counts: Counter[str] = Counter()
    for mol in as_mols(molecules):
        counts.update(brics_fragments(mol))
    return counts


def scaffold_counts(molecules: Sequence[str | Chem.Mol]) -> Counter[str]:
    """Scaffold SMILES (>= 2 rings) -> number of molecules with that scaffold."""
    scaffolds = (murcko_scaffold(mol) for mol in as_mols(molecules))
    return Counter(s for s in scaffolds if s is not None)


def cosine_similarity(gen_counts: Mapping[str, int], ref_counts: Mapping[str, int]) -> float:
    """cos(f_G, f_R) of two sparse count tables (missing keys are zero); NaN if either is empty."""
    if not gen_counts or not ref_counts:
        return math.nan
    dot = sum(float(c) * ref_counts[k] for k, c in gen_counts.items() if k in ref_counts)
    norm_g = math.sqrt(sum(float(c) ** 2 for c in gen_counts.values()))
    norm_r = math.sqrt(sum(float(c) ** 2 for c in ref_counts.values()))
    return dot / (norm_g * norm_r)


def frag_similarity(gen: Sequence[str | Chem.Mol], ref: Sequence[str | Chem.Mol]) -> float:
    """MOSES Frag of generated against reference molecules."""
    return cosine_similarity(fragment_counts(gen), fragment_counts(ref))


def scaf_similarity(gen: Sequence[str | Chem.Mol], ref: Sequence[str | Chem.Mol]) -> float:
    """MOSES Scaf of generated against reference molecules."""
    return cosine_similarity(scaffold_counts(gen), scaffold_counts(ref))
