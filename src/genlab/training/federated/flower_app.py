"""A Flower ServerApp and ClientApp that run genlab's federated methods across processes.

Optional: ``pip install genlab[federated]`` (Flower's ``flwr``). The apps run the same functions as
the in-process loop (:mod:`genlab.training.federated.engine`), so the same config and seed give
the same weights; only the transport differs: each message travels as a Flower ``Message`` whose
``RecordDict`` holds

* server -> client (``train``): ``"arrays"``, an ``ArrayRecord`` of the broadcast tensors, and
  ``"config"``, a ``ConfigRecord`` with the round, the client index and its seed;
* client -> server: ``"arrays"``, the uploaded tensors, and ``"metrics"``, a ``MetricRecord``
  with the client's statistics and ``num_examples``;
* a ``query`` message first asks every SuperNode which client (target) it is: its node config's
  ``partition-id``.

The run config (``[tool.flwr.app.config]`` of the Flower app, or ``flwr run --run-config``) names
``genlab-config``, a genlab config file, and ``out``, the run directory the ServerApp writes. The
ServerApp records per round, beside the tensors' bytes, the bytes of the serialised arrays
(``ArrayRecord.count_bytes``) in ``RUN/logs/rounds.json`` (``serialized_bytes``). Arrays are
serialised by Flower as ``.npy`` bytes and read back with ``allow_pickle=False``.

Every SuperNode builds the config's data and keeps only its own target's images (the server keeps
the source; for monitoring, the held-out target splits).
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from genlab.classifiers.adaptation.federated import Arrays, ClientResult
from genlab.config import load_config
from genlab.errors import GenlabError
from genlab.training.federated import engine
from genlab.training.federated.run_dir import RoundBytes, RoundRecord, write_rounds

#: run-config keys of the apps
CONFIG_KEY, OUT_KEY = "genlab-config", "out"
#: node-config key of a SuperNode's client index (Flower's convention for data partitions)
PARTITION_KEY = "partition-id"


# --- messages -------------------------------------------------------------------------------------


def to_record(arrays: Mapping[str, torch.Tensor]) -> ArrayRecord:
    return ArrayRecord.from_torch_state_dict({k: v.detach().cpu().contiguous() for k, v in arrays.items()})


def from_record(record: ArrayRecord) -> Arrays:
    return {k: v.clone() for k, v in record.to_torch_state_dict().items()}


def train_content(arrays: Arrays, round_index: int, client: int, seed: int) -> RecordDict:
    """The server's ``train`` message to one client."""
    return RecordDict({"arrays": to_record(arrays),
                       "config": ConfigRecord({"round": round_index, "client": client, "seed": seed})})


def reply_content(result: ClientResult) -> RecordDict:
    """A client's reply: its upload and its metrics (``num_examples`` among them)."""
    metrics = {k: float(v) for k, v in result.metrics.items()}
    return RecordDict({"arrays": to_record(result.arrays),
                       "metrics": MetricRecord({**metrics, "num_examples": int(result.num_examples)})})


def read_reply(content: RecordDict) -> ClientResult:
    metrics = dict(content["metrics"])
    n = int(metrics.pop("num_examples"))
    return ClientResult(from_record(content["arrays"]), num_examples=n,
                        metrics={k: float(v) for k, v in metrics.items()})


# --- the client ---------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def client_side(config_path: str) -> tuple[Any, engine.FederatedData, Any]:
    """A SuperNode's template model, data and settings, built once per config."""
    model, data, cfg, _ = engine.prepare(load_config(config_path), None)
    return model, data, engine.settings_of(cfg)


client_app = ClientApp()


@client_app.query()
def identify(message: Message, context: Context) -> Message:
    """Which client this SuperNode is (its ``partition-id``)."""
    return Message(RecordDict({"client": ConfigRecord({"client": int(context.node_config[PARTITION_KEY])})}),
                   reply_to=message)


@client_app.train()
def train(message: Message, context: Context) -> Message:
    """One client update (:func:`genlab.training.federated.engine.client_update`)."""
    model, data, settings = client_side(str(context.run_config[CONFIG_KEY]))
    settings_record = message.content["config"]
    client = int(context.node_config[PARTITION_KEY])
    if int(settings_record["client"]) != client:
        raise GenlabError(f"a message for client {settings_record['client']} reached client {client}")
    result = engine.client_update(model, from_record(message.content["arrays"]), client, data, settings,
                                  int(settings_record["seed"]))
    return Message(reply_content(result), reply_to=message)


# --- the server ---------------------------------------------------------------------------------


def identify_clients(grid: Grid, clients: int) -> dict[int, int]:
    """client index -> node id, asking every node (waits until ``clients`` nodes are connected)."""
    while len(list(grid.get_node_ids())) < clients:
        time.sleep(1.0)
    queries = [Message(RecordDict(), dst_node_id=node, message_type="query") for node in grid.get_node_ids()]
    nodes = {}
    for reply in grid.send_and_receive(queries):
        if reply.has_error():
            raise GenlabError(f"a SuperNode could not say its client index: {reply.error.reason}")
        nodes[int(reply.content["client"]["client"])] = reply.metadata.src_node_id
    missing = sorted(set(range(clients)) - set(nodes))
    if missing:
        raise GenlabError(f"no SuperNode has {PARTITION_KEY} {missing}")
    return nodes


class GridExchange:
    """The transport of :func:`genlab.training.federated.engine.run_round` over a Flower grid;
    counts the serialised bytes of each round's messages."""

    def __init__(self, grid: Grid, nodes: Mapping[int, int], seed: int) -> None:
        self.grid, self.nodes, self.seed = grid, dict(nodes), seed
        self.serialized = RoundBytes(0, 0)

    def __call__(self, messages: Mapping[int, Arrays], round_index: int) -> dict[int, ClientResult]:
        out, sent, received = [], 0, 0
        for client, arrays in messages.items():
            content = train_content(arrays, round_index, client, engine.seed_of(self.seed, round_index, client))
            sent += content["arrays"].count_bytes()
            out.append(Message(content, dst_node_id=self.nodes[client], message_type="train",
                               group_id=str(round_index)))
        by_node = {node: client for client, node in self.nodes.items()}
        results = {}
        for reply in self.grid.send_and_receive(out):
            if reply.has_error():
                raise GenlabError(f"client {by_node[reply.metadata.src_node_id]} failed: {reply.error.reason}")
            received += reply.content["arrays"].count_bytes()
            results[by_node[reply.metadata.src_node_id]] = read_reply(reply.content)
        self.serialized = RoundBytes(broadcast=sent, upload=received)
        return results


server_app = ServerApp()


@server_app.main()
def main(grid: Grid, context: Context) -> None:
    """Pre-train, run every round over the grid, write the run directory (as the in-process engine)."""
    config, out = load_config(str(context.run_config[CONFIG_KEY])), Path(str(context.run_config[OUT_KEY]))
    model, data, cfg, resolved = engine.prepare(config, out)
    settings = engine.settings_of(cfg)
    pretraining = engine.pretrain(model, data, cfg)
    pretraining["accuracy"] = engine.heldout_accuracy(model, data.bundle)
    exchange = GridExchange(grid, identify_clients(grid, model.clients), cfg.seed)
    records: list[RoundRecord] = []
    for r in range(1, model.rounds + 1):
        record = engine.run_round(model, r, data, settings, cfg.seed, exchange)
        record.serialized_bytes = exchange.serialized
        records.append(record)
        write_rounds(out, pretraining, records)
        print(engine.describe(record), flush=True)
    engine.finish(model, out, resolved, data.bundle, model.rounds)
