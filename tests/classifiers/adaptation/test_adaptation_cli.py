"""End to end on small limits: ``genlab train`` an MCD run and ``genlab evaluate`` it; a DualAdapt run
trained in rounds, loaded and evaluated like any run."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from genlab.cli.main import main
from genlab.sampling.run import Run
from genlab.training.federated.engine import train_federated

DATA = {"name": "domain_adaptation", "source": "uci_digits", "targets": ["mnist_inverted"], "limit": 64,
        "limit_heldout": 40}
NETWORK = {"features": {"name": "mcd_features", "variant": "usps"},
           "classifier": {"name": "mcd_classifier", "variant": "usps"}}
TRAIN = {"max_steps": 3, "batch_size": 16, "lr": 1e-3, "ema_decay": None, "grad_clip": None, "log_every": 1,
         "checkpoint_every": 3, "accelerator": "cpu"}


@pytest.fixture(scope="module")
def mcd_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("adaptation")
    config = root / "mcd.yaml"
    config.write_text(yaml.safe_dump({"data": DATA, "family": {"name": "mcd", "num_k": 2}, "network": NETWORK,
                                      "train": TRAIN}))
    assert main(["train", str(config), "--out", str(root / "mcd"), "--quiet"]) == 0
    return root / "mcd"


def test_mcd_trains_with_one_loss_stepping_both_optimizers_and_evaluates(mcd_run, tmp_path, capsys):
    header = (mcd_run / "logs" / "metrics.csv").read_text().splitlines()[0]
    assert {"train/loss_0_1", "train/loss_1", "train/loss_0", "train/discrepancy_c"} <= set(header.split(","))
    capsys.readouterr()
    assert main(["evaluate", str(mcd_run), "--json", str(tmp_path / "out.json")]) == 0
    printed = capsys.readouterr().out
    result = json.loads((tmp_path / "out.json").read_text())
    assert result == json.loads((mcd_run / "adaptation.json").read_text())
    assert [r["target"] for r in result["targets"]] == ["mnist_inverted"] and result["targets"][0]["n_images"] == 40
    assert result["mean_accuracy"] == result["targets"][0]["accuracy"] and "mnist_inverted" in printed
    run = Run(mcd_run)  # the same number from the loaded model, directly
    x, y = zip(*[run.bundle.heldout.splits[0][i] for i in range(40)])
    inputs = run.family.inputs(torch.stack(x))
    correct = (run.family.predict(inputs, torch.zeros(40, dtype=torch.long)) == torch.stack(y)).float().mean()
    assert abs(float(correct) - result["mean_accuracy"]) < 1e-9


def test_options_that_mean_nothing_for_an_adaptation_run_are_one_line_errors(mcd_run, capsys):
    assert main(["evaluate", str(mcd_run), "--attack", "pgd"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--attack" in err
    assert main(["evaluate", str(mcd_run), "--n", "0"]) == 2


def test_a_federated_run_has_a_run_directory_that_loads_and_evaluates(tmp_path, capsys):
    config = {"data": DATA,
              "family": {"name": "dualadapt", "clients": 1, "rounds": 2, "client_steps": 2, "server_steps": 2,
                         "num_k": 1, "gmm_components": 2, "gmm_dim": 4, "gmm_images": 32},
              "network": NETWORK, "train": {**TRAIN, "max_steps": 4}}
    trained = train_federated(config, tmp_path / "dual", progress=False)
    rounds = json.loads((tmp_path / "dual" / "logs" / "rounds.json").read_text())["rounds"]
    assert [r["round"] for r in rounds] == [1, 2] and all(r["bytes"]["total"] > 0 for r in rounds)
    assert rounds[0]["bytes"]["total"] == rounds[0]["bytes"]["broadcast"] + rounds[0]["bytes"]["upload"]
    assert main(["evaluate", str(tmp_path / "dual"), "--json", str(tmp_path / "d.json")]) == 0
    result = json.loads((tmp_path / "d.json").read_text())
    # the loaded run predicts as the trained model did after the last round
    assert {r["target"]: r["accuracy"] for r in result["targets"]} == rounds[-1]["accuracy"]
    assert result["rounds"]["bytes_total"] == sum(r["bytes"]["total"] for r in rounds)
    assert trained.config["family"]["name"] == "dualadapt"
    with pytest.raises(Exception, match="already holds a run"):
        train_federated(config, tmp_path / "dual", progress=False)


def test_the_federated_loop_refuses_a_batch_method_and_a_wrong_number_of_clients(tmp_path, capsys):
    from genlab.errors import ConfigError
    from genlab.training.federated.engine import main as federated_main

    config = tmp_path / "so.yaml"
    config.write_text(yaml.safe_dump({"data": DATA, "family": {"name": "source_only"}, "network": NETWORK,
                                      "train": TRAIN}))
    assert federated_main([str(config), "--out", str(tmp_path / "so")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "family.name" in err and str(config) in err
    wrong = {"data": DATA, "family": {"name": "fedavg_mcd", "clients": 2}, "network": NETWORK, "train": TRAIN}
    with pytest.raises(ConfigError, match="family.clients"):
        train_federated(wrong, tmp_path / "wrong", progress=False)
