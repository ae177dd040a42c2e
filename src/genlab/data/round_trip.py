"""The lossless-encoding check: encode -> decode every molecule and compare canonical SMILES.

``genlab data check`` runs it over QM9 and MOSES; every molecule must come back exactly (charges
included), because the graph families learn and sample these tensors.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from rdkit import RDLogger

from genlab.chem.graph import canonical_smiles, decode_graph, dense_adjacency
from genlab.chem.vocab import AtomVocab
from genlab.data.encoding import code_pair, pre_encode
from genlab.utils.parallel import default_workers, map_chunks


def _roundtrip_chunk(chunk: list[str]) -> list[tuple[bool, str | None]]:
    RDLogger.DisableLog("rdApp.*")
    out = []
    for smiles in chunk:
        canon, codes, bonds = pre_encode(smiles)
        if canon is None:
            out.append((False, codes))
            continue
        pairs = [code_pair(int(c)) for c in codes]
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
