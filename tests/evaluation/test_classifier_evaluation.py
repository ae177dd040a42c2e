"""Evaluation of classifier runs: found from what the run is; known answers (FGSM against a linear
model, ε = 0, a transfer from the model itself); the backdoor of a poisoned run; universal
perturbations fitted on training images; ``genlab evaluate RUN --attack`` and ``genlab report``;
``genlab bench mnist-robust``'s rows on a small stand-in."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml
from torch import nn

from genlab.classifiers.classifier import Classifier
from genlab.cli.main import main
from genlab.data.bundle import DataBundle
from genlab.data.labelled import LabelledItems, collate_labelled
from genlab.data.registry import DATASETS
from genlab.evaluation.bench import BenchSettings, bench
from genlab.evaluation.classifier import ClassifierEvaluator, RobustnessRequest, expand_radii
from genlab.evaluation.registry import evaluator_for_dataset, evaluator_for_run
from genlab.modalities.images import ImagesModality
from genlab.sampling.run import Run
from genlab.sampling.run_dir import RunDir
from genlab.training.trainer import train

TRAIN = {"batch_size": 64, "lr": 3e-3, "ema_decay": None, "grad_clip": None, "accelerator": "cpu",
         "checkpoint_every": 1000, "log_every": 50}


def digits_classifier(objective="standard", steps: int = 150) -> dict:
    return {"data": {"name": "digits", "labels": True}, "family": {"name": "classifier", "objective": objective},
            "network": {"name": "small_cnn"}, "train": {**TRAIN, "max_steps": steps}}


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "digits"
    train(digits_classifier(), out, progress=False)
    return out


def linear_run(tmp_path: Path, images: torch.Tensor, labels: torch.Tensor) -> SimpleNamespace:
    """A run-like holder of a two-class linear classifier of 1×2×2 images: logit_1 − logit_0 = w·x + b."""
    network = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with torch.no_grad():
        network[1].weight.copy_(torch.tensor([[0.0, 0.0, 0.0, 0.0], [1.0, -2.0, 0.5, 1.5]]))
        network[1].bias.copy_(torch.tensor([0.0, -0.5]))
    modality = ImagesModality(channels=1, height=2, width=2)
    items = LabelledItems(images * 2 - 1, labels)  # data space [-1, 1]
    bundle = DataBundle(modality, items, items, collate_labelled)
    return SimpleNamespace(family=Classifier(modality, network).eval(), bundle=bundle, modality=modality,
                           config={"data": {"name": "test"}}, dir=RunDir(tmp_path))


def test_the_evaluator_is_found_from_what_the_run_is(classifier_run, tmp_path):
    assert isinstance(evaluator_for_run(Run(classifier_run)), ClassifierEvaluator)
    points = {"data": {"name": "points", "dataset": "moons", "n_train": 256, "n_heldout": 64},
              "family": {"name": "flow_matching", "ode_method": "euler", "sample_steps": 2},
              "process": {"name": "flow_matching"}, "network": {"name": "mlp", "hidden": 8, "depth": 1},
              "train": {**TRAIN, "max_steps": 2}}
    generative = train(points, tmp_path / "points", progress=False)
    assert type(evaluator_for_run(generative)).__name__ == "PointsEvaluator"
    assert isinstance(evaluator_for_dataset("mnist-robust"), ClassifierEvaluator)


def test_fgsm_against_a_linear_model_has_a_known_answer(tmp_path):
    """FGSM moves the margin w·x + b by ε‖w‖₁ towards the other class (no pixel reaches the box's
    edge): an image stays correct exactly when its margin exceeds ε‖w‖₁ = 5ε."""
    g = torch.Generator().manual_seed(0)
    images = 0.3 + 0.4 * torch.rand(400, 1, 2, 2, generator=g)  # inside [0.3, 0.7]: ε ≤ 0.3 never clips
    w, b = torch.tensor([1.0, -2.0, 0.5, 1.5]), -0.5
    margin = images.flatten(1) @ w + b  # (400,)
    labels = ((margin > 0) & (torch.rand(400, generator=g) < 0.8)).long()  # most right, some wrong
    run = linear_run(tmp_path, images, labels)
    result, examples = ClassifierEvaluator().evaluate(run, RobustnessRequest(
        attacks=({"name": "fgsm", "eps": [0.0, 0.05, 0.1]},), batch_size=64))
    signed = torch.where(labels == 1, margin, -margin)  # > 0: classified correctly
    assert result["clean_accuracy"] == pytest.approx(float((signed > 0).float().mean()))
    for entry, eps in zip(result["attacks"], (0.0, 0.05, 0.1)):
        assert entry["radius"] == eps and entry["kind"] == "white-box"
        assert entry["robust_accuracy"] == pytest.approx(float((signed > 5 * eps).float().mean()))
        correct = signed > 0
        assert entry["success_rate"] == pytest.approx(float((signed[correct] <= 5 * eps).float().mean()))
        if eps > 0:
            assert entry["mean_linf"] == pytest.approx(eps) and entry["mean_l2"] == pytest.approx(2 * eps)
    assert result["attacks"][0]["fooling_rate"] == 0 and result["attacks"][0]["mean_l2"] is None
    assert examples["adversarial"].shape == examples["clean"].shape == (8, 1, 2, 2)


def test_robust_accuracy_on_a_trained_run_is_repeatable_and_bounded(classifier_run):
    run = Run(classifier_run)
    request = RobustnessRequest(attacks=({"name": "pgd", "eps": [0.0, 0.1, 0.3], "steps": 5},), n=100, seed=3)
    first, _ = ClassifierEvaluator().evaluate(run, request)
    again, _ = ClassifierEvaluator().evaluate(run, request)
    assert [a["robust_accuracy"] for a in first["attacks"]] == [a["robust_accuracy"] for a in again["attacks"]]
    zero, small, large = first["attacks"]
    assert zero["robust_accuracy"] == first["clean_accuracy"] and zero["success_rate"] == 0
    assert first["clean_accuracy"] > 0.8 and first["n_images"] == 100
    assert large["robust_accuracy"] <= small["robust_accuracy"] <= first["clean_accuracy"]
    assert large["settings"] == {"name": "pgd", "eps": 0.3, "alpha": None, "steps": 5, "norm": "linf",
                                 "random_start": True, "restarts": 1}


def test_a_transfer_from_the_model_itself_is_the_white_box_attack(classifier_run):
    run = Run(classifier_run)
    request = RobustnessRequest(attacks=({"name": "pgd", "eps": 0.2, "steps": 5},
                                         {"name": "transfer", "attack": {"name": "pgd", "eps": 0.2, "steps": 5}}),
                                n=60)
    result, _ = ClassifierEvaluator().evaluate(run, request, surrogate=Run(classifier_run))
    white, transfer = result["attacks"]
    assert transfer["kind"] == "transfer" and transfer["radius"] == 0.2
    for key in ("robust_accuracy", "success_rate", "fooling_rate", "mean_l2"):
        assert transfer[key] == white[key], key


def test_universal_perturbations_are_fitted_on_training_images(classifier_run):
    run = Run(classifier_run)
    request = RobustnessRequest(attacks=({"name": "universal", "xi": 0.3, "max_passes": 1},), n=100, fit_images=50)
    result, _ = ClassifierEvaluator().evaluate(run, request)
    (entry,) = result["attacks"]
    assert entry["extra"]["fit_images"] == 50 and 0 <= entry["extra"]["fit_fooling_rate"] <= 1
    assert entry["mean_linf"] is None or entry["mean_linf"] <= 0.3 + 1e-6


def test_a_poisoned_run_reports_its_backdoor(tmp_path):
    config = digits_classifier(steps=200)
    config["data"] = {"name": "poisoned", "source": {"name": "digits", "labels": True}, "target": 3,
                      "fraction": 0.1}
    run = train(config, tmp_path / "poisoned", progress=False)
    result, _ = ClassifierEvaluator().evaluate(Run(tmp_path / "poisoned"), RobustnessRequest())
    heldout = DATASETS.build({"name": "digits", "labels": True}).heldout
    assert result["backdoor"]["n_images"] == sum(int(heldout[i][1]) != 3 for i in range(len(heldout)))
    assert result["backdoor"]["target"] == 3 and result["backdoor"]["trigger_success"] > 0.8
    assert result["clean_accuracy"] > 0.8 and run.bundle.info["poisoned"] == round(0.1 * 1500)


def test_radii_lists_expand():
    assert expand_radii({"name": "pgd", "eps": [0.1, 0.2], "steps": 3}) == [
        {"name": "pgd", "eps": 0.1, "steps": 3}, {"name": "pgd", "eps": 0.2, "steps": 3}]
    assert [s["attack"]["eps"] for s in expand_radii({"name": "transfer", "attack": {"name": "fgsm", "eps": [0.1, 0.3]}})] \
        == [0.1, 0.3]


def test_genlab_evaluate_run_and_report(classifier_run, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["evaluate", str(classifier_run), "--attack", "pgd", "--eps", "0.1,0.3", "--steps", "5",
                 "--n", "40", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "clean accuracy" in printed and "pgd eps=0.3 steps=5" in printed
    result = json.loads(out.read_text())
    assert result == json.loads((classifier_run / "robustness.json").read_text())
    assert [a["radius"] for a in result["attacks"]] == [0.1, 0.3]
    config = tmp_path / "robustness.yaml"
    config.write_text(yaml.safe_dump({"n": 30, "attacks": [{"name": "fgsm", "eps": [0.1]},
                                                            {"name": "pgd", "eps": 0.2, "steps": 3}]}))
    assert main(["evaluate", str(classifier_run), "--attacks", str(config)]) == 0
    result = json.loads((classifier_run / "robustness.json").read_text())
    assert result["n_images"] == 30 and [a["attack"] for a in result["attacks"]] == ["fgsm", "pgd"]
    assert main(["report", str(classifier_run)]) == 0
    page = (classifier_run / "report.html").read_text()
    assert page.index("<h2>Robustness</h2>") < page.index("<h2>Resolved config</h2>")
    assert 'alt="robust accuracy against the attack radius"' in page
    assert 'alt="clean, adversarial and perturbation images"' in page


def test_bench_mnist_robust_rows(tmp_path):
    """The mnist-robust suite on a stand-in configs folder (digits classifiers named as the suite's)."""
    folder = tmp_path / "configs" / "mnist"
    folder.mkdir(parents=True)
    for name, objective in (("classifier", "standard"), ("fast_training", {"name": "fast", "eps": 0.3}),
                            ("unrelated", "standard")):
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(digits_classifier(objective, steps=5)))
    rows = bench(BenchSettings("mnist-robust", steps=20), tmp_path / "bench", configs_root=tmp_path / "configs")
    assert sorted(r.family for r in rows) == ["classifier", "fast_training"]
    for row in rows:
        assert row.train_steps == 20 and row.nfe == 0
        assert set(row.metrics) == {"clean_accuracy", "eval_seconds", "robust_pgd@0.1", "robust_pgd@0.2",
                                    "robust_pgd@0.3"}
    table = (tmp_path / "bench" / "results.md").read_text()
    assert "| family | seeds | clean_accuracy | robust_pgd@0.1 |" in table and "fast_training" in table
