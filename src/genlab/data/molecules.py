"""Molecule datasets as graph tensors: QM9 (standard split), MOSES, any user SMILES file.

``load_molecules("qm9", "train")`` returns a :class:`MolGraphSet`. The first call parses and
encodes the whole dataset (all splits at once, so that every split shares one vocabulary) and
caches the tensors in one safetensors file keyed by the source files' content and the encoding
version; later calls read only the requested split (well under a second for QM9).

QM9 split: a molecule is in the test set when its GDB-9 id (qm9pack's ``Index``) is in
``qm9_test_gdb_ids.json`` (1-based ids, as MoFlow/GraphNVP read them). qm9pack ships 130,831 of
QM9's 133,885 molecules (the 3,054 that failed QM9's consistency check are absent), so its test
split holds the listed ids that are present (printed by ``genlab data check qm9``).
"""

from __future__ import annotations

import gzip
import json
import multiprocessing as mp
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from rdkit import Chem, RDLogger
from safetensors import safe_open
from safetensors.numpy import save_file

from genlab.chem.graph import canonical_smiles, decode_graph, dense_adjacency, encode_mol
from genlab.chem.vocab import AtomVocab
from genlab.data import sources
from genlab.data.smiles_io import read_molecule_file
from genlab.errors import DataError, VocabularyError
from genlab.paths import cache_dir

ENCODING_VERSION = "graph-v1"  # bump when the tensor layout changes: invalidates caches
DATASETS_WITH_SPLITS = {"qm9": ("train", "test"), "moses": sources.MOSES_SPLITS}
_UNIVERSAL_MAX = 255  # atoms per molecule the universal pre-encoding can hold


@dataclass
class MolGraphSet:
    """Encoded molecules of one split: sparse on disk, dense per batch.

    ``atoms``: (M, N) uint8 node classes (0 = no atom); ``bonds``: (E, 3) uint8 rows (i, j, class)
    with molecule m's bonds at ``bonds[bond_ptr[m]:bond_ptr[m+1]]``; ``smiles``: the canonical
    non-isomeric SMILES each graph encodes; ``ids``: source ids (GDB-9 ids for QM9, row numbers
    otherwise).
    """

    name: str
    vocab: AtomVocab
    atoms: np.ndarray
    bond_ptr: np.ndarray
    bonds: np.ndarray
    smiles: list[str]
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.smiles)

    def graph(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Molecule m as dense (N,) atom classes and (N, N) edge classes."""
        bonds = self.bonds[self.bond_ptr[m] : self.bond_ptr[m + 1]]
        return self.atoms[m], dense_adjacency(bonds, self.vocab.max_atoms)

    def dense(self, index: Sequence[int] | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch as ``x`` (B, N) long and ``adj`` (B, N, N) long, without a Python loop over bonds."""
        index = np.asarray(index, dtype=np.int64)
        n = self.vocab.max_atoms
        x = torch.from_numpy(self.atoms[index].astype(np.int64))  # (B, N)
        starts, ends = self.bond_ptr[index], self.bond_ptr[index + 1]
        counts = ends - starts
        rows = np.repeat(np.arange(len(index)), counts)  # (E_b,) batch row of each bond
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        b = self.bonds[np.repeat(starts, counts) + offsets].astype(np.int64)  # (E_b, 3)
        adj = torch.zeros(len(index), n, n, dtype=torch.long)  # (B, N, N)
        r, i, j, c = (torch.from_numpy(a) for a in (rows, b[:, 0], b[:, 1], b[:, 2]))
        adj[r, i, j] = c
        adj[r, j, i] = c
        return x, adj

    def num_atoms(self) -> np.ndarray:
        """(M,) heavy-atom count of each molecule."""
        return (self.atoms > 0).sum(axis=1)

    def subset(self, index: Sequence[int] | np.ndarray, name: str | None = None) -> "MolGraphSet":
        index = np.asarray(index, dtype=np.int64)
        counts = self.bond_ptr[index + 1] - self.bond_ptr[index]
        take = np.concatenate([np.arange(self.bond_ptr[m], self.bond_ptr[m + 1]) for m in index]) if len(index) else np.zeros(0, np.int64)
        return MolGraphSet(
            name or self.name,
            self.vocab,
            self.atoms[index],
            np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            self.bonds[take.astype(np.int64)].reshape(-1, 3),
            [self.smiles[m] for m in index],
            self.ids[index],
        )


# ---------------------------------------------------------------------------------------------
# parsing (in worker processes): SMILES -> universal pre-encoding, vocabulary-free


def _atom_code(symbol_charge: tuple[str, int]) -> int:
    """(element, charge) -> uint16 code Z * 32 + (charge + 16), independent of any vocabulary."""
    symbol, charge = symbol_charge
    return Chem.GetPeriodicTable().GetAtomicNumber(symbol) * 32 + (charge + 16)


def _code_pair(code: int) -> tuple[str, int]:
    return Chem.GetPeriodicTable().GetElementSymbol(code // 32), code % 32 - 16


def _pre_encode(smiles: str):
    """One SMILES -> (canonical SMILES, atom codes, bonds) or (None, reason, None)."""
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        return None, "RDKit cannot parse this SMILES", None
    canon = canonical_smiles(mol)
    pairs = [(a.GetSymbol(), a.GetFormalCharge()) for a in mol.GetAtoms()]
    charge = max((c for _, c in pairs), key=abs, default=0)
    if abs(charge) > 15:  # the code below holds charges -16..15; beyond, it would alias another element
        return None, f"molecule '{canon}' has an atom with charge {charge:+d}, outside -15..+15", None
    universal = AtomVocab.from_pairs(pairs, _UNIVERSAL_MAX)
    try:
        atoms, bonds = encode_mol(mol, universal, name=canon)
    except VocabularyError as exc:
        return None, exc.message, None
    codes = np.array([_atom_code(universal.atoms[k - 1]) for k in atoms], dtype=np.uint16)
    return canon, codes, bonds


def why_not_encoded(smiles: str, limit: int = 60) -> str:
    """Why :func:`encode_smiles` drops ``smiles`` (molecule strings cut to ``limit`` characters)."""
    reason = _pre_encode(smiles)[1]
    if not isinstance(reason, str):
        return "molecule can be encoded"
    if reason.startswith("RDKit cannot parse"):
        reason = f"{reason}: '{smiles}'"
    return re.sub(r"'([^']{%d})[^']+'" % (limit - 3), r"'\1...'", reason)


def _pre_encode_chunk(chunk: list[str]):
    RDLogger.DisableLog("rdApp.*")
    return [_pre_encode(s) for s in chunk]


def map_chunks(fn, items: list, workers: int, chunk: int = 2000):
    """``fn`` over ``items`` in chunks of ``chunk``, in ``workers`` forked processes when > 1;
    results flattened in input order (RDKit work is per molecule and pure Python)."""
    chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    if workers <= 1 or len(chunks) <= 1:
        out = [fn(c) for c in chunks]
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            out = pool.map(fn, chunks)
    return [r for part in out for r in part]


def default_workers() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0))))


def encode_smiles(smiles: Sequence[str], vocab: AtomVocab | None = None, *, workers: int | None = None,
                  name: str = "molecules", ids: np.ndarray | None = None, strict: bool = True) -> MolGraphSet:
    """Encode SMILES into a :class:`MolGraphSet`; with ``vocab=None`` the vocabulary is taken from the data.

    ``strict``: a SMILES that does not parse or fits no vocabulary raises :class:`DataError` naming
    it; otherwise it is skipped (its id is left out of ``ids``).
    """
    results = map_chunks(_pre_encode_chunk, list(smiles), workers or default_workers())
    return _assemble(results, smiles, vocab, name, ids, strict)


def _assemble(results, smiles, vocab, name, ids, strict) -> MolGraphSet:
    keep = []
    for m, (canon, codes, _) in enumerate(results):
        if canon is None:
            if strict:
                raise DataError(f"{name}: molecule {m + 1} '{smiles[m]}': {codes}")
            continue
        keep.append(m)
    all_codes = np.unique(np.concatenate([results[m][1] for m in keep])) if keep else np.zeros(0, np.uint16)
    max_atoms = max((len(results[m][1]) for m in keep), default=1)
    if vocab is None:
        vocab = AtomVocab.from_pairs([_code_pair(int(c)) for c in all_codes], max_atoms)
    lookup = np.zeros(_UNIVERSAL_MAX * 32 + 32, dtype=np.int64) - 1
    for c in all_codes:
        k = vocab.index(*_code_pair(int(c)))
        lookup[c] = -1 if k is None else k
    atoms = np.zeros((len(keep), vocab.max_atoms), dtype=np.uint8)
    bond_ptr = np.zeros(len(keep) + 1, dtype=np.int64)
    bonds, out_smiles, out_rows = [], [], []
    row = 0
    for m in keep:
        canon, codes, b = results[m]
        k = lookup[codes]
        problem = None
        if len(codes) > vocab.max_atoms:
            problem = f"has {len(codes)} heavy atoms, more than the {vocab.max_atoms} allowed"
        elif (k < 0).any():
            bad = _code_pair(int(codes[np.argmax(k < 0)]))
            problem = f"has atom {bad[0]} with charge {bad[1]:+d}, not in the vocabulary {vocab.labels()[1:]}"
        if problem:
            if strict:
                raise VocabularyError(f"{name}: molecule '{canon}' {problem}")
            continue
        atoms[row, : len(k)] = k
        bonds.append(b)
        bond_ptr[row + 1] = bond_ptr[row] + len(b)
        out_smiles.append(canon)
        out_rows.append(m)
        row += 1
    atoms, bond_ptr = atoms[:row], bond_ptr[: row + 1]
    src_ids = np.arange(len(results)) if ids is None else np.asarray(ids)
    return MolGraphSet(name, vocab, atoms, bond_ptr,
                       np.concatenate(bonds).astype(np.uint8) if bonds else np.zeros((0, 3), np.uint8),
                       out_smiles, src_ids[np.asarray(out_rows, dtype=np.int64)].astype(np.int64))


# ---------------------------------------------------------------------------------------------
# raw sources


def qm9_raw() -> tuple[list[str], np.ndarray]:
    """All qm9pack molecules: (SMILES, GDB-9 ids), in id order."""
    frames = [pd.read_csv(f, usecols=["Index", "SMILES"]) for f in sources.qm9_csv_files()]
    df = pd.concat(frames).sort_values("Index")
    return df["SMILES"].astype(str).tolist(), df["Index"].to_numpy(np.int64)


def moses_raw(split: str) -> list[str]:
    return pd.read_csv(sources.moses_csv_file(split), usecols=["SMILES"])["SMILES"].astype(str).tolist()


def raw_split(dataset: str, split: str) -> tuple[list[str], np.ndarray]:
    """(SMILES, source ids) of one split, straight from the package files."""
    if dataset == "qm9":
        smiles, ids = qm9_raw()
        test = np.isin(ids, np.fromiter(sources.qm9_test_ids(), np.int64))
        chosen = test if split == "test" else ~test
        if split not in ("train", "test"):
            raise DataError(f"unknown QM9 split '{split}'; known: train, test")
        return [s for s, c in zip(smiles, chosen) if c], ids[chosen]
    if dataset == "moses":
        smiles = moses_raw(split)
        return smiles, np.arange(len(smiles), dtype=np.int64)
    raise DataError(f"unknown dataset '{dataset}'; known: {', '.join(DATASETS_WITH_SPLITS)}")


def _source_files(dataset: str) -> list[Path]:
    if dataset == "qm9":
        return sources.qm9_csv_files()
    return [sources.moses_csv_file(s) for s in sources.MOSES_SPLITS]


# ---------------------------------------------------------------------------------------------
# cache


def _cache_path(dataset: str) -> Path:
    extra = sources.package_file_digest() if dataset == "qm9" else ""
    key = sources.files_digest(_source_files(dataset), ENCODING_VERSION, extra)
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
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)


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
    raws = {split: raw_split(dataset, split) for split in DATASETS_WITH_SPLITS[dataset]}
    workers = workers or default_workers()
    pre = {split: map_chunks(_pre_encode_chunk, smiles, workers) for split, (smiles, _) in raws.items()}
    failures = [(split, m, r[1]) for split, rs in pre.items() for m, r in enumerate(rs) if r[0] is None]
    if failures:
        split, m, why = failures[0]
        raise DataError(f"{dataset}/{split}: {len(failures)} molecules cannot be encoded; first: row {m + 1} '{raws[split][0][m]}': {why}")
    codes = np.unique(np.concatenate([r[1] for rs in pre.values() for r in rs]))
    max_atoms = max(len(r[1]) for rs in pre.values() for r in rs)
    vocab = AtomVocab.from_pairs([_code_pair(int(c)) for c in codes], max_atoms)
    return {split: _assemble(pre[split], raws[split][0], vocab, f"{dataset}/{split}", raws[split][1], True)
            for split in pre}


def canonical_chunk(chunk: list[str]) -> list[str | None]:
    """Canonical non-isomeric SMILES of each string, ``None`` where RDKit cannot parse it."""
    RDLogger.DisableLog("rdApp.*")
    out = []
    for smiles in chunk:
        mol = Chem.MolFromSmiles(smiles) if smiles else None
        out.append(None if mol is None else canonical_smiles(mol))
    return out


def canonical_split(dataset: str, split: str, *, workers: int | None = None) -> list[str]:
    """Canonical non-isomeric SMILES of a dataset split, cached as text (no graph tensors built).

    What evaluation needs of a reference or training set: for MOSES this avoids encoding 1.9M
    graphs when only SMILES are compared. Molecules RDKit cannot parse are dropped (none are, in
    QM9 and MOSES).
    """
    if dataset not in DATASETS_WITH_SPLITS or split not in DATASETS_WITH_SPLITS[dataset]:
        raise DataError(f"unknown dataset split '{dataset}/{split}'")
    key = sources.files_digest(_source_files(dataset), ENCODING_VERSION, split,
                               sources.package_file_digest() if dataset == "qm9" else "")
    path = cache_dir("smiles") / f"{dataset}-{split}-{key}.txt.gz"
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return f.read().split("\n")
    raw, _ = raw_split(dataset, split)
    smiles = [s for s in map_chunks(canonical_chunk, raw, workers or default_workers()) if s is not None]
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        f.write("\n".join(smiles))
    os.replace(tmp, path)
    return smiles


# ---------------------------------------------------------------------------------------------
# round trip


def _roundtrip_chunk(chunk: list[str]):
    RDLogger.DisableLog("rdApp.*")
    out = []
    for smiles in chunk:
        canon, codes, bonds = _pre_encode(smiles)
        if canon is None:
            out.append((False, codes))
            continue
        pairs = [_code_pair(int(c)) for c in codes]
        vocab = AtomVocab.from_pairs(pairs, max(len(codes), 1))
        atoms = np.array([vocab.index(*p) for p in pairs], dtype=np.uint8)
        mol = decode_graph(atoms, dense_adjacency(bonds, len(atoms)), vocab)
        if mol is None:
            out.append((False, "decoded graph fails RDKit sanitization"))
        elif canonical_smiles(mol) != canon:
            out.append((False, f"decodes to '{canonical_smiles(mol)}'"))
        else:
            out.append((True, None))
    return out


def roundtrip_check(smiles: Sequence[str], labels: Sequence[str] | None = None, *, workers: int | None = None,
                    max_failures: int = 20) -> dict:
    """Encode -> decode every molecule and compare canonical SMILES; a JSON-able report."""
    results = map_chunks(_roundtrip_chunk, list(smiles), workers or default_workers())
    failures = [
        {"id": (labels[m] if labels is not None else m + 1), "smiles": smiles[m], "reason": why}
        for m, (ok, why) in enumerate(results) if not ok
    ]
    return {"total": len(results), "roundtrip_exact": len(results) - len(failures),
            "failures": failures[:max_failures], "n_failures": len(failures)}


def read_smiles_file(path: str | Path) -> list[str]:
    """All SMILES of a user file (malformed lines are reported by the evaluator, skipped here)."""
    return [r.smiles for r in read_molecule_file(path) if r.smiles is not None]
