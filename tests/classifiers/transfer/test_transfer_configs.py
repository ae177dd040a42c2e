"""The shipped configs of configs/transfer/: every key is a constructor argument, every default is
written out, and the students share one data section and one network (so one set of evaluation
characters), the network being the teacher's."""

from __future__ import annotations

import pytest
from support import CONFIGS

from genlab.build import resolve_config
from genlab.config import load_config
from genlab.data.registry import DATASETS
from genlab.networks.registry import NETWORKS
from genlab.registry import check_kwargs
from genlab.trainable import FAMILIES
from genlab.training.config import TrainConfig

NAMES = ("mnist_teacher", "startup", "startup_no_simclr", "simclr")


@pytest.mark.parametrize("name", NAMES)
def test_a_shipped_config_has_only_known_keys_and_writes_out_every_default(name):
    config = load_config(CONFIGS / "transfer" / f"{name}.yaml")
    for section, table in (("data", DATASETS), ("family", FAMILIES), ("network", NETWORKS)):
        keys = {k: v for k, v in config[section].items() if k != "name"}
        check_kwargs(table.get(config[section]["name"]), keys, section=section)
    TrainConfig.from_dict(config["train"])
    resolved = resolve_config(config)
    for section in ("data", "family", "network"):
        assert resolved[section] == config[section], section


def test_the_students_share_data_network_and_budget_with_each_other_and_the_teacher_network():
    configs = {name: load_config(CONFIGS / "transfer" / f"{name}.yaml") for name in NAMES}
    students = [configs[n] for n in NAMES[1:]]
    assert all(c["data"] == students[0]["data"] and c["train"] == students[0]["train"] for c in students)
    assert all(c["network"] == configs["mnist_teacher"]["network"] for c in students)
    assert configs["startup_no_simclr"]["family"] == {**configs["startup"]["family"], "simclr_weight": 0.0}
