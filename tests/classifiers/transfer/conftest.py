"""A tiny MNIST teacher run, trained once through ``genlab train`` and shared by the tests here."""

from __future__ import annotations

import pytest
import yaml
from transfer_support import TEACHER

from genlab.cli.main import main


@pytest.fixture(scope="session")
def teacher_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer-teacher")
    config = root / "teacher.yaml"
    config.write_text(yaml.safe_dump(TEACHER))
    assert main(["train", str(config), "--out", str(root / "run"), "--quiet"]) == 0
    return root / "run"
