"""The molecule sets a command line names as reference or training set: ``qm9``, ``moses`` or a file.

``qm9`` / ``moses`` as a *reference* mean the standard test split; as a *training set* (for
novelty) the training split. Every set is returned as canonical non-isomeric SMILES, the form in
which genlab compares molecules. A named split's statistics are worth caching (it is scored
against again and again); a file's are not, unless asked (:func:`is_dataset_split`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genlab.data.encoding import canonical_chunk
from genlab.data.molecule_cache import canonical_split
from genlab.data.smiles_io import read_molecule_file
from genlab.data.sources import DATASETS_WITH_SPLITS
from genlab.errors import DataError
from genlab.utils.parallel import default_workers, map_chunks


@dataclass(frozen=True)
class MoleculeSet:
    name: str  # "qm9/test", "moses/train" or the file path
    smiles: list[str]


def resolve(spec: str, split: str) -> MoleculeSet:
    """A named dataset split or a molecule file, as canonical SMILES."""
    if spec in DATASETS_WITH_SPLITS:
        return MoleculeSet(f"{spec}/{split}", canonical_split(spec, split))
    path = Path(spec)
    if not path.exists():
        raise DataError(f"not a dataset name ({', '.join(DATASETS_WITH_SPLITS)}) and no such file", path=spec)
    raw = [r.smiles for r in read_molecule_file(path) if r.smiles is not None]
    smiles = [s for s in map_chunks(canonical_chunk, raw, default_workers()) if s is not None]
    if not smiles:
        raise DataError("no valid molecule in the file", path=path)
    return MoleculeSet(str(path), smiles)


def is_dataset_split(name: str | None) -> bool:
    """Whether ``name`` is what :func:`resolve` calls a dataset split (``"moses/test"``), not a file."""
    dataset, _, split = (name or "").partition("/")
    return split in DATASETS_WITH_SPLITS.get(dataset, ())
