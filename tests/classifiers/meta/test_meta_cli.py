"""``genlab train`` a tiny sinusoid MAML config, ``genlab evaluate`` it: the files, the table, the
JSON, a bit-identical resume, and one-line errors for options that make no sense here."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from safetensors.torch import load_file

from genlab.cli.main import main

CONFIG = {
    "data": {"name": "sinusoid", "k_shot": 5, "q_query": 5, "length": 1000, "heldout_length": 50},
    "family": {"name": "maml", "loss": "mse", "inner_lr": 0.01, "test_steps": 5},
    "network": {"name": "few_shot_mlp", "hidden": [16, 16]},
    "train": {"max_steps": 40, "batch_size": 5, "lr": 3e-3, "ema_decay": None, "grad_clip": None,
              "accelerator": "cpu", "log_every": 10, "checkpoint_every": 20},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("meta")
    config = root / "maml.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    assert main(["train", str(config), "--out", str(root / "run"), "--quiet"]) == 0
    return root


def test_train_then_evaluate_writes_the_table_and_the_json(trained, capsys):
    run = trained / "run"
    resolved = json.loads((run / "config.json").read_text())
    assert resolved["family"]["first_order"] is False and resolved["family"]["vectorise"] is True  # defaults
    capsys.readouterr()
    assert main(["evaluate", str(run), "--n", "20", "--batch-size", "8", "--json", str(trained / "m.json")]) == 0
    out = capsys.readouterr().out
    assert "learner maml (mse)" in out and "MSE" in out
    result = json.loads((run / "meta.json").read_text())
    assert result == json.loads((trained / "m.json").read_text())
    assert [(r["k_shot"], r["steps"]) for r in result["regression"]] == [(5, 0), (5, 1), (5, 10), (10, 0), (10, 1),
                                                                        (10, 10)]
    assert all(r["mse"]["n"] == 20 for r in result["regression"])


def test_resume_continues_bit_identically(trained, tmp_path):
    config = tmp_path / "maml.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "train": {**CONFIG["train"], "max_steps": 20}}))
    assert main(["train", str(config), "--out", str(tmp_path / "half"), "--quiet"]) == 0
    assert main(["train", "--resume", str(tmp_path / "half"), "--set", "train.max_steps=40", "--quiet"]) == 0
    whole, resumed = load_file(str(trained / "run" / "weights.safetensors")), load_file(str(tmp_path / "half" /
                                                                                           "weights.safetensors"))
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)


@pytest.mark.parametrize("options,words", [
    (["--attack", "pgd"], "--attack does not apply"),
    (["--reference", "digits"], "--reference does not apply"),
    (["--n", "0"], "--n: must be at least 1"),
    (["--correct"], "--correct does not apply"),
])
def test_options_that_make_no_sense_are_one_line_errors(trained, capsys, options, words):
    capsys.readouterr()
    assert main(["evaluate", str(trained / "run"), *options]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and words in err
