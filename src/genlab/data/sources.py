"""Where the raw molecule data lives: inside installed packages, never downloaded.

* QM9: the CSV files shipped inside the ``qm9pack`` wheel (130,831 molecules, column ``Index`` =
  GDB-9 id, column ``SMILES``). ``import qm9pack`` fails on modern setuptools, so the package is
  only *located* with :func:`importlib.util.find_spec`, never imported.
* MOSES: ``train.csv.gz``, ``test.csv.gz``, ``test_scaffolds.csv.gz`` inside ``molsets``
  (install it with ``pip install --no-deps molsets==0.3.1``; ``import moses`` fails on pandas 2).
* The standard QM9 test split ships with genlab as ``genlab/data/qm9_test_gdb_ids.json``.

:func:`raw_split` reads one split's SMILES and source ids straight from these files.

QM9 split: a molecule is in the test set when its GDB-9 id (qm9pack's ``Index``) is in
``qm9_test_gdb_ids.json`` (1-based ids, as MoFlow/GraphNVP read them). qm9pack ships 130,831 of
QM9's 133,885 molecules (the 3,054 that failed QM9's consistency check are absent), so its test
split holds the listed ids that are present (printed by ``genlab data check qm9``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd

from genlab.errors import DataError
from genlab.paths import package_file

QM9_PARTS = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
MOSES_SPLITS = ("train", "test", "test_scaffolds")
DATASETS_WITH_SPLITS = {"qm9": ("train", "test"), "moses": MOSES_SPLITS}


def package_dir(package: str, install_hint: str) -> Path:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"package '{package}' is not installed; {install_hint}")
    return Path(list(spec.submodule_search_locations)[0])


def qm9_csv_files() -> list[Path]:
    root = package_dir("qm9pack", "install it with `pip install qm9pack==1.0.3`") / "data"
    files = [root / name for name in QM9_PARTS]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise DataError(f"qm9pack is installed but its data files are missing: {', '.join(missing)}")
    return files


def moses_csv_file(split: str) -> Path:
    if split not in MOSES_SPLITS:
        raise DataError(f"unknown MOSES split '{split}'; known: {', '.join(MOSES_SPLITS)}")
    root = package_dir("moses", "install it with `pip install --no-deps molsets==0.3.1`")
    path = root / "dataset" / "data" / f"{split}.csv.gz"
    if not path.is_file():
        raise DataError(f"molsets is installed but {path} is missing")
    return path


def qm9_test_ids() -> set[int]:
    """GDB-9 ids of the standard QM9 test split (13,082 ids; 1-based, as MoFlow/GraphNVP read them)."""
    data = json.loads(package_file("qm9_test_gdb_ids.json").read_text())
    ids = set(int(i) for i in data["gdb_ids"])
    if len(ids) != int(data["count"]):
        raise DataError("qm9_test_gdb_ids.json: the id count does not match its 'count' field")
    return ids


def files_digest(paths: list[Path], *extra: str) -> str:
    """A content hash of files (and extra strings), used to key caches."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    for e in extra:
        h.update(e.encode())
    return h.hexdigest()[:16]


def package_file_digest() -> str:
    """Hash of the shipped QM9 split file (part of the QM9 cache key)."""
    return files_digest([package_file("qm9_test_gdb_ids.json")])


def source_files(dataset: str) -> list[Path]:
    """The package files a dataset is read from (their content keys its caches)."""
    if dataset == "qm9":
        return qm9_csv_files()
    return [moses_csv_file(s) for s in MOSES_SPLITS]


def qm9_raw() -> tuple[list[str], np.ndarray]:
    """All qm9pack molecules: (SMILES, GDB-9 ids), in id order."""
    frames = [pd.read_csv(f, usecols=["Index", "SMILES"]) for f in qm9_csv_files()]
    df = pd.concat(frames).sort_values("Index")
    return df["SMILES"].astype(str).tolist(), df["Index"].to_numpy(np.int64)


def moses_raw(split: str) -> list[str]:
    """The SMILES of one MOSES split, in file order."""
    return pd.read_csv(moses_csv_file(split), usecols=["SMILES"])["SMILES"].astype(str).tolist()


def raw_split(dataset: str, split: str) -> tuple[list[str], np.ndarray]:
    """(SMILES, source ids) of one split, straight from the package files."""
    if dataset == "qm9":
        if split not in ("train", "test"):
            raise DataError(f"unknown QM9 split '{split}'; known: train, test")
        smiles, ids = qm9_raw()
        test = np.isin(ids, np.fromiter(qm9_test_ids(), np.int64))
        chosen = test if split == "test" else ~test
        return [s for s, c in zip(smiles, chosen) if c], ids[chosen]
    if dataset == "moses":
        smiles = moses_raw(split)
        return smiles, np.arange(len(smiles), dtype=np.int64)
    raise DataError(f"unknown dataset '{dataset}'; known: {', '.join(DATASETS_WITH_SPLITS)}")
