"""``fedavg_mcd``: federated averaging of per-client MCD, a baseline of federated multi-target
adaptation (Yao et al., WACV 2022, compare adaptation methods run on clients and averaged).

One global MCD model (G, F1, F2; :mod:`~genlab.classifiers.adaptation.mcd`). The server
pre-trains it on the source labels (MCD's step A). Each round it broadcasts the three networks to
every client; client k runs ``client_steps`` MCD iterations (steps A, B and C with ``num_k``) on
batches of the labelled source images, which the server shares with every client, and of its
own unlabelled target images, with fresh AdamW optimizers; the server replaces the model by the
average of the clients' models weighted by their numbers of target images (FedAvg, McMahan et al.
2017, Algorithm 1; :mod:`~genlab.classifiers.adaptation.aggregation`). Every target is predicted
by the one global model, the mean of p1 and p2. The price: each client trains G on the source
data too, and the whole model crosses the network twice per client and round.
"""

from __future__ import annotations

import copy
from typing import Mapping

import torch
from torch import Tensor, nn

from genlab.classifiers.adaptation.aggregation import weighted_average
from genlab.classifiers.adaptation.federated import (Arrays, ClientResult, FederatedModel, Optimisation, batches,
                                                     pack, run_phases, seeded, unpack)
from genlab.classifiers.adaptation.mcd import MCD
from genlab.data.domain_adaptation import DomainBatch
from genlab.modalities.base import LabelledBatch, Modality
from genlab.utils.checks import at_least, non_negative


class FedAvgMCD(FederatedModel):
    """``FedAvgMCD(modality, features, classifier, clients, rounds, client_steps, num_k)``."""

    clients_need_source = True

    def __init__(self, modality: Modality, features: nn.Module, classifier: nn.Module, clients: int = 1,
                 rounds: int = 10, client_steps: int = 100, num_k: int = 4) -> None:
        super().__init__(modality, features, classifier)
        at_least("clients", clients, 1)
        at_least("rounds", rounds, 1)
        non_negative("client_steps", client_steps)
        self.clients, self.rounds, self.client_steps = clients, rounds, client_steps
        self.mcd = MCD(modality, features, classifier, num_k=num_k)

    def target_probabilities(self, x: Tensor, domain: Tensor) -> Tensor:
        return self.mcd.target_probabilities(x, domain)

    def pretrain(self, source_x: Tensor, source_y: Tensor, settings: Optimisation, steps: int,
                 generator: torch.Generator) -> dict[str, float]:
        self.mcd.train()
        optimizer = settings.adamw(self.mcd.parameters())
        metrics: dict[str, float] = {}
        for idx in batches(len(source_y), settings.batch_size, steps, generator):
            loss, metrics = self.mcd.training_loss(_batch(source_x[idx], source_y[idx], ()))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return metrics

    def broadcast(self, client: int, round_index: int) -> Arrays:
        return pack(mcd=self.mcd)

    def client_update(self, arrays: Arrays, client: int, target_x: Tensor, source: tuple[Tensor, Tensor] | None,
                      settings: Optimisation, seed: int) -> ClientResult:
        if source is None:
            raise ValueError("a FedAvg-MCD client trains on the labelled source images too; none were given")
        with seeded(seed):
            return self._local_mcd(arrays, target_x, source, settings, seed)

    def _local_mcd(self, arrays: Arrays, target_x: Tensor, source: tuple[Tensor, Tensor], settings: Optimisation,
                   seed: int) -> ClientResult:
        source_x, source_y = source
        generator = torch.Generator().manual_seed(seed)
        local = copy.deepcopy(self.mcd)
        local.load_state_dict(unpack(arrays, "mcd"))
        local.train()
        optimizers = [settings.adamw(p) for p in local.optimizer_parameters()]
        metrics: dict[str, float] = {}
        target_batches = batches(len(target_x), settings.batch_size, self.client_steps, generator)
        for step, (idx_s, idx_t) in enumerate(zip(batches(len(source_y), settings.batch_size, self.client_steps,
                                                          generator), target_batches)):
            batch = _batch(source_x[idx_s], source_y[idx_s], (target_x[idx_t],))
            metrics = run_phases(local.adversarial_losses(batch, step), optimizers)
        return ClientResult(pack(mcd=local), num_examples=len(target_x), metrics=metrics)

    def server_update(self, results: Mapping[int, ClientResult], source_x: Tensor, source_y: Tensor,
                      settings: Optimisation, seed: int) -> dict[str, float]:
        order = sorted(results)
        average = weighted_average([unpack(results[k].arrays, "mcd") for k in order],
                                   [results[k].num_examples for k in order])
        self.mcd.load_state_dict(average)
        return {}


def _batch(x_s: Tensor, y_s: Tensor, targets: tuple[Tensor, ...]) -> DomainBatch:
    return DomainBatch(LabelledBatch(x_s, y_s), targets)
