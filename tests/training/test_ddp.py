"""Multi-process training: two CPU processes (gloo) launched by ``torchrun`` train on shards of the
global batch and follow the one-process loss trajectory.

The known answer uses RealNVP, whose loss (exact NLL) draws no noise: with the global batch split
across processes and gradients averaged by DDP, the two-process run computes the same losses and
updates as one process, up to float summation order. (Families that draw noise per sample give
each process its own noise stream, so their trajectories agree only statistically.)
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genlab.training.resume import SeededBatchStream
from genlab.training.trainer import train

CONFIG = {
    "data": {"name": "points", "dataset": "moons", "n_train": 1000, "n_heldout": 100},
    "family": {"name": "realnvp"},
    "network": {"name": "coupling_mlp", "n_couplings": 4, "hidden": 32, "depth": 2, "actnorm": False},
    "train": {"max_steps": 30, "batch_size": 128, "lr": 1e-3, "warmup_steps": 0, "ema_decay": None,
              "log_every": 1, "checkpoint_every": 1000, "accelerator": "cpu", "seed": 3},
}


def test_shards_of_all_processes_make_up_the_global_batch():
    stream = SeededBatchStream(n_items=300, batch_size=128, seed=5)
    for k in (0, 2, 7):  # batch 2 straddles two passes through the data
        shards = [stream.batch(k, rank=r, world_size=4) for r in range(4)]
        assert sum(shards, []) == stream.batch(k) and all(len(s) == 32 for s in shards)
    with pytest.raises(ValueError, match="does not split"):
        stream.batch(0, rank=0, world_size=3)


def free_port() -> int:
    with socket.socket() as s:  # other test runs may share the machine
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def losses(run: Path) -> list[float]:
    with (run / "logs" / "metrics.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r.get("train/loss")]
    return [float(r["train/loss"]) for r in sorted(rows, key=lambda r: int(r["step"]))]


def test_two_processes_follow_the_one_process_loss_trajectory(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
         "-m", "genlab.cli.main", "train", str(config), "--out", str(tmp_path / "two"),
         "--set", "train.devices=2", "--set", "train.strategy=ddp", "--quiet"],
        check=True, env=env, timeout=300, capture_output=True,
    )
    train(CONFIG, tmp_path / "one", progress=False)

    one, two = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert len(one) == len(two) == CONFIG["train"]["max_steps"]
    assert one[-1] < one[0] - 0.1  # it did learn
    torch.testing.assert_close(torch.tensor(two), torch.tensor(one), rtol=1e-4, atol=1e-4)
    saved = json.loads((tmp_path / "two" / "config.json").read_text())["train"]
    assert saved["devices"] == 2 and saved["strategy"] == "ddp" and saved["batch_size"] == 128
