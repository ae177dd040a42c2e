"""QM9 and MOSES as graph tensors and as canonical SMILES, built once and cached.

``load_molecules("qm9", "train")`` returns a :class:`~genlab.data.molgraph_set.MolGraphSet`. The
first call parses and encodes the whole dataset (all splits at once, so that every split shares
one vocabulary) and caches the tensors in one safetensors file under ``cache_dir("graphs")``,
keyed by the source files' content and :data:`ENCODING_VERSION`; later calls read only the
requested split (well under a second for QM9). :func:`canonical_split` caches a split's canonical
SMILES as text (``cache_dir("smiles")``), all evaluation needs of a reference or training set.
Every cache file is written atomically.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from genlab.chem.vocab import AtomVocab
from genlab.data import sources
from genlab.data.encoding import assemble, canonical_chunk, pre_encode_chunk, vocab_of
from genlab.data.molgraph_set import MolGraphSet
from genlab.data.sources import DATASETS_WITH_SPLITS
from genlab.errors import DataError
from genlab.paths import cache_dir
from genlab.utils.atomic import atomic_write
from genlab.utils.parallel import default_workers, map_chunks

ENCODING_VERSION = "graph-v1"  # bump when the tensor layout changes: invalidates caches


def _cache_path(dataset: str) -> Path:
    extra = sources.package_file_digest() if dataset == "qm9" else ""
    key = sources.files_digest(sources.source_files(dataset), ENCODING_VERSION, extra)
    return cache_dir("graphs") / f"{dataset}-{key}.safetensors"


def _save(path: Path, sets: dict[str, MolGraphSet]) -> None:
    tensors, meta = {}, {}
    for split, s in sets.items():
        blob = "\n".join(s.smiles).encode()
        tensors.update({
            f"{split}.atoms": s.atoms, f"{split}.bond_ptr": s.bond_ptr, f"{split}.bonds": s.bonds,
            f"{split}.ids": s.ids, f"{split}.smiles": np.frombuffer(blob, dtype=np.uint8).copy(),
        })
        meta["vocab"] = s.vocab.dumps()
    meta["splits"] = json.dumps(list(sets))
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def _load(path: Path, dataset: str, split: str) -> MolGraphSet:
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
        if split not in json.loads(meta["splits"]):
            raise DataError(f"unknown {dataset} split '{split}'; known: {', '.join(json.loads(meta['splits']))}")
        get = lambda k: f.get_tensor(f"{split}.{k}")  # noqa: E731
        smiles = get("smiles").tobytes().decode().split("\n")
        return MolGraphSet(f"{dataset}/{split}", AtomVocab.from_json(json.loads(meta["vocab"])),
                           get("atoms"), get("bond_ptr"), get("bonds"), smiles, get("ids"))


def load_molecules(dataset: str, split: str = "train", *, workers: int | None = None) -> MolGraphSet:
    """A split of ``qm9`` or ``moses`` as graph tensors (built once, then read from the cache)."""
    if dataset not in DATASETS_WITH_SPLITS:
        raise DataError(f"unknown dataset '{dataset}'; known: {', '.join(DATASETS_WITH_SPLITS)}")
    if split not in DATASETS_WITH_SPLITS[dataset]:
        raise DataError(f"unknown {dataset} split '{split}'; known: {', '.join(DATASETS_WITH_SPLITS[dataset])}")
    path = _cache_path(dataset)
    if not path.exists():
        _save(path, build_dataset(dataset, workers=workers))
    return _load(path, dataset, split)


def build_dataset(dataset: str, *, workers: int | None = None) -> dict[str, MolGraphSet]:
    """Parse and encode every split of a dataset with one shared vocabulary."""
    raws = {split: sources.raw_split(dataset, split) for split in DATASETS_WITH_SPLITS[dataset]}
    workers = workers or default_workers()
    pre = {split: map_chunks(pre_encode_chunk, smiles, workers) for split, (smiles, _) in raws.items()}
    failures = [(split, m, r[1]) for split, rs in pre.items() for m, r in enumerate(rs) if r[0] is None]
    if failures:
        split, m, why = failures[0]
        raise DataError(f"{dataset}/{split}: {len(failures)} molecules cannot be encoded; first: row {m + 1} '{raws[split][0][m]}': {why}")
    vocab = vocab_of([r for rs in pre.values() for r in rs])
    return {split: assemble(pre[split], raws[split][0], vocab, f"{dataset}/{split}", raws[split][1], True)
            for split in pre}


def canonical_split(dataset: str, split: str, *, workers: int | None = None) -> list[str]:
    """Canonical non-isomeric SMILES of a dataset split, cached as text (no graph tensors built).

    What evaluation needs of a reference or training set: for MOSES this avoids encoding 1.9M
    graphs when only SMILES are compared. Molecules RDKit cannot parse are dropped (none are, in
    QM9 and MOSES).
    """
    if dataset not in DATASETS_WITH_SPLITS or split not in DATASETS_WITH_SPLITS[dataset]:
        raise DataError(f"unknown dataset split '{dataset}/{split}'")
    key = sources.files_digest(sources.source_files(dataset), ENCODING_VERSION, split,
                               sources.package_file_digest() if dataset == "qm9" else "")
    path = cache_dir("smiles") / f"{dataset}-{split}-{key}.txt.gz"
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return f.read().split("\n")
    raw, _ = sources.raw_split(dataset, split)
    smiles = [s for s in map_chunks(canonical_chunk, raw, workers or default_workers()) if s is not None]

    def write(tmp: Path) -> None:
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            f.write("\n".join(smiles))

    atomic_write(path, write)
    return smiles
