"""Strict configs: unknown keys, wrong types and YAML syntax errors name the key or the line."""

from __future__ import annotations

import pytest

from genlab.api import read_config
from genlab.config import apply_overrides, load_config
from genlab.errors import ConfigError
from genlab.registry import Registry
from genlab.training.config import TrainConfig


def test_train_section_defaults_round_trip():
    cfg = TrainConfig.from_dict({"max_steps": 10, "betas": [0.5, 0.9], "ema_decay": None})
    assert cfg.betas == (0.5, 0.9) and cfg.ema_decay is None and cfg.lr == 1e-3
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig.from_dict({"lr": 1}).lr == 1.0  # an int where a float is expected is fine


@pytest.mark.parametrize(
    "section, key, message",
    [
        ({"max_stepz": 10}, "train.max_stepz", "unknown key; TrainConfig accepts: .*max_steps"),
        ({"lr": "fast"}, "train.lr", "expected a number"),
        ({"max_steps": 2.5}, "train.max_steps", "expected an integer"),
        ({"deterministic": "yes"}, "train.deterministic", "true or false"),
        ({"grad_clip": -1.0}, "train.grad_clip", "positive"),
        ({"ema_decay": 1.0}, "train.ema_decay", r"\[0, 1\)"),
        ({"batch_size": 0}, "train.batch_size", "at least 1"),
        ({"betas": [0.9]}, "train.betas", "two numbers"),
    ],
)
def test_train_section_rejects(section, key, message):
    with pytest.raises(ConfigError, match=message) as info:
        TrainConfig.from_dict(section)
    assert info.value.key == key and f"key '{key}'" in str(info.value)


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  max_steps: 10\n  lr: [0.1\n  seed: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line is not None and str(info.value).startswith(f"{path}:{info.value.line}: invalid YAML")


def test_missing_and_non_mapping_files(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping of sections"):
        load_config(tmp_path / "list.yaml")


def test_overrides_cli_and_python_forms(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  max_steps: 10\n")
    assert read_config(path, ["train.max_steps=20", "train.lr=1.0e-4"])["train"] == {"max_steps": 20, "lr": 1e-4}
    assert read_config(path, {"train.ema_decay": None})["train"] == {"max_steps": 10, "ema_decay": None}
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["train.max_steps"])


def test_registry_rejects_keys_that_are_not_constructor_arguments():
    table = Registry("network")

    @table.register("toy")
    class Toy:
        def __init__(self, hidden: int = 4, act: str = "silu") -> None:
            self.hidden, self.act = hidden, act

    assert table.build({"name": "toy", "hidden": 8}).hidden == 8
    with pytest.raises(ConfigError, match="Toy accepts: act, hidden") as info:
        table.build({"name": "toy", "hiden": 8})
    assert info.value.key == "network.hiden"
    with pytest.raises(ConfigError, match="expected an integer"):
        table.build({"name": "toy", "hidden": "8"})
    with pytest.raises(ConfigError, match="unknown network 'mlpp'; known: toy"):
        table.build({"name": "mlpp"})
