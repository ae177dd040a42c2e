"""``genlab demo`` end to end on a tiny budget: QM9 -> train -> sample -> evaluate -> report."""

import json

from genlab.cli.main import main
from genlab.metrics.evaluate import KEYS


def test_tiny_demo_writes_metrics_and_report(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--samples", "40", "--set", "train.max_steps=3",
            "--set", "train.batch_size=32", "--set", "train.checkpoint_every=3", "--set", "train.log_every=1"]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(KEYS) <= set(metrics) and metrics["n_samples"] == 40
    assert metrics["protocol"]["input"] == "graphs" and metrics["protocol"]["reference"]["name"] == "qm9/test"
    assert metrics["demo"]["nfe"] == 30 and metrics["demo"]["seconds"]["total"] > 0
    page = (out / "report.html").read_text()
    assert "Metrics" in page and "data:image/png;base64," in page
    assert (out / "config.json").is_file() and (out / "weights.safetensors").is_file()

    capsys.readouterr()
    assert main(args) == 2  # a second demo into the same folder needs --overwrite
    assert "already holds a run" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["demo", "--out", str(tmp_path), "--overwrite", "--set", "train.max_steps=1"]) == 2
    assert "only a folder that holds a genlab run" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"
