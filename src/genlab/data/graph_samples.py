"""genlab's graph-sample files: raw generated graphs, so validity is judged before any SMILES.

A ``.safetensors`` file with tensors ``atoms`` (B, N) and ``adj`` (B, N, N) (integer classes as in
:mod:`genlab.chem.graph`) and metadata ``format = "genlab-graphs/1"`` and ``vocab`` (JSON of
:class:`~genlab.chem.vocab.AtomVocab`). Reading checks shapes, dtypes and class ranges and names
the file in every error; nothing is unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from genlab.chem.vocab import AtomVocab
from genlab.errors import DataError, GenlabError
from genlab.utils.atomic import atomic_write

FORMAT = "genlab-graphs/1"


def write_graph_samples(path: str | Path, atoms: np.ndarray, adj: np.ndarray, vocab: AtomVocab) -> Path:
    """Write raw graphs atomically, with the permissions of every other output."""
    atoms = np.ascontiguousarray(np.asarray(atoms, dtype=np.uint8))
    adj = np.ascontiguousarray(np.asarray(adj, dtype=np.uint8))
    tensors = {"atoms": atoms, "adj": adj}
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={"format": FORMAT, "vocab": vocab.dumps()}))


def is_graph_sample_file(path: str | Path) -> bool:
    return Path(path).suffix == ".safetensors"


def read_graph_samples(path: str | Path) -> tuple[np.ndarray, np.ndarray, AtomVocab]:
    """(atoms (B, N), adj (B, N, N), vocab) from a graph-sample file."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path=path)
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise DataError(f"not a genlab graph-sample file (format {meta.get('format')!r}, expected {FORMAT!r})", path=path)
            keys = set(f.keys())
            if not {"atoms", "adj"} <= keys:
                raise DataError(f"missing tensors {sorted({'atoms', 'adj'} - keys)}", path=path)
            atoms, adj = f.get_tensor("atoms"), f.get_tensor("adj")
    except GenlabError:
        raise
    except (SafetensorError, OSError, ValueError) as exc:
        raise DataError(f"unreadable safetensors file: {exc}", path=path) from None
    try:
        vocab = AtomVocab.from_json(json.loads(meta["vocab"]))
    except (KeyError, json.JSONDecodeError, GenlabError) as exc:
        raise DataError(f"bad vocabulary metadata: {exc}", path=path) from None
    b, n = atoms.shape if atoms.ndim == 2 else (None, None)
    if atoms.ndim != 2 or adj.shape != (b, n, n):
        raise DataError(f"atoms must be (B, N) and adj (B, N, N); got {atoms.shape} and {adj.shape}", path=path)
    if atoms.max(initial=0) > len(vocab.atoms) or adj.max(initial=0) > 3:
        raise DataError("atom or bond class outside the vocabulary", path=path)
    return atoms.astype(np.int64), adj.astype(np.int64), vocab
