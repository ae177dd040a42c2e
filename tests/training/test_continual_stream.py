"""The stream runner on small digits streams: fine-tuning forgets on a permuted stream (and does
not when every task is the same), method state survives saving and loading, generative replay
trains a genlab generator, joint training and bad configs."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from genlab.api import load, train
from genlab.classifiers.continual.experience import Stream
from genlab.classifiers.continual.learner import ContinualLearner
from genlab.classifiers.continual.metrics import MATRIX_FILE, continual_metrics
from genlab.errors import ConfigError, GenlabError
from genlab.evaluation.continual import ContinualEvaluator
from genlab.training import continual as runner

TRAIN = {"max_steps": 120, "batch_size": 64, "lr": 0.1, "ema_decay": None, "grad_clip": None, "log_every": 40,
         "checkpoint_every": 1000, "accelerator": "cpu"}


def config(method="finetune", stream=None, network=None, steps=120, **family):
    return {
        "data": {"name": "digits", "labels": True},
        "stream": stream or {"name": "permuted", "n_tasks": 3, "seed": 0},
        "family": {"name": "continual", "method": method, "momentum": 0.5, **family},
        "network": network or {"name": "mlp_classifier", "hidden": 64, "depth": 1},
        "train": {**TRAIN, "max_steps": steps},
    }


def metrics_of(run):
    return continual_metrics(json.loads((run.dir.root / MATRIX_FILE).read_text())["rows"])


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    return train(config(), tmp_path_factory.mktemp("stream") / "finetune", progress=False)


def test_fine_tuning_a_permuted_stream_forgets(finetuned):
    m = metrics_of(finetuned)
    assert all(m.matrix[j][j] > 0.8 for j in range(3))  # each task learned when it is trained
    assert m.bwt < -0.3  # then forgotten: the other permutations overwrite it
    assert all(b < 0.3 for b in m.baseline)  # chance before training


def test_the_forgetting_comes_from_the_permutations(tmp_path, monkeypatch):
    """The control: a stream whose three tasks are the same permutation forgets nothing."""
    build = runner.build_stream

    def same_task_three_times(config, bundle):
        first = build(config, bundle).experiences[0]
        return Stream(tuple(type(first)(i, first.train, first.test, first.classes, "same") for i in range(3)),
                      "domain")

    monkeypatch.setattr(runner, "build_stream", same_task_three_times)
    m = metrics_of(train(config(), tmp_path / "same", progress=False))
    assert m.bwt > -0.05 and m.acc > 0.85


@pytest.mark.parametrize("method, state", [
    ({"name": "ewc", "lam": 10.0, "fisher_samples": 200}, "precision"),
    ({"name": "gpm", "threshold": 0.9, "samples": 100}, "rank_0"),
    ({"name": "coreset", "memory": 40, "replay_batch_size": 16}, "count"),
])
def test_method_state_survives_save_and_load(tmp_path, method, state):
    trained = train(config(method, {"name": "permuted", "n_tasks": 2, "seed": 1}, steps=60), tmp_path / "run",
                    progress=False)
    loaded = load(tmp_path / "run")
    assert isinstance(loaded.family, ContinualLearner) and type(loaded.family.method) is type(trained.family.method)
    saved, back = trained.family.state_dict(), loaded.family.state_dict()
    assert saved.keys() == back.keys() and all(torch.equal(saved[k], back[k]) for k in saved)
    assert any(k.startswith(f"method.{state}") and back[k].abs().sum() > 0 for k in back)  # not the initial zeros
    result = ContinualEvaluator().evaluate(loaded, plots=False)
    assert result.max_rescore_difference == 0.0 and result.rescored == metrics_of(trained).final_accuracies
    assert loaded.config["family"]["method"]["name"] == method["name"]


def test_generative_replay_trains_a_genlab_generator_and_labels_its_samples(tmp_path):
    generator = {"family": {"name": "vae", "likelihood": "gaussian"},
                 "network": {"encoder": {"name": "mlp_encoder", "hidden": 32},
                             "decoder": {"name": "mlp_decoder", "latent_dim": 4, "hidden": 32, "n_params": 2}},
                 "train": {"batch_size": 64, "lr": 1e-3, "ema_decay": None, "log_every": 10}}
    method = {"name": "generative_replay", "generator": generator, "generator_steps": 30, "replay_batch_size": 16,
              "generator_replay": 100}
    split = {"name": "split", "groups": [[0, 1, 2], [3, 4, 5], [6, 7]], "scenario": "class"}
    run = train(config(method, split, steps=40), tmp_path / "dgr", progress=False)
    gen = load(tmp_path / "dgr" / "generator")  # a genlab run directory of its own
    assert gen.sample(5, seed=0).samples.shape == (5, 1, 8, 8)
    assert json.loads((tmp_path / "dgr" / "generator" / "config.json").read_text())["train"]["max_steps"] == 30
    replay = run.family.method
    assert replay.source is not None and replay.source.classes == tuple(range(6))  # after the 2nd of 3
    x, y = replay.labelled_samples(run.family, 50)
    assert x.shape == (50, 1, 8, 8) and 0 <= x.min() and x.max() <= 1  # the classifier's input view
    assert set(y.tolist()) <= set(range(6))  # labels among the classes seen before the last experience
    with torch.no_grad():
        expected = replay.source.solver(x)[:, :6].argmax(1)
    assert torch.equal(y, expected)


def test_joint_training_is_an_upper_bound_on_fine_tuning(tmp_path, finetuned):
    joint = metrics_of(train(config("joint"), tmp_path / "joint", progress=False))
    assert joint.acc > metrics_of(finetuned).acc + 0.1 and joint.bwt > -0.1


def test_a_stream_config_is_checked_before_training(tmp_path):
    with pytest.raises(ConfigError) as info:
        train(config({"name": "ewc", "lamda": 1.0}), tmp_path / "bad", progress=False)
    assert info.value.key == "family.method.lamda"
    with pytest.raises(ConfigError) as info:
        bad = config({"name": "generative_replay", "generator": {"family": {"name": "vae"},
                                                                 "network": {"name": "nope"}}})
        train(bad, tmp_path / "bad2", progress=False)
    assert info.value.key == "family.method.generator.network.name"
    with pytest.raises(ConfigError) as info:
        train({**config(), "family": {"name": "classifier"}}, tmp_path / "bad3", progress=False)
    assert info.value.key == "family.name"
    from genlab.build import build_family

    with pytest.raises(ConfigError, match="experience by experience"):
        build_family(config())
    with pytest.raises(GenlabError, match="cannot be resumed"):
        from genlab.api import resume

        (tmp_path / "r").mkdir()
        (tmp_path / "r" / "config.json").write_text(json.dumps(copy.deepcopy(config())))
        resume(tmp_path / "r")
