"""End to end through the command line: a tiny STARTUP student and a tiny SimCLR run on the tiny
teacher, ``genlab evaluate`` of each and of the teacher on the students' episodes (the transfer
baseline), a bit-identical resume, and one-line errors."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from safetensors.torch import load_file
from transfer_support import student_config

from genlab.cli.main import main


def train(root, name, config, *extra):
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return main(["train", str(path), "--out", str(root / name), "--quiet", *extra])


@pytest.fixture(scope="module")
def runs(teacher_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer-cli")
    assert train(root, "startup", student_config(teacher_run)) == 0
    assert train(root, "simclr", student_config(teacher_run, "simclr")) == 0
    return root


def test_evaluate_scores_every_run_on_the_same_episodes(runs, teacher_run, capsys):
    results = {}
    for name, command in [("startup", [str(runs / "startup")]), ("simclr", [str(runs / "simclr"), "--few-shot"]),
                          ("teacher", [str(teacher_run), "--few-shot", str(runs / "startup")])]:
        capsys.readouterr()
        assert main(["evaluate", *command, "--n", "12", "--json", str(runs / f"{name}.json")]) == 0
        assert "5-way 1-shot: accuracy" in capsys.readouterr().out
        folder = teacher_run if name == "teacher" else runs / name
        results[name] = json.loads((folder / "few_shot.json").read_text())
        assert results[name] == json.loads((runs / f"{name}.json").read_text())
    assert [r["model"] for r in results.values()] == ["startup", "simclr", "classifier"]
    assert results["teacher"]["protocol"]["data"] == results["startup"]["protocol"]["data"]
    for result in results.values():
        assert [(e["k_shot"], e["episodes"], e["q_query"]) for e in result["episodes"]] == [(1, 12, 15), (5, 12, 15)]
        assert all(0 <= e["accuracy"] <= 1 and len(e["per_episode"]) == 12 for e in result["episodes"])
        assert result["feature_dim"] == 16 and result["protocol"]["classes"] == 121


def test_resume_continues_bit_identically(runs, teacher_run, tmp_path):
    half = student_config(teacher_run)
    half["train"] = {**half["train"], "max_steps": 3, "checkpoint_every": 3}
    assert train(tmp_path, "half", half) == 0
    assert main(["train", "--resume", str(tmp_path / "half"), "--set", "train.max_steps=6", "--quiet"]) == 0
    whole, resumed = (load_file(str(p / "weights.safetensors")) for p in (runs / "startup", tmp_path / "half"))
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)


@pytest.mark.parametrize("options,words", [
    (["--attack", "pgd"], "--attack does not apply"),
    (["--n", "0"], "--n: must be at least 1"),
    (["--few-shot", "missing.yaml"], "no such config file"),
])
def test_evaluate_options_that_make_no_sense_are_one_line_errors(runs, capsys, options, words):
    capsys.readouterr()
    assert main(["evaluate", str(runs / "startup"), *options]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and words in err


@pytest.mark.parametrize("change,words", [
    ({"family": {"teacher": "no/such/run"}}, "key 'family.teacher'"),
    ({"data": {"size": 20}}, "key 'data.size'"),
    ({"train": {"val_every": 2}}, "key 'train.val_every'"),
    ({"family": {"kl_weight": -1.0}}, "key 'family.kl_weight'"),
])
def test_bad_student_configs_are_one_line_errors(teacher_run, tmp_path, capsys, change, words):
    config = student_config(teacher_run)
    for section, keys in change.items():
        config[section] = {**config[section], **keys}
    capsys.readouterr()
    assert train(tmp_path, "bad", config) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and words in err
