"""``train_federated(config, out)``: a federated adaptation method trained in rounds, in one process.

The config is an ordinary genlab config whose ``family`` is a federated method
(:class:`~genlab.classifiers.adaptation.federated.FederatedModel`: ``dualadapt``, ``fedavg_mcd``)
and whose ``data`` is ``domain_adaptation``: the source is the server's, target k is client k's
(``family.clients`` must equal the number of targets). The ``train`` section gives the seed and
the optimiser of every local loop (``batch_size``, ``lr``, ``betas``, ``weight_decay``) and
``max_steps``, the server's pre-training steps on the source; the family gives the rounds.

1. build the model and data (:mod:`genlab.build`), write ``RUN/config.json`` and ``modality.json``;
2. pre-train on the server;
3. for each round r = 1 .. ``family.rounds`` (:func:`run_round`): the server's preparation, its
   message to each active client, each client's update (:meth:`FederatedModel.client_update`),
   the server update;
   record the bytes of every message, the metrics, and every target's held-out accuracy (also
   after pre-training, in the record's ``pretraining``);
4. write ``RUN/weights.safetensors``; the rounds go to ``RUN/logs/rounds.json`` after every round.

How messages travel is a function, ``exchange(messages, round) -> results``: here
:func:`in_process_exchange` calls the client function directly; the Flower ServerApp
(:mod:`genlab.training.federated.flower_app`) sends them to ClientApps instead and reuses the rest.
Every client update and server update gets its own seed (``SeedSequence([train.seed, round,
client])``) and draws everything from it (:func:`~genlab.classifiers.adaptation.federated.seeded`),
so both engines give the same weights.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import Tensor

from genlab.build import build_family, resolve_config
from genlab.classifiers.adaptation.federated import Arrays, ClientResult, FederatedModel, Optimisation, payload_bytes
from genlab.classifiers.adaptation.scoring import target_accuracies
from genlab.config import apply_overrides, load_config
from genlab.data.bundle import DataBundle
from genlab.errors import ConfigError, GenlabError
from genlab.sampling.run import Run
from genlab.trainable import FAMILIES
from genlab.sampling.run_dir import RunDir
from genlab.training.checkpoint import save_weights
from genlab.training.config import TrainConfig
from genlab.training.federated.run_dir import RoundBytes, RoundRecord, write_rounds
from genlab.utils.atomic import atomic_write_json

#: the server's place in seed sequences (clients are 0, 1, ...)
SERVER = 2**16
Exchange = Callable[[Mapping[int, Arrays], int], dict[int, ClientResult]]


@dataclass
class FederatedData:
    """The server's labelled source images and each client's target images, as tensors."""

    source_x: Tensor  # (N_s, C, H, W) in the data's [-1, 1]
    source_y: Tensor  # (N_s,)
    targets_x: list[Tensor]  # client k: (N_k, C, H, W)
    bundle: DataBundle


def federated_data(bundle: DataBundle) -> FederatedData:
    """The tensors of a ``domain_adaptation`` bundle's training splits."""
    if bundle.info.get("dataset") != "domain_adaptation":
        raise ConfigError("federated adaptation needs the domain_adaptation data set", key="data.name")
    source_x, source_y = _stack(bundle.train.source)
    return FederatedData(source_x, source_y, [_stack(t)[0] for t in bundle.train.targets], bundle)


def _stack(dataset: Any) -> tuple[Tensor, Tensor]:
    items = [dataset[i] for i in range(len(dataset))]
    return torch.stack([x for x, _ in items]), torch.stack([torch.as_tensor(y) for _, y in items]).long()


def seed_of(*parts: int) -> int:
    """A 31-bit seed from a sequence of non-negative integers (numpy's SeedSequence)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0] >> 1)


def prepare(config: Mapping[str, Any],
            out: str | Path | None) -> tuple[FederatedModel, FederatedData, TrainConfig, dict]:
    """Model, data and settings of ``config``; with ``out``, a new run directory's config files."""
    cfg = TrainConfig.from_dict(config.get("train"))
    family = config.get("family", {}).get("name") if isinstance(config.get("family"), Mapping) else None
    if not (isinstance(family, str) and family in FAMILIES and issubclass(FAMILIES.get(family), FederatedModel)):
        raise ConfigError(f"{family} is not a federated method (dualadapt, fedavg_mcd)", key="family.name")
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed % 2**32)
    model, bundle = build_family(config)
    data = federated_data(bundle)
    if model.clients != len(data.targets_x):
        raise ConfigError(f"the data has {len(data.targets_x)} targets and a federated method one client per "
                          f"target; got {model.clients}", key="family.clients")
    resolved = resolve_config(config)
    resolved["train"] = cfg.to_dict()
    if out is not None:
        run = RunDir(Path(out))
        if run.config.exists():
            raise GenlabError("already holds a run; choose another --out", path=run.root)
        run.root.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run.config, resolved)
        run.write_modality(model.modality)
    return model, data, cfg, resolved


def settings_of(cfg: TrainConfig) -> Optimisation:
    return Optimisation(batch_size=cfg.batch_size, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)


def client_update(model: FederatedModel, arrays: Arrays, client: int, data: FederatedData, settings: Optimisation,
                  seed: int) -> ClientResult:
    """One client's update with its data (and the source, for methods whose clients hold it)."""
    source = (data.source_x, data.source_y) if model.clients_need_source else None
    return model.client_update(arrays, client, data.targets_x[client], source, settings, seed)


def in_process_exchange(model: FederatedModel, data: FederatedData, settings: Optimisation, seed: int) -> Exchange:
    """The transport of one process: each message goes straight to the client function."""
    def exchange(messages: Mapping[int, Arrays], round_index: int) -> dict[int, ClientResult]:
        return {i: client_update(model, arrays, i, data, settings, seed_of(seed, round_index, i))
                for i, arrays in messages.items()}

    return exchange


def run_round(model: FederatedModel, round_index: int, data: FederatedData, settings: Optimisation, seed: int,
              exchange: Exchange, monitor: bool = True) -> RoundRecord:
    """Broadcast, client updates (through ``exchange``), server update, statistics."""
    start = time.perf_counter()
    server_metrics = model.server_prepare(round_index, data.source_x, data.source_y, settings,
                                          seed_of(seed, round_index, SERVER, 1))
    messages = {i: model.broadcast(i, round_index) for i in model.active_clients(round_index)}
    results = exchange(messages, round_index)
    server_metrics.update(model.server_update(results, data.source_x, data.source_y, settings,
                                              seed_of(seed, round_index, SERVER)))
    record = RoundRecord(
        round=round_index, clients=sorted(messages),
        bytes=RoundBytes(broadcast=sum(payload_bytes(m) for m in messages.values()),
                         upload=sum(payload_bytes(r.arrays) for r in results.values())),
        client_metrics={i: dict(r.metrics) for i, r in sorted(results.items())},
        server_metrics=server_metrics, seconds=round(time.perf_counter() - start, 3))
    if monitor:
        record.accuracy = heldout_accuracy(model, data.bundle)
    return record


def heldout_accuracy(model: FederatedModel, bundle: DataBundle) -> dict[str, float]:
    """Every target's accuracy on its held-out split (the model is put back in training mode)."""
    model.eval()
    rows = target_accuracies(model, bundle.heldout.splits, bundle.info["targets"])
    model.train()
    return {r.target: r.accuracy for r in rows}


def pretrain(model: FederatedModel, data: FederatedData, cfg: TrainConfig) -> dict[str, float]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed_of(cfg.seed, 0, SERVER))
        model.train()
        return model.pretrain(data.source_x, data.source_y, settings_of(cfg), cfg.max_steps,
                              torch.Generator().manual_seed(seed_of(cfg.seed, 0, SERVER, 1)))


def finish(model: FederatedModel, out: str | Path, resolved: dict, bundle: DataBundle, rounds: int) -> Run:
    """``RUN/weights.safetensors`` (the mark of a finished run) and the run, loaded."""
    run = RunDir(Path(out))
    model.eval()
    save_weights(model.state_dict(), run.weights, metadata={"rounds": str(rounds)})
    run.samples.mkdir(exist_ok=True)
    run.plots.mkdir(exist_ok=True)
    return Run.from_trained(run.root, resolved, model, bundle)


def train_federated(config: Mapping[str, Any], out: str | Path, *, progress: bool = True,
                    monitor: bool = True) -> Run:
    """Train the federated method of ``config`` into the new run directory ``out`` (the module's steps)."""
    model, data, cfg, resolved = prepare(config, out)
    settings = settings_of(cfg)
    pretraining = pretrain(model, data, cfg)
    if monitor:  # round 0: the source-trained model
        pretraining["accuracy"] = heldout_accuracy(model, data.bundle)
    if progress:
        print(f"pre-trained on {len(data.source_y)} source images for {cfg.max_steps} steps", flush=True)
    exchange = in_process_exchange(model, data, settings, cfg.seed)
    records: list[RoundRecord] = []
    for r in range(1, model.rounds + 1):
        records.append(run_round(model, r, data, settings, cfg.seed, exchange, monitor))
        write_rounds(out, pretraining, records)
        if progress:
            print(describe(records[-1]), flush=True)
    return finish(model, out, resolved, data.bundle, model.rounds)


def describe(record: RoundRecord) -> str:
    """One line per round: its number, clients, bytes and mean held-out accuracy."""
    line = (f"round {record.round}: clients {record.clients}, {record.bytes.total / 2**20:.2f} MiB, "
            f"{record.seconds:.1f} s")
    if record.accuracy:
        line += f", mean target accuracy {sum(record.accuracy.values()) / len(record.accuracy):.4f}"
    return line


def main(argv: list[str] | None = None) -> int:
    """``python -m genlab.training.federated.engine CONFIG --out RUN [--set key=value ...]``."""
    parser = argparse.ArgumentParser(prog="python -m genlab.training.federated.engine",
                                     description="train a federated adaptation method in rounds, in one process")
    parser.add_argument("config")
    parser.add_argument("--out", required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        config = apply_overrides(load_config(args.config), args.overrides)
        run = train_federated(config, args.out, progress=not args.quiet)
    except GenlabError as exc:  # one line, as the command line prints it
        if isinstance(exc, ConfigError) and exc.path is None:
            exc.path = args.config
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"trained {run.dir.root}: weights {run.dir.weights}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
