"""Every shipped continual config builds: its stream keys, its learner and method (and a generative
replay generator), its train section; the digits streams are cut for real."""

from __future__ import annotations

import pytest

from genlab.build import build_family_from_modality, build_stream
from genlab.classifiers.continual.learner import ContinualLearner
from genlab.classifiers.continual.streams import STREAMS
from genlab.config import load_config, typed_kwargs
from genlab.data.registry import DATASETS
from genlab.modalities.images import ImagesModality
from genlab.registry import check_kwargs
from genlab.training.config import TrainConfig
from genlab.training.continual import GeneratorRuns
from support import CONFIGS

PATHS = sorted((CONFIGS / "continual").glob("*.yaml"))
SIZES = {"mnist": (28, 256), "digits": (8, 17)}


def test_there_is_a_config_for_every_method_and_stream():
    names = {p.stem for p in PATHS}
    for method in ("finetune", "l2", "ewc", "online_ewc", "gpm", "sparse_gpm", "ogd", "coreset", "generative_replay",
                   "joint"):
        assert f"permuted_mnist_{method}" in names
    assert {"split_mnist_task", "split_mnist_class", "rotated_mnist", "digits_permuted", "digits_split_task",
            "digits_split_class", "digits_rotated"} <= names


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_shipped_continual_config_builds(path, tmp_path):
    config = load_config(path)
    assert path.read_text().startswith("# ")  # a header comment
    size, levels = SIZES[config["data"]["name"]]
    modality = ImagesModality(channels=1, height=size, width=size, levels=levels)
    learner = build_family_from_modality(config, modality)
    assert isinstance(learner, ContinualLearner)
    stream = {k: v for k, v in config["stream"].items() if k != "name"}
    check_kwargs(STREAMS.get(config["stream"]["name"]), stream, section="stream")
    typed_kwargs(STREAMS.get(config["stream"]["name"]), stream, section="stream")
    TrainConfig.from_dict(config["train"])
    if config["data"]["name"] == "digits":
        assert len(build_stream(config, DATASETS.build(config["data"]))) >= 4
    generator = config["family"]["method"].get("generator") if isinstance(config["family"]["method"], dict) else None
    if generator is not None:
        GeneratorRuns(tmp_path, config["data"], modality, 0, False).check(generator)
