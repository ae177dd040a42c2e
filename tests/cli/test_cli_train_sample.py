"""``genlab train`` and ``genlab sample`` through ``genlab.cli.main.main``: the files appear."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from safetensors import safe_open

from genlab.cli.main import main
from genlab.evaluation.registry import evaluator
from support import points_flow_config

CONFIG = points_flow_config(n_train=1024, n_heldout=256, hidden=32, sample_steps=8, max_steps=500, batch_size=64,
                            checkpoint_every=5, log_every=4)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    config = root / "fm.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    run = root / "run"
    assert main(["train", str(config), "--out", str(run), "--set", "train.max_steps=8", "--quiet"]) == 0
    return run


def test_train_writes_the_run_directory(trained):
    for name in ("config.json", "weights.safetensors", "checkpoints/last.json", "logs/metrics.csv"):
        assert (trained / name).is_file(), name
    config = json.loads((trained / "config.json").read_text())
    assert config["train"]["max_steps"] == 8 and config["train"]["ema_decay"] == 0.999  # override + default


def test_sample_writes_npz_safetensors_and_a_plot(trained, tmp_path, capsys):
    assert main(["sample", str(trained), "--n", "50", "--seed", "1", "--out", str(tmp_path / "s.npz")]) == 0
    data = np.load(tmp_path / "s.npz")
    assert data["samples"].shape == (50, 2) and int(data["nfe"]) > 0
    assert (trained / "plots" / "s.png").stat().st_size > 1000
    assert "network evaluations" in capsys.readouterr().out

    assert main(["sample", str(trained), "--n", "50", "--seed", "1", "--no-plot",
                 "--out", str(tmp_path / "s.safetensors")]) == 0
    with safe_open(str(tmp_path / "s.safetensors"), framework="pt") as f:
        assert int(f.metadata()["nfe"]) == int(data["nfe"])
        assert np.array_equal(f.get_tensor("samples").numpy(), data["samples"])  # same seed, same samples


def test_sampling_in_batches_is_deterministic_and_one_batch_is_the_family_call(trained):
    from genlab.sampling.run import Run

    run = Run(trained)
    batched = run.sample(50, seed=3, batch_size=16)  # batches of 16, 16, 16, 2 from one stream
    assert batched.samples.shape == (50, 2)
    assert torch.equal(batched.samples, run.sample(50, seed=3, batch_size=16).samples)
    with torch.random.fork_rng():
        torch.manual_seed(3)
        direct = run.family.sample(50, generator=torch.Generator().manual_seed(3))
    assert torch.equal(run.sample(50, seed=3, batch_size=50).samples, direct.samples)
    with pytest.raises(ValueError, match="batch_size"):
        run.sample(5, batch_size=0)


def test_resume_continues_to_the_new_max_steps(trained):
    assert main(["train", "--resume", str(trained), "--set", "train.max_steps=12", "--quiet"]) == 0
    assert json.loads((trained / "config.json").read_text())["train"]["max_steps"] == 12
    state = json.loads((trained / "checkpoints/last.json").read_text())
    assert state["tree"]["genlab"]["iteration"] == 12


def test_user_errors_are_one_line_naming_file_and_key(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "train": {"max_step": 3}}))
    assert main(["train", str(config), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(config) in err and "train.max_step" in err
    assert main(["sample", str(tmp_path / "nothing"), "--n", "3"]) == 2
    assert "not a genlab run" in capsys.readouterr().err


def test_image_samples_get_a_grid(tmp_path):
    images = torch.rand(10, 1, 8, 8) * 2 - 1  # (n, C, H, W) in [-1, 1]
    path = evaluator("images").plot(images, tmp_path / "grid.png")
    assert path.stat().st_size > 500
    assert evaluator("molecules").plot(images, tmp_path / "none.png") is None  # no figure for molecules
