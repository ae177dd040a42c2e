"""Checkpoints are safetensors + JSON: exact round trips, atomic pairs, no pickle."""

from __future__ import annotations

import json
import math
from collections import OrderedDict

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.training.checkpoint import SafetensorsCheckpointIO, checkpoint_files, load_tree, save_tree
from genlab.training.resume import rng_states


def assert_same(a, b, where="/"):
    """Every tensor equal (dtype, shape, values), every scalar equal, containers alike."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a.cpu(), b.cpu()), where
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}{k}/")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}{i}/")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert type(a) is type(b) and a == b, where


def test_tree_round_trip_is_exact(tmp_path):
    tree = {
        "weights": OrderedDict(w=torch.randn(3, 4), b=torch.zeros(4, dtype=torch.float64)),
        "int_keys": {0: {"step": torch.tensor(7.0), "exp_avg": torch.randn(2)}, 11: None},
        "mixed": [1, 2.5, "s", True, None, (1, (2, "x")), float("inf"), float("-inf"), float("nan")],
        "dollar": {"$tensor": "not a tensor"},
        "scalars": [torch.tensor(3), torch.tensor(True), torch.arange(6, dtype=torch.uint8).view(2, 3)],
        "numpy": {"a": np.arange(5, dtype=np.uint32), "s": np.float64(0.1), "i": np.int64(-3)},
        "bytes": b"\x00\xff",
        "empty": {}, "bf16": torch.randn(5).to(torch.bfloat16), "strided": torch.randn(4, 4).t(),
        "rng": rng_states(),
    }
    save_tree(tree, tmp_path / "ck.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.json", "ck.safetensors"]
    assert_same(tree, load_tree(tmp_path / "ck"))


def test_refuses_what_it_would_have_to_pickle(tmp_path):
    with pytest.raises(TypeError, match="/cfg/fn"):
        save_tree({"cfg": {"fn": lambda x: x}}, tmp_path / "bad")


def test_mismatched_pair_is_rejected(tmp_path):
    save_tree({"x": torch.ones(2)}, tmp_path / "a")
    save_tree({"x": torch.zeros(2)}, tmp_path / "b")
    _, json_b = checkpoint_files(tmp_path / "b")
    json_b.replace(tmp_path / "a.json")
    with pytest.raises(GenlabError, match="different save"):
        load_tree(tmp_path / "a")
    with pytest.raises(GenlabError, match="missing"):
        load_tree(tmp_path / "nothing")


class _Tiny(L.LightningModule):
    """A two-layer regression: enough state (Adam moments, scheduler, loops) to check the IO."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
        self.register_buffer("count", torch.tensor(0, dtype=torch.long))

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.count += 1
        return ((self.net(x) - y) ** 2).mean()

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=1e-2)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 3))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def test_lightning_checkpoint_round_trips_exactly(tmp_path):
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(32, 3), torch.randn(32, 1))
    trainer = L.Trainer(max_steps=5, plugins=[SafetensorsCheckpointIO()], logger=False, enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False, default_root_dir=tmp_path)
    model = _Tiny()
    trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=8))
    expected = trainer._checkpoint_connector.dump_checkpoint()
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    json.loads((tmp_path / "last.json").read_text())  # plain JSON, nothing pickled
    loaded = SafetensorsCheckpointIO().load_checkpoint(tmp_path / "last.ckpt")
    assert_same(expected, loaded)
    assert loaded["optimizer_states"][0]["state"][0]["exp_avg"].shape == (8, 3)

    # Lightning's resume reads it back through the plugin
    resumed = L.Trainer(max_steps=7, plugins=[SafetensorsCheckpointIO()], logger=False, enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False, default_root_dir=tmp_path)
    model2 = _Tiny()
    resumed.fit(model2, torch.utils.data.DataLoader(data, batch_size=8), ckpt_path=tmp_path / "last.ckpt")
    assert resumed.global_step == 7 and int(model2.count) == 7
