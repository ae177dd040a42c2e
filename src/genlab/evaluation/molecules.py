"""The molecules evaluator: raw graphs plus a SMILES file, judged once, scored by the molecule
suite (:func:`genlab.metrics.evaluate.evaluate`) against ``qm9``, ``moses`` or a molecule file.

Writing ``<path>`` gives ``<path>.safetensors`` (the raw graphs, :mod:`genlab.data.graph_samples`,
so validity is judged on what the model generated) and ``<path>.smi``: line i is sample i, the
canonical SMILES when the raw graph is strictly valid and blank otherwise. The verdicts made to
write the SMILES file are returned with the files, and evaluating them does not judge again.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from genlab.data.graph_samples import write_graph_samples
from genlab.data.smiles_io import read_molecule_file, write_smiles
from genlab.evaluation.base import SampleEvaluator, WrittenSamples
from genlab.evaluation.registry import EVALUATORS
from genlab.generative.families.base import SampleResult
from genlab.metrics.samples import judge_graphs
from genlab.modalities.base import Modality

#: bench table columns: every molecule data set, and MOSES's own metrics for moses
COLUMNS = ("validity", "validity_relaxed", "validity_fragment_free", "uniqueness", "novelty", "fcd", "nspdk")
MOSES_COLUMNS = COLUMNS + ("snn", "frag", "scaf", "intdiv1", "intdiv2", "filters")
#: molecules drawn from a SMILES file in a report
GRID_MOLECULES = 24
#: evaluate keys a bench row leaves out (the protocol, timings and per-line details)
NOT_IN_BENCH_ROWS = ("protocol", "seconds", "malformed", "n_blank")


@EVALUATORS.register("molecules")
class MoleculesEvaluator(SampleEvaluator):
    bench_datasets = ("qm9", "moses")
    drawing = "molecules"

    def write(self, result: SampleResult, modality: Modality, path: Path) -> WrittenSamples:
        graphs = result.samples  # a GraphBatch: atoms (B, N), adj (B, N, N)
        atoms, adj = graphs.atoms.cpu().numpy(), graphs.adj.cpu().numpy()
        path = Path(path)
        graph_file = write_graph_samples(path.with_suffix(".safetensors"), atoms, adj, modality.vocab)
        judged = judge_graphs(atoms, adj, modality.vocab)
        smiles_file = path.with_suffix(".smi")
        write_smiles(smiles_file, (v.smiles for v in judged.verdicts))
        return WrittenSamples([graph_file, smiles_file], judged)

    def draw_file(self, path: Path) -> bytes | None:
        """A grid of the first :data:`GRID_MOLECULES` valid molecules of a SMILES file."""
        if path.suffix == ".safetensors":
            return None
        from rdkit import Chem, RDLogger
        from rdkit.Chem import Draw

        RDLogger.DisableLog("rdApp.*")
        mols = []
        for record in read_molecule_file(path):
            mol = Chem.MolFromSmiles(record.smiles) if record.smiles else None
            if mol is not None:
                mols.append(mol)
            if len(mols) == GRID_MOLECULES:
                break
        if not mols:
            return None
        image = Draw.MolsToGridImage(mols, molsPerRow=6, subImgSize=(200, 160),
                                     legends=[Chem.MolToSmiles(m) for m in mols])
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    def evaluate_file(self, path: Path, reference: str, *, train: str | None = None, correct: bool = False,
                      plot: str | Path | None = None, nspdk: bool | None = None) -> dict[str, Any]:
        from genlab.metrics.evaluate import evaluate

        return evaluate(path, reference=reference, train=train, correct=correct, plot=plot, nspdk=nspdk)

    def evaluate_run(self, run: Any, result: SampleResult, dataset: str, path: Path) -> dict[str, Any]:
        """The raw graphs written at ``path``, scored with the verdicts made while writing them."""
        from genlab.metrics.evaluate import evaluate

        written = self.write(result, run.modality, path)
        metrics = evaluate(written.judged, reference=dataset, train=dataset)
        return {k: v for k, v in metrics.items() if k not in NOT_IN_BENCH_ROWS}

    def format(self, result: dict[str, Any]) -> str:
        from genlab.metrics.evaluate import format_table

        return format_table(result)

    def notes(self, result: dict[str, Any]) -> list[str]:
        if not result["n_malformed"]:
            return []
        shown = ", ".join(f"line {m['line']} ({m['reason']})" for m in result["malformed"][:5])
        more = "" if result["n_malformed"] <= 5 else f" and {result['n_malformed'] - 5} more"
        return [f"invalid lines: {shown}{more}"]

    def columns(self, dataset: str) -> tuple[str, ...]:
        return MOSES_COLUMNS if dataset == "moses" else COLUMNS
