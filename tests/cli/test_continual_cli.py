"""``genlab train`` on a stream config and ``genlab evaluate`` of the run, through
``genlab.cli.main.main``: the accuracy matrix, its metrics and figures appear; bad input is one line."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from genlab.cli.main import main

CONFIG = {
    "data": {"name": "digits", "labels": True},
    "stream": {"name": "split", "classes_per_task": 5, "scenario": "task"},
    "family": {"name": "continual", "method": {"name": "ewc", "lam": 10.0, "fisher_samples": 100}, "momentum": 0.5},
    "network": {"name": "mlp_classifier", "hidden": 32, "depth": 1},
    "train": {"max_steps": 40, "batch_size": 32, "lr": 0.1, "ema_decay": None, "grad_clip": None, "log_every": 20,
              "checkpoint_every": 1000, "accelerator": "cpu"},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("continual-cli")
    (root / "split.yaml").write_text(yaml.safe_dump(CONFIG))
    assert main(["train", str(root / "split.yaml"), "--out", str(root / "run"), "--quiet"]) == 0
    return root


def test_train_then_evaluate_writes_the_matrix_metrics_and_figures(trained, capsys):
    run = trained / "run"
    config = json.loads((run / "config.json").read_text())
    assert config["stream"] == {"name": "split", "classes_per_task": 5, "groups": None, "scenario": "task"}
    assert config["family"]["method"] == {"name": "ewc", "lam": 10.0, "fisher_samples": 100,
                                          "fisher_labels": "empirical"}  # defaults written out
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json", str(trained / "out.json")]) == 0
    printed = capsys.readouterr().out
    assert "2 experiences (task-incremental)" in printed and "ACC" in printed and "BWT" in printed
    result = json.loads((run / "continual.json").read_text())
    assert result == json.loads((trained / "out.json").read_text())
    matrix = json.loads((run / "accuracy_matrix.json").read_text())["rows"]
    assert result["metrics"]["matrix"] == matrix[1:] and result["metrics"]["baseline"] == matrix[0]
    assert result["metrics"]["acc"] == pytest.approx(sum(matrix[-1]) / 2)
    assert result["max_rescore_difference"] == 0.0 and result["scenario"] == "task"
    assert matrix[1][0] > 0.9  # five digits told apart within their head after 40 steps
    for name in ("accuracy_matrix.png", "accuracy_over_stream.png"):
        assert (run / "plots" / name).stat().st_size > 5000
    with (run / "logs" / "metrics.csv").open() as f:  # both experiences' curves, steps over the stream
        logged = [(int(r["experience"]), int(r["step"])) for r in csv.DictReader(f)]
    assert logged == [(0, 19), (0, 39), (1, 59), (1, 79)]


def test_bad_input_is_one_line(trained, capsys):
    bad = trained / "bad.yaml"
    bad.write_text(yaml.safe_dump({**CONFIG, "stream": {"name": "split", "groups": [[0, 1], [1, 2]]}}))
    capsys.readouterr()
    assert main(["train", str(bad), "--out", str(trained / "bad-run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "stream.groups" in err and "disjoint" in err and str(bad) in err
    assert main(["evaluate", str(trained / "run"), "--attack", "pgd"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--attack" in err
    assert main(["train", "--resume", str(trained / "run")]) == 2
    assert "cannot be resumed" in capsys.readouterr().err
