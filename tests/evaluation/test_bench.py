"""``genlab bench``'s known answer: its table holds exactly the numbers of train -> sample ->
evaluate done by hand through ``genlab.api``; an interrupted bench keeps its finished rows and
completes the rest when run again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import genlab.evaluation.bench
from genlab import api
from genlab.evaluation.bench import BenchSettings, bench
from genlab.cli.main import main
from genlab.metrics.evaluators import evaluate_points
from support import CONFIGS

CONFIGS = CONFIGS
FAMILIES = ["flow_matching", "ddpm"]
STEPS, SAMPLES, SEED = 24, 200, 0


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def interrupted_then_resumed(tmp_path_factory):
    """The bench stopped by an error after its first row, then rerun through the CLI."""
    out = tmp_path_factory.mktemp("bench")
    settings = BenchSettings("points", steps=STEPS, samples=SAMPLES, device="cpu")
    real_run_row = genlab.evaluation.bench.run_row
    calls: list[str] = []

    def failing_second(config, *args, **kwargs):
        calls.append(config.stem)
        if len(calls) == 2:
            raise Interrupted
        return real_run_row(config, *args, **kwargs)

    genlab.evaluation.bench.run_row = failing_second
    try:
        with pytest.raises(Interrupted):
            bench(settings, out, families=FAMILIES, configs_root=CONFIGS)
    finally:
        genlab.evaluation.bench.run_row = real_run_row
    first = json.loads((out / "results.json").read_text())["rows"]
    assert [r["family"] for r in first] == ["flow_matching"] and calls == FAMILIES

    assert main(["bench", "points", "--families", ",".join(FAMILIES), "--steps", str(STEPS), "--samples",
                 str(SAMPLES), "--seeds", "1", "--device", "cpu", "--configs", str(CONFIGS), "--out", str(out)]) == 0
    return out, first


def test_resumed_bench_keeps_the_first_row_and_completes_the_second(interrupted_then_resumed):
    out, first = interrupted_then_resumed
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [r["family"] for r in rows] == FAMILIES
    assert rows[0] == first[0]  # not retrained: timings would differ
    for name in ("results.md", "results.html"):
        text = (out / name).read_text()
        assert all(f in text for f in FAMILIES) and "±" in text


def by_hand(family: str, out: Path) -> dict:
    """What a user types: api.train with the same overrides, run.sample, evaluate_points."""
    run = api.train(CONFIGS / "points" / f"{family}.yaml", out, progress=False,
                    overrides={"train.max_steps": STEPS, "train.seed": SEED, "train.accelerator": "cpu"})
    result = run.sample(SAMPLES, seed=SEED)
    heldout = run.bundle.heldout
    reference = torch.stack([heldout[i] for i in range(len(heldout))]).double().numpy()
    metrics = evaluate_points(result.samples.double().numpy(), reference)
    return {"nfe": result.nfe, **{k: v for k, v in metrics.items() if k != "protocol"}}


@pytest.mark.parametrize("family", FAMILIES)
def test_bench_numbers_equal_train_sample_evaluate_by_hand(interrupted_then_resumed, family, tmp_path):
    out, _ = interrupted_then_resumed
    row = next(r for r in json.loads((out / "results.json").read_text())["rows"] if r["family"] == family)
    expected = by_hand(family, tmp_path / family)
    assert row["seed"] == SEED and row["train_steps"] == STEPS and row["nfe"] == expected.pop("nfe")
    assert row["metrics"] == expected  # exact: CPU training is deterministic
    table = (out / "results.md").read_text()
    line = next(l for l in table.splitlines() if l.startswith(f"| {family} |"))
    assert f"{expected['sliced_w1']:.4g} ± 0" in line and f"{expected['mmd2']:.4g} ± 0" in line
    assert np.isfinite(row["train_samples_per_s"]) and row["sample_seconds_per_10k"] > 0


def test_settings_need_exactly_one_budget():
    from genlab.errors import ConfigError

    with pytest.raises(ConfigError):
        BenchSettings("points", steps=10, budget_minutes=1.0)
    with pytest.raises(ConfigError):
        BenchSettings("points")
