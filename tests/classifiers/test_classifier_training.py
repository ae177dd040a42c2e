"""A classifier trains through the real trainer: ``genlab train configs/digits/classifier.yaml``
writes a run, ``--resume`` continues it bit-identically on CPU, accuracy is logged for training
and held-out batches, and the reloaded run classifies the held-out digits."""

from __future__ import annotations

import csv

import torch
from safetensors.torch import load_file

from genlab.classifiers.classifier import Classifier
from genlab.cli.main import main
from genlab.sampling.run import Run
from genlab.training.checkpoint import load_tree
from support import CONFIGS

CONFIG = str(CONFIGS / "digits" / "classifier.yaml")
#: small intervals so that a short run checkpoints, logs and validates
SETTINGS = ["train.checkpoint_every=7", "train.log_every=5", "train.val_every=10", "train.val_batches=2",
            "train.accelerator=cpu", "train.lr_schedule=constant"]  # constant: max_steps may grow on resume


def train(out, steps: int, *extra: str) -> None:
    assert main(["train", CONFIG, "--out", str(out), "--quiet", "--set", f"train.max_steps={steps}",
                 *(a for s in (*SETTINGS, *extra) for a in ("--set", s))]) == 0


def metrics(run) -> list[dict[str, str]]:
    with (run / "logs" / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_digits_classifier_trains_resumes_bit_identically_and_logs_accuracy(tmp_path):
    full, half = tmp_path / "full", tmp_path / "half"
    train(full, 30)
    train(half, 15)
    assert main(["train", "--resume", str(half), "--quiet", "--set", "train.max_steps=30"]) == 0
    a, b = load_file(full / "weights.safetensors"), load_file(half / "weights.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert load_tree(half / "checkpoints" / "last")["genlab"]["iteration"] == 30

    rows = metrics(half)
    train_acc = [float(r["train/accuracy"]) for r in rows if r.get("train/accuracy")]
    val_acc = [float(r["val/accuracy"]) for r in rows if r.get("val/accuracy")]
    assert len(train_acc) == 6 and len(val_acc) == 3  # steps 5..30, and 10, 20, 30 (before and after resume)
    assert all(0 <= v <= 1 for v in train_acc + val_acc)
    assert [r["val/accuracy"] for r in metrics(full) if r.get("val/accuracy")] == \
        [r["val/accuracy"] for r in rows if r.get("val/accuracy")]

    run = Run(full)
    assert isinstance(run.family, Classifier)
    heldout = run.bundle.heldout
    batch = run.bundle.collate([heldout[i] for i in range(len(heldout))])
    x, y = run.family.inputs(batch)
    assert x.min() >= 0 and x.max() <= 1  # pixels in the classifier's input range
    accuracy = (run.family.predict(x) == y).float().mean().item()
    assert accuracy > 0.5  # ten classes: chance is 0.1


def test_unlabelled_data_is_a_one_line_error(tmp_path, capsys):
    code = main(["train", CONFIG, "--out", str(tmp_path / "run"), "--quiet", "--set", "data.labels=false",
                 "--set", "train.max_steps=2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "key 'data': a classifier needs labelled data" in err[0], err
