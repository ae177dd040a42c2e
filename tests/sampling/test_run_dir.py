"""A run directory holds what sampling needs: ``config.json``, ``modality.json`` and the weights.

Known answers: a molecule run samples bit-identical graphs with its training data present, with
the data file gone and the dataset cache empty, and (a run saved before ``modality.json``) from
the data alone; ``genlab sample`` and ``genlab evaluate`` never import Lightning; every sample
file has the permissions of ``config.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from genlab.cli.main import main
from genlab.data.graph_samples import read_graph_samples
from genlab.data.registry import DATASETS
from genlab.modalities.images import ImagesModality
from genlab.modalities.points import PointsModality
from genlab.modalities.registry import MODALITIES
from genlab.sampling.run import Run
from genlab.sampling.run_dir import modality_record
from support import QM9_SMALL, points_flow_config

SMALL_MOLECULES = QM9_SMALL
MOLECULES = {
    "family": {"name": "discrete_flow_matching", "sample_steps": 3},
    "process": {"name": "discrete_flow"},
    "network": {"name": "graph_transformer", "hidden": 16, "edge_hidden": 8, "layers": 1, "heads": 2,
                "time_dim": 16},
    "train": {"max_steps": 2, "batch_size": 16, "accelerator": "cpu", "checkpoint_every": 2, "log_every": 1},
}
POINTS = points_flow_config()


@pytest.fixture(scope="module")
def molecule_run(tmp_path_factory) -> tuple[Path, Path]:
    """A two-step molecule run trained on a copy of 64 QM9 molecules; (run, the data file)."""
    root = tmp_path_factory.mktemp("molecules")
    data = root / "train.smi"
    shutil.copy(SMALL_MOLECULES, data)
    config = root / "c.yaml"
    config.write_text(yaml.safe_dump({"data": {"name": "smiles", "path": str(data), "heldout_fraction": 0.25},
                                      **MOLECULES}))
    assert main(["train", str(config), "--out", str(root / "run"), "--quiet"]) == 0
    return root / "run", data


@pytest.fixture(scope="module")
def points_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("points")
    (root / "c.yaml").write_text(yaml.safe_dump(POINTS))
    assert main(["train", str(root / "c.yaml"), "--out", str(root / "run"), "--quiet"]) == 0
    return root / "run"


def test_modality_records_rebuild_the_same_modality():
    molecules = DATASETS.build({"name": "smiles", "path": str(SMALL_MOLECULES)}).modality
    for modality in (PointsModality(3), ImagesModality(1, 8, 8, 17), molecules):
        record = json.loads(json.dumps(modality_record(modality)))  # through JSON, as on disk
        rebuilt = MODALITIES.build(record)
        assert type(rebuilt) is type(modality) and rebuilt.config() == modality.config()
    assert torch.equal(rebuilt.atom_counts, molecules.atom_counts)
    assert all(torch.equal(rebuilt.class_marginals[k], molecules.class_marginals[k]) for k in ("x", "adj"))


def test_training_writes_the_modality_record(molecule_run, points_run):
    run, _ = molecule_run
    data = json.loads((run / "config.json").read_text())["data"]
    expected = modality_record(DATASETS.build(data).modality)  # the modality training built from its data
    assert json.loads((run / "modality.json").read_text()) == json.loads(json.dumps(expected))
    assert json.loads((points_run / "modality.json").read_text()) == {"name": "points", "dim": 2}


def graphs_of(path: Path) -> tuple[np.ndarray, np.ndarray]:
    atoms, adj, _ = read_graph_samples(path)
    return atoms, adj


def test_a_run_samples_the_same_without_its_training_data(molecule_run, tmp_path, monkeypatch):
    run, data = molecule_run
    assert main(["sample", str(run), "--n", "12", "--seed", "3", "--out", str(tmp_path / "with")]) == 0
    hidden = tmp_path / "elsewhere.smi"
    shutil.move(data, hidden)
    try:
        monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "empty-cache"))
        assert main(["sample", str(run), "--n", "12", "--seed", "3", "--out", str(tmp_path / "without")]) == 0
        loaded = Run(run)
        assert loaded._bundle is None  # the data is never built to sample
        assert not (tmp_path / "empty-cache").exists()  # no cache was even asked for
    finally:
        shutil.move(hidden, data)
    with_data, without = graphs_of(tmp_path / "with.safetensors"), graphs_of(tmp_path / "without.safetensors")
    assert all(np.array_equal(a, b) for a, b in zip(with_data, without))
    assert (tmp_path / "with.smi").read_text() == (tmp_path / "without.smi").read_text()


def test_a_run_saved_before_modality_json_rebuilds_the_modality_from_the_data(molecule_run, tmp_path):
    run, _ = molecule_run
    old = tmp_path / "old-run"
    shutil.copytree(run, old)
    (old / "modality.json").unlink()
    legacy, current = Run(old), Run(run)
    assert legacy._bundle is not None and current._bundle is None
    assert legacy.modality.config() == current.modality.config()
    a, b = legacy.sample(10, seed=1).samples, current.sample(10, seed=1).samples
    assert torch.equal(a.atoms, b.atoms) and torch.equal(a.adj, b.adj)


def test_sampled_smiles_and_graph_files_agree_on_validity(molecule_run, tmp_path, capsys):
    run, data = molecule_run
    out = tmp_path / "s"
    assert main(["sample", str(run), "--n", "40", "--out", str(out)]) == 0
    results = []
    for suffix in (".safetensors", ".smi"):
        json_file = tmp_path / f"eval{suffix}.json"
        assert main(["evaluate", str(out.with_suffix(suffix)), "--reference", str(data), "--no-nspdk",
                     "--json", str(json_file)]) == 0
        results.append(json.loads(json_file.read_text()))
    by_graph, by_smiles = results
    assert by_graph["n_samples"] == by_smiles["n_samples"] == 40
    assert by_graph["validity"] == by_smiles["validity"]
    assert by_smiles["n_blank"] == 40 - by_graph["n_valid"]  # every invalid graph is a blank line


def test_sample_and_evaluate_do_not_import_lightning(molecule_run, points_run, tmp_path):
    run, data = molecule_run
    code = f"""
import sys
from genlab.cli.main import main
assert main(["sample", {str(run)!r}, "--n", "6", "--out", {str(tmp_path / "m")!r}]) == 0
assert main(["evaluate", {str(tmp_path / "m.smi")!r}, "--reference", {str(data)!r}, "--no-nspdk"]) == 0
assert main(["evaluate", {str(tmp_path / "m.safetensors")!r}, "--reference", {str(data)!r}, "--no-nspdk"]) == 0
assert main(["sample", {str(points_run)!r}, "--n", "20", "--out", {str(tmp_path / "p.npz")!r}]) == 0
assert main(["evaluate", {str(tmp_path / "p.npz")!r}, "--reference", {str(points_run)!r}]) == 0
print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] in ("lightning", "pytorch_lightning")))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "LOADED []" in done.stdout, done.stdout[-2000:]


def test_sample_files_have_the_permissions_of_config_json(molecule_run, points_run, tmp_path):
    run, _ = molecule_run
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "m")]) == 0
    assert main(["sample", str(points_run), "--n", "8", "--out", str(tmp_path / "p.npz")]) == 0
    assert main(["sample", str(points_run), "--n", "8", "--no-plot", "--out", str(tmp_path / "p.safetensors")]) == 0
    umask = os.umask(0)
    os.umask(umask)
    config_mode = (run / "config.json").stat().st_mode & 0o777
    assert config_mode == 0o666 & ~umask
    for name in ("m.safetensors", "m.smi", "p.npz", "p.safetensors"):
        assert (tmp_path / name).stat().st_mode & 0o777 == config_mode, name
    assert (points_run / "plots" / "p.png").stat().st_mode & 0o777 == config_mode
