"""The trainer: a real family trains, saves and reloads; resume is bit-identical on CPU; an
adversarial (two-optimizer) family trains through the ``adversarial_losses`` hook."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

import genlab.build
from genlab.data.bundle import DataBundle
from genlab.errors import GenlabError
from genlab.generative.families.base import Family, SampleResult
from genlab.modalities.points import PointsModality
from genlab.training.checkpoint import load_tree
from genlab.training.lr_schedule import budget_progress, lr_factor
from genlab.trainable import AdversarialLoss
from genlab.training.resume import SeededBatchStream
from genlab.sampling.run import Run
from genlab.training.trainer import train

TRAIN = {"batch_size": 64, "checkpoint_every": 7, "log_every": 5, "accelerator": "cpu",
         "warmup_steps": 5, "ema_decay": 0.9, "val_every": 10, "val_batches": 1}


def points_config(max_steps: int) -> dict:
    """flow matching on moons with a small MLP."""
    return {
        "data": {"name": "points", "dataset": "moons", "n_train": 2048, "n_heldout": 256},
        "family": {"name": "flow_matching", "ode_method": "euler", "sample_steps": 8},
        "process": {"name": "flow_matching"},
        "network": {"name": "mlp", "hidden": 32, "depth": 2},
        "train": {**TRAIN, "max_steps": max_steps},
    }


def weights_equal(a, b) -> bool:
    wa, wb = load_file(a / "weights.safetensors"), load_file(b / "weights.safetensors")
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_points_run_trains_saves_and_reloads(tmp_path):
    run = train(points_config(30), tmp_path / "run", progress=False)
    for name in ("config.json", "weights.safetensors", "checkpoints/last.safetensors", "checkpoints/last.json",
                 "logs/metrics.csv"):
        assert (tmp_path / "run" / name).is_file(), name
    first = run.sample(64, seed=3)
    again = Run(tmp_path / "run").sample(64, seed=3)
    assert first.samples.shape == (64, 2) and first.nfe > 0
    assert torch.equal(first.samples, again.samples) and first.nfe == again.nfe
    assert not torch.equal(first.samples, run.sample(64, seed=4).samples)
    # the resolved config fills in constructor defaults
    assert Run(tmp_path / "run").config["train"]["lr"] == 1e-3


def test_resume_is_bit_identical(tmp_path):
    train(points_config(30), tmp_path / "full", progress=False)
    train(points_config(15), tmp_path / "half", progress=False)
    train(points_config(30), tmp_path / "half", resume=True, progress=False)
    assert weights_equal(tmp_path / "full", tmp_path / "half")
    a, b = load_tree(tmp_path / "full/checkpoints/last"), load_tree(tmp_path / "half/checkpoints/last")
    assert all(torch.equal(a["current_model_state"][k], b["current_model_state"][k]) for k in a["state_dict"])
    assert b["genlab"]["iteration"] == 30


def test_mismatched_weights_are_rejected(tmp_path):
    train(points_config(2), tmp_path / "run", progress=False)
    path = tmp_path / "run" / "weights.safetensors"
    tensors = load_file(path)
    name = next(k for k, v in tensors.items() if v.ndim == 2)
    tensors[name] = torch.zeros(tensors[name].shape[0] + 1, tensors[name].shape[1])
    save_file(tensors, path)
    with pytest.raises(GenlabError, match=f"tensor '{name}' has shape"):
        Run(tmp_path / "run")
    del tensors[name]
    save_file(tensors, path)
    with pytest.raises(GenlabError, match="missing"):
        Run(tmp_path / "run")


def test_resume_refuses_changed_settings(tmp_path):
    train(points_config(2), tmp_path / "run", progress=False)
    changed = points_config(4)
    changed["train"]["lr"] = 0.5
    with pytest.raises(GenlabError, match="train.lr"):
        train(changed, tmp_path / "run", resume=True, progress=False)
    with pytest.raises(GenlabError, match="already holds a run"):
        train(points_config(2), tmp_path / "run", progress=False)


def test_batch_stream_is_a_function_of_seed_and_index():
    stream = SeededBatchStream(10, 4, seed=1)
    batches = [b for _, b in zip(range(6), stream)]
    assert [stream.batch(k) for k in range(6)] == batches
    seen = sum(batches[:5], [])  # 20 items = two passes, each a permutation of 0..9
    assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:20]) == list(range(10))


class ToyGAN(Family):
    """A two-optimizer family for the adversarial hook: a linear generator against a small critic."""

    n_optimizers = 2

    def __init__(self, modality):
        super().__init__(modality)
        self.generator = nn.Linear(2, 2)
        self.critic = nn.Sequential(nn.Linear(2, 16), nn.SiLU(), nn.Linear(16, 1))

    def optimizer_parameters(self):
        return [self.generator.parameters(), self.critic.parameters()]

    def forward(self, batch):
        loss = nn.functional.softplus(-self.critic(self.generator(torch.randn_like(batch)))).mean()
        return loss, {}

    def adversarial_losses(self, batch, step):
        fake = self.generator(torch.randn_like(batch))  # (B, 2)
        d_loss = (nn.functional.softplus(-self.critic(batch)) + nn.functional.softplus(self.critic(fake.detach()))).mean()
        yield AdversarialLoss(optimizer=1, loss=d_loss, metrics={"d_loss": d_loss.item()})
        if step % 2 == 0:
            g_loss = nn.functional.softplus(-self.critic(self.generator(torch.randn_like(batch)))).mean()
            yield AdversarialLoss(optimizer=0, loss=g_loss, metrics={"g_loss": g_loss.item()})

    @torch.no_grad()
    def sample(self, n, *, sampler=None, steps=None, generator=None):
        return SampleResult(self.generator(torch.randn(n, 2, generator=generator)), nfe=1)


def test_adversarial_family_trains_and_resumes_identically(tmp_path, monkeypatch):
    data = torch.tensor(np.random.default_rng(0).normal(1.0, 0.5, (512, 2)), dtype=torch.float32)

    def build(config):
        return ToyGAN(PointsModality(2)), DataBundle(PointsModality(2), list(data), list(data[:64]))

    monkeypatch.setattr(genlab.build, "build_family", build)
    monkeypatch.setattr(genlab.build, "resolve_config", lambda config: dict(config))
    cfg = lambda n: {"family": {"name": "toy_gan"}, "train": {**TRAIN, "max_steps": n, "betas": [0.5, 0.9]}}
    train(cfg(20), tmp_path / "full", progress=False)
    train(cfg(10), tmp_path / "half", progress=False)
    train(cfg(20), tmp_path / "half", resume=True, progress=False)
    assert weights_equal(tmp_path / "full", tmp_path / "half")
    state = load_tree(tmp_path / "full/checkpoints/last")
    assert state["genlab"]["iteration"] == 20 and state["global_step"] == 30  # 20 critic + 10 generator steps
    metrics = (tmp_path / "full/logs/metrics.csv").read_text()
    assert "train/d_loss" in metrics and "train/g_loss" in metrics


def test_resume_of_a_finished_run_keeps_the_ema_weights(tmp_path):
    train(points_config(6), tmp_path / "run", progress=False)
    before = load_file(tmp_path / "run" / "weights.safetensors")
    train(None, tmp_path / "run", resume=True, progress=False)  # nothing left to do
    after = load_file(tmp_path / "run" / "weights.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("schedule,p,expected", [("constant", 0.7, 1.0), ("linear", 0.25, 0.75),
                                                  ("cosine", 0.5, 0.5), ("cosine", 1.0, 0.0)])
def test_lr_factor_after_warm_up(schedule, p, expected):
    assert lr_factor(schedule, step=10, warmup_steps=5, progress=p) == pytest.approx(expected)
    assert lr_factor(schedule, step=10, warmup_steps=5, progress=p, final=0.1) == pytest.approx(0.1 + 0.9 * expected)
    assert lr_factor(schedule, step=1, warmup_steps=5, progress=0.0) == pytest.approx(2 / 5)  # warm-up


def test_budget_progress_is_the_larger_of_steps_and_time():
    assert budget_progress(55, warmup_steps=10, max_steps=100) == pytest.approx(0.5)
    assert budget_progress(55, 10, 100, elapsed_s=45.0, max_minutes=1.0) == pytest.approx(0.75)
    assert budget_progress(55, 10, 100, elapsed_s=6.0, max_minutes=1.0) == pytest.approx(0.5)
    assert budget_progress(500, 10, 100) == 1.0 and budget_progress(3, 10, 100) == 0.0


def test_linear_schedule_ends_at_the_final_ratio_and_fixes_the_budget_on_resume(tmp_path):
    config = points_config(20)
    config["train"].update(warmup_steps=0, lr_schedule="linear", lr_final_ratio=0.25, val_every=0)
    train(config, tmp_path / "run", progress=False)
    (state,) = load_tree(tmp_path / "run/checkpoints/last")["lr_schedulers"]
    assert state["_last_lr"][0] == pytest.approx(0.25e-3)  # lr 1e-3 decayed over all 20 steps
    longer = {**config, "train": {**config["train"], "max_steps": 40}}
    with pytest.raises(GenlabError, match="train.max_steps.*decaying lr_schedule"):
        train(longer, tmp_path / "run", resume=True, progress=False)


def test_a_run_saved_before_a_train_key_existed_resumes_with_overrides(tmp_path):
    """config.json of an older version lacks lr_schedule/lr_final_ratio: they count as their defaults."""
    import json

    train(points_config(4), tmp_path / "run", progress=False)
    path = tmp_path / "run" / "config.json"
    saved = json.loads(path.read_text())
    for key in ("lr_schedule", "lr_final_ratio"):
        del saved["train"][key]
    path.write_text(json.dumps(saved))
    run = train(points_config(6), tmp_path / "run", resume=True, progress=False)
    assert load_tree(tmp_path / "run/checkpoints/last")["genlab"]["iteration"] == 6 and run is not None
