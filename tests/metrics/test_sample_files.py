"""Molecule sample files: line i of the SMILES file is sample i, so ``genlab evaluate`` gives the
SMILES file and the raw-graph file it was written from the same validity; the verdicts made while
writing are the ones evaluated."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from genlab.chem.vocab import AtomVocab
from genlab.cli.main import main
from genlab.data.smiles_io import BLANK_LINE, read_molecule_file
from genlab.evaluation.registry import evaluator, evaluator_for_file
from genlab.generative.families.base import SampleResult
from genlab.metrics import samples as samples_module
from genlab.metrics.evaluate import evaluate
from genlab.modalities.molecules import GraphBatch, MolecularGraphModality

REFERENCE = ["CCO", "CC(C)O", "c1ccccc1", "CC(=O)O", "CCN", "OCCO", "CC#N", "CCOC"]
C, N, O = 1, 2, 3


def graphs() -> GraphBatch:
    """Five raw graphs: ethanol (valid), N with four bonds (invalid: valence), acetylene (valid),
    two fragments C.O (invalid: not one molecule), ethanol again (valid)."""
    atoms = torch.tensor([[C, C, O, 0], [N, C, C, C], [C, C, 0, 0], [C, O, 0, 0], [O, C, C, 0]])
    adj = torch.zeros(5, 4, 4, dtype=torch.long)
    for b, i, j, c in [(0, 0, 1, 1), (0, 1, 2, 1), (1, 0, 1, 1), (1, 0, 2, 1), (1, 0, 3, 2), (2, 0, 1, 3),
                       (4, 0, 1, 1), (4, 1, 2, 1)]:
        adj[b, i, j] = adj[b, j, i] = c
    return GraphBatch(atoms, adj)


@pytest.fixture()
def written(tmp_path):
    vocab = AtomVocab.from_pairs([("C", 0), ("N", 0), ("O", 0)], 4)
    modality = MolecularGraphModality(vocab, atom_counts=[0, 0, 1, 1, 1])
    ref = tmp_path / "ref.smi"
    ref.write_text("\n".join(REFERENCE) + "\n")
    out = evaluator("molecules").write(SampleResult(graphs(), nfe=3), modality, tmp_path / "s")
    return out, ref


def test_the_smiles_file_has_one_line_per_sample_blank_where_invalid(written):
    out, _ = written
    assert [f.name for f in out.files] == ["s.safetensors", "s.smi"]
    assert out.files[1].read_text() == "CCO\n\nC#C\n\nCCO\n"


def test_smiles_and_graph_files_agree_on_validity(written, tmp_path, capsys):
    out, ref = written
    by_graph = evaluate(out.files[0], reference=str(ref))
    by_smiles = evaluate(out.files[1], reference=str(ref))
    assert by_graph["n_samples"] == by_smiles["n_samples"] == 5
    assert by_graph["validity"] == by_smiles["validity"] == pytest.approx(3 / 5)
    assert by_graph["n_valid"] == by_smiles["n_valid"] == 3
    assert by_graph["uniqueness"] == by_smiles["uniqueness"] == pytest.approx(2 / 3)
    assert by_smiles["n_blank"] == 2 and by_graph["n_blank"] == 0
    assert by_smiles["malformed"] == []  # blank lines are counted, not listed as malformed

    for name in ("s.safetensors", "s.smi"):
        assert main(["evaluate", str(tmp_path / name), "--reference", str(ref), "--no-nspdk",
                     "--json", str(tmp_path / f"{name}.json")]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^n_blank \(invalid\)\s+2$", printed, re.M)  # the SMILES file's table says so
    results = [json.loads((tmp_path / f"{name}.json").read_text()) for name in ("s.safetensors", "s.smi")]
    assert results[0]["validity"] == results[1]["validity"] == pytest.approx(3 / 5)
    assert results[1]["n_blank"] == 2


def test_blank_lines_are_samples_but_the_final_newline_is_not(tmp_path):
    path = tmp_path / "s.smi"
    path.write_text("CCO\n\n  \nC1CC\n\n")
    records = [(r.line, r.smiles, r.error) for r in read_molecule_file(path, blank_lines=True)]
    assert records == [(1, "CCO", None), (2, None, BLANK_LINE), (3, None, BLANK_LINE), (4, "C1CC", None),
                       (5, None, BLANK_LINE)]
    assert [r.line for r in read_molecule_file(path)] == [1, 4]  # reading data: blank lines skipped
    judged = samples_module.judge_file(path)
    assert judged.n == 5 and judged.n_blank == 3 and judged.fraction("valid") == pytest.approx(1 / 5)
    assert [m["line"] for m in judged.malformed] == [4]  # the unparsable line, not the blank ones


def test_a_smiles_file_of_blank_lines_is_all_invalid_not_empty(tmp_path):
    path = tmp_path / "s.smi"
    path.write_text("\n\n\n")
    judged = samples_module.judge_file(path)
    assert judged.n == 3 and judged.n_blank == 3 and judged.fraction("valid") == 0.0


def test_judged_samples_from_the_writer_are_not_judged_again(written, monkeypatch):
    out, ref = written
    expected = evaluate(out.files[0], reference=str(ref))

    def no_judging(*args, **kwargs):
        raise AssertionError("judged twice")

    monkeypatch.setattr(samples_module, "judge_file", no_judging)
    monkeypatch.setattr("genlab.metrics.evaluate.judge_file", no_judging)
    got = evaluate(out.judged, reference=str(ref))
    drop = ("seconds",)
    assert {k: v for k, v in got.items() if k not in drop} == {k: v for k, v in expected.items() if k not in drop}


def test_sample_files_name_their_evaluator(written, tmp_path):
    out, _ = written
    assert all(type(evaluator_for_file(f)).__name__ == "MoleculesEvaluator" for f in out.files)
    np.savez(tmp_path / "legacy.npz", samples=np.zeros((3, 1, 8, 8)), nfe=np.int64(1))  # no record: 4-D is images
    assert type(evaluator_for_file(tmp_path / "legacy.npz")).__name__ == "ImagesEvaluator"
