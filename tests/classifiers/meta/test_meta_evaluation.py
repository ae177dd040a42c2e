"""The meta-learning evaluator on networks whose adapted predictions are known in closed form.

With every weight zero, the sinusoid MLP predicts its head bias b (the ReLU features are 0 and
their gradients too), so gradient descent on the support MSE moves b alone:
b_n = ȳ_s (1 − (1 − 2α)^n). A zero classifier gives equal logits, arg-max class 0: accuracy
1/N on episodes, error 19/20 in each Omniglot one-shot run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch

from genlab.build import build_family
from genlab.data.registry import DATASETS
from genlab.evaluation.meta import MetaEvaluator, MetaRequest, estimate
from genlab.evaluation.registry import evaluator_for_run
from genlab.sampling.run import Run

ALPHA = 0.05


def zero_run(config: dict, root: Path) -> Run:
    family, bundle = build_family(config)
    with torch.no_grad():
        for p in family.parameters():
            p.zero_()
    return Run.from_trained(root, config, family, bundle)


def test_estimate_is_the_mean_and_the_students_t_interval():
    e = estimate(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert e.mean == 2.5 and e.n == 4
    assert e.ci95 == pytest.approx(scipy.stats.t.ppf(0.975, 3) * np.std([1, 2, 3, 4], ddof=1) / 2, rel=1e-12)


def test_sinusoid_mse_after_0_1_and_10_steps_is_the_closed_form(tmp_path):
    config = {"data": {"name": "sinusoid", "k_shot": 10, "q_query": 10, "length": 10},
              "family": {"name": "maml", "loss": "mse", "inner_lr": ALPHA}, "network": {"name": "few_shot_mlp"}}
    run = zero_run(config, tmp_path)
    assert isinstance(evaluator_for_run(run), MetaEvaluator)
    request = MetaRequest(n_tasks=30, batch_size=7, shots=(5,), steps=(1, 10), query_points=20)
    result = MetaEvaluator().evaluate(run, request)
    tasks = DATASETS.build({**config["data"], "k_shot": 5, "q_query": 20, "heldout_length": 30}).heldout
    rows = {row["steps"]: row["mse"] for row in result["regression"]}
    assert sorted(rows) == [0, 1, 10]
    for steps, row in rows.items():
        errors = []
        for i in range(30):
            task = tasks[i]
            b = task.support_y.double().mean() * (1 - (1 - 2 * ALPHA) ** steps)
            errors.append(float(((b - task.query_y.double()) ** 2).mean()))
        assert row["n"] == 30
        assert row["mean"] == pytest.approx(np.mean(errors), rel=1e-5)
        assert row["ci95"] == pytest.approx(estimate(torch.tensor(errors)).ci95, rel=1e-4)
    assert "K" in MetaEvaluator().format(result)


def test_episode_accuracy_of_a_zero_classifier_is_one_over_n_way(tmp_path):
    config = {"data": {"name": "mnist_episodes", "n_way": 4, "train_classes": [0, 1, 2, 3],
                       "test_classes": [4, 5, 6, 7], "k_shot": 1, "q_query": 3, "per_class": 20},
              "family": {"name": "anil", "test_steps": 0},
              "network": {"name": "conv4", "classes": 4, "channels": 4}}
    result = MetaEvaluator().evaluate(zero_run(config, tmp_path), MetaRequest(n_tasks=12, batch_size=5))
    e = result["episodes"]
    assert (e["n_way"], e["k_shot"], e["q_query"], e["steps"]) == (4, 1, 3, 0)
    assert e["accuracy"]["mean"] == 0.25 and e["accuracy"]["ci95"] == 0.0 and e["accuracy"]["n"] == 12
    assert "one_shot_runs" not in result


def test_omniglot_runs_of_a_zero_classifier_miss_19_of_20_items(tmp_path):
    config = {"data": {"name": "omniglot", "n_way": 20, "train_tasks": 10, "heldout_tasks": 3},
              "family": {"name": "maml", "test_steps": 0}, "network": {"name": "conv4", "classes": 20, "channels": 4}}
    result = MetaEvaluator().evaluate(zero_run(config, tmp_path), MetaRequest(n_tasks=3))
    runs = result["one_shot_runs"]
    assert runs["per_run"] == [19 / 20] * 20 and runs["error"]["mean"] == pytest.approx(0.95)
    assert "one-shot runs: error 95.00 %" in MetaEvaluator().format(result)
    five_way = {**config, "data": {**config["data"], "n_way": 5}, "network": {**config["network"], "classes": 5}}
    skipped = MetaEvaluator().evaluate(zero_run(five_way, tmp_path), MetaRequest(n_tasks=3))["one_shot_runs"]
    assert "20-way" in skipped["skipped"]
