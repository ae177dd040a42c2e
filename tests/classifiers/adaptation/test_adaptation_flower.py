"""The Flower apps' message handling, in one process: a ClientApp reply carries exactly what the
in-process client function returns, and the server's exchange over a grid reproduces a round of
the in-process loop bit for bit. (The multi-process run with Flower's SuperLink and SuperNodes is
benchmarks/federated_flower.py.)"""

from __future__ import annotations

import copy
import json
from typing import Iterable

import pytest
import torch
from flwr.app import Context, Message, RecordDict
from flwr.serverapp import Grid
from flwr.supercore.task_identity import TaskIdentity

from genlab.training.federated import engine, flower_app

CONFIG = {
    "data": {"name": "domain_adaptation", "source": "uci_digits", "targets": ["mnist_inverted"], "limit": 48,
             "limit_heldout": 16},
    "family": {"name": "dualadapt", "clients": 1, "rounds": 2, "client_steps": 2, "server_steps": 1, "num_k": 1,
               "gmm_components": 2, "gmm_dim": 4, "gmm_images": 24},
    "network": {"features": {"name": "mcd_features", "variant": "usps"},
                "classifier": {"name": "mcd_classifier", "variant": "usps"}},
    "train": {"max_steps": 2, "batch_size": 16, "seed": 3},
}
NODE = 1234  # the SuperNode's id


@pytest.fixture()
def identity():
    """Flower stamps messages with the sending task's identity (set by its runtime in a real run)."""
    saved = (TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id)
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 1, 0
    yield
    TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id = saved


@pytest.fixture()
def setup(tmp_path, identity):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG))
    model, data, cfg, _ = engine.prepare(CONFIG, None)
    engine.pretrain(model, data, cfg)
    context = Context(run_id=1, node_id=NODE, node_config={"partition-id": 0}, state=RecordDict(),
                      run_config={"genlab-config": str(path), "out": str(tmp_path / "run")})
    return model, data, cfg, context


class LoopbackGrid(Grid):
    """A grid whose one node is the ClientApp in this process."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def set_run(self, run):  # pragma: no cover - part of the interface, unused here
        pass

    @property
    def run(self):  # pragma: no cover
        raise NotImplementedError

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):  # pragma: no cover
        return Message(content, dst_node_id=dst_node_id, message_type=message_type, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return [NODE]

    def push_messages(self, messages):  # pragma: no cover
        raise NotImplementedError

    def pull_messages(self, message_ids):  # pragma: no cover
        raise NotImplementedError

    def send_and_receive(self, messages, *, timeout=None):
        return [flower_app.client_app(m, self.context) for m in messages]


def test_a_client_app_reply_is_the_client_functions_result(setup):
    model, data, cfg, context = setup
    arrays = model.broadcast(0, 1)
    seed = engine.seed_of(cfg.seed, 1, 0)
    message = Message(flower_app.train_content(arrays, 1, 0, seed), dst_node_id=NODE, message_type="train")
    reply = flower_app.client_app(message, context)
    assert not reply.has_error()
    got = flower_app.read_reply(reply.content)
    expected = engine.client_update(model, arrays, 0, data, engine.settings_of(cfg), seed)
    assert got.num_examples == expected.num_examples and got.metrics == pytest.approx(expected.metrics, abs=0)
    assert got.arrays.keys() == expected.arrays.keys()
    assert all(torch.equal(got.arrays[k], expected.arrays[k]) and got.arrays[k].dtype == expected.arrays[k].dtype
               for k in got.arrays)


def test_a_round_over_the_grid_equals_the_in_process_round(setup):
    model, data, cfg, context = setup
    twin = copy.deepcopy(model)
    settings = engine.settings_of(cfg)
    grid = LoopbackGrid(context)
    assert flower_app.identify_clients(grid, 1) == {0: NODE}
    exchange = flower_app.GridExchange(grid, {0: NODE}, cfg.seed)
    over_grid = engine.run_round(model, 1, data, settings, cfg.seed, exchange, monitor=False)
    in_process = engine.run_round(twin, 1, data, settings, cfg.seed,
                                  engine.in_process_exchange(twin, data, settings, cfg.seed), monitor=False)
    assert all(torch.equal(v, twin.state_dict()[k]) for k, v in model.state_dict().items())
    assert over_grid.bytes == in_process.bytes and over_grid.client_metrics == in_process.client_metrics
    # the serialised arrays cost a little more than the raw tensors (.npy headers, names)
    assert exchange.serialized.broadcast > over_grid.bytes.broadcast
    assert exchange.serialized.upload > over_grid.bytes.upload
