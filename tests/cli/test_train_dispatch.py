"""``genlab train`` picks the loop a config needs: the trainer, the stream runner or the round loop."""

from __future__ import annotations

import json

import yaml

from genlab.api import _runner
from genlab.cli.main import main
from genlab.training.continual import train_stream
from genlab.training.federated.engine import train_federated
from genlab.training.trainer import train as one_set_train

DATA = {"name": "domain_adaptation", "source": "uci_digits", "targets": ["mnist_inverted"], "limit": 64,
        "limit_heldout": 40}
NETWORK = {"features": {"name": "mcd_features", "variant": "usps"},
           "classifier": {"name": "mcd_classifier", "variant": "usps"}}


def test_each_kind_of_config_gets_its_loop():
    assert _runner({"family": {"name": "classifier"}}) is one_set_train
    assert _runner({"family": {"name": "continual"}, "stream": {"name": "permuted"}}) is train_stream
    assert _runner({"family": {"name": "dualadapt"}}) is train_federated
    assert _runner({"family": {"name": "fedavg_mcd"}}) is train_federated
    assert _runner({"family": {"name": "mcd"}}) is one_set_train
    assert _runner({"family": {"name": "no_such_family"}}) is one_set_train  # its error comes from the build


def test_genlab_train_runs_a_federated_config_in_rounds_and_refuses_to_resume_it(tmp_path, capsys):
    config = {"data": DATA,
              "family": {"name": "fedavg_mcd", "clients": 1, "rounds": 1, "client_steps": 2, "num_k": 1},
              "network": NETWORK, "train": {"max_steps": 2, "batch_size": 16, "seed": 0}}
    path = tmp_path / "fed.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path), "--out", str(tmp_path / "fed"), "--quiet"]) == 0
    rounds = json.loads((tmp_path / "fed" / "logs" / "rounds.json").read_text())["rounds"]
    assert [r["round"] for r in rounds] == [1]
    assert main(["train", "--resume", str(tmp_path / "fed")]) == 2
    assert "cannot be resumed" in capsys.readouterr().err
