"""A package that stands alone: the wheel carries the configs, and ``genlab demo`` runs from a
folder outside the repository with nothing but the wheel's files providing genlab.

Shipped configs are found through :mod:`genlab.paths` (the package ``genlab.configs``, which is
the repository's ``configs/`` folder in an editable install)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from genlab.errors import ConfigError
from genlab.paths import configs_dir, find_config, shipped_config, shipped_configs
from support import REPO


REPO_CONFIGS = sorted(p.relative_to(REPO / "configs").as_posix() for p in (REPO / "configs").glob("*/*.yaml"))
#: what a wheel build needs from the repository (setup.py computes the package list)
BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md", "src", "configs")


def test_the_shipped_configs_are_the_repository_configs():
    assert configs_dir().resolve() == (REPO / "configs").resolve()  # the editable install reads configs/
    assert shipped_configs() == REPO_CONFIGS
    assert shipped_config("qm9/demo.yaml").read_bytes() == (REPO / "configs" / "qm9" / "demo.yaml").read_bytes()
    with pytest.raises(ConfigError, match="no shipped config 'qm9/nope.yaml'; shipped: .*qm9/demo.yaml"):
        shipped_config("qm9/nope.yaml")


def test_a_config_name_falls_back_to_the_shipped_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the repository
    shipped = shipped_config("points/ddpm.yaml")
    assert find_config("points/ddpm.yaml") == shipped
    assert find_config("configs/points/ddpm.yaml") == shipped  # as the README spells it
    (tmp_path / "configs" / "points").mkdir(parents=True)
    (tmp_path / "configs" / "points" / "ddpm.yaml").write_text("mine")
    assert find_config("configs/points/ddpm.yaml") == Path("configs/points/ddpm.yaml")  # a file on disk wins
    for other in ("points/nope.yaml", "ddpm.yaml", "x/configs/points/ddpm.yaml", str(tmp_path / "points/ddpm.yaml")):
        assert find_config(other) == Path(other)  # left for the reader to report


def build_wheel(out: Path) -> Path:
    """``pip wheel`` of a copy of the build inputs (the working tree stays free of build/ and egg-info)."""
    source = out / "source"
    source.mkdir(parents=True)
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out / "dist"), str(source)], check=True, capture_output=True, timeout=600)
    (wheel,) = (out / "dist").glob("genlab-*.whl")
    return wheel


def run_outside(args: list[str], cwd: Path, site: Path, timeout: float) -> subprocess.CompletedProcess:
    """``genlab ARGS`` in ``cwd`` with ``site`` (an installed wheel) first on the path."""
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "genlab.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_the_wheel_alone_runs_the_demo_outside_the_repository(tmp_path):
    wheel = build_wheel(tmp_path / "build")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"genlab/configs/{c}" for c in REPO_CONFIGS} <= names
    sources = {f"genlab/{p.relative_to(REPO / 'src' / 'genlab').as_posix()}"
               for p in (REPO / "src" / "genlab").rglob("*") if p.suffix in (".py", ".json")}
    assert sources <= names, sorted(sources - names)
    data_files = {f"genlab/data/files/{p.name}" for p in (REPO / "src" / "genlab" / "data" / "files").iterdir()}
    assert {"genlab/data/files/omniglot.npz", "genlab/data/files/OMNIGLOT_LICENSE"} <= data_files <= names

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run_outside(["--version"], elsewhere, site, 120)
    assert where.returncode == 0, where.stderr
    probe = subprocess.run([sys.executable, "-c", "import genlab.paths as p; print(p.configs_dir())"], cwd=elsewhere,
                           env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True, text=True, timeout=120)
    assert Path(probe.stdout.strip()) == site / "genlab" / "configs", probe.stderr
    omniglot = subprocess.run([sys.executable, "-c", "from genlab.data import omniglot as o; "
                               "print(o.shipped_file(), o.read_archive().background.shape[0])"], cwd=elsewhere,
                              env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True, text=True, timeout=120)
    assert omniglot.stdout.split() == [str(site / "genlab" / "data" / "files" / "omniglot.npz"), "4840"], omniglot.stderr

    # a shipped config by name, as the README spells it, with no configs/ folder in sight
    train = run_outside(["train", "configs/points/flow_matching.yaml", "--out", "fm", "--quiet",
                         "--set", "data.n_train=256", "--set", "data.n_heldout=64", "--set", "train.max_steps=2",
                         "--set", "train.batch_size=32", "--set", "train.checkpoint_every=2"], elsewhere, site, 600)
    assert train.returncode == 0, train.stderr
    assert json.loads((elsewhere / "fm" / "config.json").read_text())["family"]["name"] == "flow_matching"

    demo = run_outside(["demo", "--out", "D", "--samples", "50", "--set", "data.limit=512",
                        "--set", "train.max_steps=2", "--set", "train.batch_size=32",
                        "--set", "train.checkpoint_every=2", "--set", "train.log_every=1"], elsewhere, site, 1800)
    assert demo.returncode == 0, demo.stderr[-3000:]
    metrics = json.loads((elsewhere / "D" / "metrics.json").read_text())
    assert metrics["n_samples"] == 50
    assert Path(metrics["demo"]["config"]) == site / "genlab" / "configs" / "qm9" / "demo.yaml"
    assert (elsewhere / "D" / "report.html").is_file()
    resolved = json.loads((elsewhere / "D" / "config.json").read_text())
    assert resolved["network"]["name"] == yaml.safe_load(shipped_config("qm9/demo.yaml").read_text())["network"]["name"]
