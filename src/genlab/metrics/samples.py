"""Load generated molecules for evaluation and judge each under the three validity definitions.

Two inputs: a SMILES file (any format :mod:`genlab.data.smiles_io` reads) or a genlab
graph-sample file (``.safetensors``; validity judged on the raw graph). In a SMILES file every
line is one sample: a malformed line is an invalid sample recorded with its line number, never an
exception, and a blank line is an invalid sample counted in :attr:`JudgedSamples.n_blank` (what
``genlab sample`` writes for a graph that is not a valid molecule), so a SMILES file and the
graph file it was written from have the same number of samples and the same validity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rdkit import RDLogger

from genlab.chem.validity import GraphVerdict, judge_graph, judge_smiles
from genlab.chem.vocab import AtomVocab
from genlab.data.graph_samples import is_graph_sample_file, read_graph_samples
from genlab.utils.parallel import default_workers, map_chunks
from genlab.data.smiles_io import BLANK_LINE, read_molecule_file
from genlab.errors import DataError


@dataclass
class JudgedSamples:
    """Every sample's verdict, in file order, plus the input kind, the malformed lines and the
    number of blank lines (each an invalid sample)."""

    verdicts: list[GraphVerdict]
    kind: str  # "graphs" or "smiles"
    malformed: list[dict] = field(default_factory=list)  # {"line": int, "reason": str}
    n_blank: int = 0

    @property
    def n(self) -> int:
        return len(self.verdicts)

    def fraction(self, attribute: str) -> float:
        return float(np.mean([getattr(v, attribute) for v in self.verdicts])) if self.verdicts else 0.0


def _judge_smiles_chunk(chunk: list[str | None]) -> list[GraphVerdict]:
    RDLogger.DisableLog("rdApp.*")
    return [judge_smiles(s) for s in chunk]


def _judge_graph_chunk(chunk: list[tuple[np.ndarray, np.ndarray, AtomVocab]]) -> list[GraphVerdict]:
    RDLogger.DisableLog("rdApp.*")
    return [judge_graph(a, e, v) for a, e, v in chunk]


def judge_file(path: str | Path, *, workers: int | None = None) -> JudgedSamples:
    path = Path(path)
    workers = workers or default_workers()
    if is_graph_sample_file(path):
        atoms, adj, vocab = read_graph_samples(path)
        items = [(atoms[i], adj[i], vocab) for i in range(len(atoms))]
        return JudgedSamples(map_chunks(_judge_graph_chunk, items, workers, chunk=500), "graphs")
    smiles, lines = [], []
    for record in read_molecule_file(path, blank_lines=True):
        smiles.append(record.smiles)
        lines.append((record.line, record.error))
    verdicts = map_chunks(_judge_smiles_chunk, smiles, workers, chunk=1000)
    if not verdicts:
        raise DataError("no molecules in the file", path=path)
    n_blank = sum(error == BLANK_LINE for _, error in lines)
    malformed = [
        {"line": line, "reason": error or "RDKit cannot parse this SMILES"}
        for (line, error), v in zip(lines, verdicts)
        if error != BLANK_LINE and (error or not v.valid_relaxed)
    ]
    return JudgedSamples(verdicts, "smiles", malformed, n_blank)


def judge_graphs(atoms: np.ndarray, adj: np.ndarray, vocab: AtomVocab, *, workers: int | None = None) -> JudgedSamples:
    """Judge in-memory raw graphs ((B, N) atoms, (B, N, N) edges), e.g. straight from a sampler."""
    items = [(atoms[i], adj[i], vocab) for i in range(len(atoms))]
    return JudgedSamples(map_chunks(_judge_graph_chunk, items, workers or default_workers(), chunk=500), "graphs")
