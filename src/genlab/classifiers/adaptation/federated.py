"""The federated protocol: models travel as named tensors, clients and server are functions.

In the style of Flower (Beutel et al. 2020), one round of a federated adaptation method is

1. the server **broadcasts** a message to each client: named tensors (``Arrays``, e.g.
   ``{"features.layers.0.weight": ..., "global_classifier....": ..., "source_gmm.means": ...}``);
2. each client runs a **client update**, a function of (the message, its own data, the settings,
   a seed) that returns a :class:`ClientResult`: the tensors it uploads, its number of examples
   and plain-float statistics;
3. the server runs a **server update** on the clients' results and its own (source) data (a
   method may defer part of it to the start of the next round, :meth:`FederatedModel.server_prepare`).

A :class:`FederatedModel` is an :class:`~genlab.classifiers.adaptation.base.AdaptationModel` that
implements these three steps, plus :meth:`~FederatedModel.pretrain` on the server's labelled
source data before the first round. The model object the client update receives is only a
*template* (its architecture); the update copies what it trains and never changes the template,
so the same function runs in one process (:mod:`genlab.training.federated.engine`) or in a
Flower ClientApp (:mod:`genlab.training.federated.flower_app`). :func:`payload_bytes` counts what
a message costs to send (the tensors' bytes), the statistic both engines record per round.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

import torch
from torch import Tensor, nn

from genlab.classifiers.adaptation.base import AdaptationModel
from genlab.data.domain_adaptation import DomainBatch
from genlab.errors import GenlabError
from genlab.trainable import AdversarialLoss
from genlab.utils.checks import at_least, non_negative, positive

#: one message: tensor name -> tensor
Arrays = dict[str, Tensor]


@dataclass
class ClientResult:
    """What one client uploads after its update, and its statistics."""

    arrays: Arrays
    num_examples: int
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Optimisation:
    """The optimiser settings every local loop uses (AdamW; the run's ``train`` section)."""

    batch_size: int = 128
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        at_least("batch_size", self.batch_size, 1)
        positive("lr", self.lr)
        non_negative("weight_decay", self.weight_decay)

    def adamw(self, parameters: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
        return torch.optim.AdamW(list(parameters), lr=self.lr, betas=self.betas, weight_decay=self.weight_decay)


def pack(**modules: nn.Module) -> Arrays:
    """``pack(features=G, global_classifier=F)`` -> ``{"features.<name>": tensor, ...}`` (copies)."""
    return {f"{prefix}.{name}": value.detach().clone()
            for prefix, module in modules.items() for name, value in module.state_dict().items()}


def unpack(arrays: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """The state dict under ``prefix`` of a message (names without the prefix)."""
    start = prefix + "."
    return {name[len(start):]: value for name, value in arrays.items() if name.startswith(start)}


def payload_bytes(arrays: Mapping[str, Tensor]) -> int:
    """Bytes of a message's tensors (what sending them costs, before any encoding)."""
    return sum(t.numel() * t.element_size() for t in arrays.values())


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block under torch's global generator seeded with ``seed`` (dropout draws from it) and
    restore the generator afterwards: a client or server update is a function of its seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def batches(n: int, batch_size: int, steps: int, generator: torch.Generator) -> Iterator[Tensor]:
    """``steps`` index batches (≤ ``batch_size`` each) over ``n`` items, passes drawn without replacement."""
    order = torch.empty(0, dtype=torch.long)
    for _ in range(steps):
        while len(order) < min(batch_size, n):
            order = torch.cat([order, torch.randperm(n, generator=generator)])
        yield order[:batch_size]
        order = order[batch_size:]


def run_phases(phases: Iterator[AdversarialLoss], optimizers: list[torch.optim.Optimizer]) -> dict[str, float]:
    """Step a model's adversarial phases with plain optimizers, as the trainer does
    (:meth:`genlab.training.module.FamilyModule._adversarial_step`, without Lightning): zero the
    phase's optimizers, back-propagate its loss, step them; returns the phases' metrics."""
    logged: dict[str, float] = {}
    for phase in phases:
        chosen = [optimizers[i] for i in phase.indices()]
        for opt in chosen:
            opt.zero_grad(set_to_none=True)
        phase.loss.backward()
        for opt in chosen:
            opt.step()
        logged.update(phase.metrics)
    return logged


class FederatedModel(AdaptationModel):
    """A model trained in rounds; ``clients`` is the number of target domains (one per client)."""

    clients: int
    rounds: int

    def training_loss(self, batch: DomainBatch) -> tuple[Tensor, dict[str, float]]:
        raise GenlabError(f"{type(self).__name__} trains in federated rounds, not batch by batch: train it with "
                          "genlab.training.federated.train_federated (the trainer's federated path)")

    def active_clients(self, round_index: int) -> list[int]:
        """The clients taking part in round ``round_index`` (1, 2, ...): all of them by default."""
        return list(range(self.clients))

    def pretrain(self, source_x: Tensor, source_y: Tensor, settings: Optimisation, steps: int,
                 generator: torch.Generator) -> dict[str, float]:
        """The server's training on the labelled source before round 1 (in place)."""
        raise NotImplementedError

    def broadcast(self, client: int, round_index: int) -> Arrays:
        """The server's message to ``client`` for round ``round_index`` (1, 2, ...)."""
        raise NotImplementedError

    def client_update(self, arrays: Arrays, client: int, target_x: Tensor, source: tuple[Tensor, Tensor] | None,
                      settings: Optimisation, seed: int) -> ClientResult:
        """One client's round on its unlabelled target images (N, C, H, W) (and, for methods
        whose clients hold it, the labelled source); leaves ``self`` unchanged."""
        raise NotImplementedError

    def server_update(self, results: Mapping[int, ClientResult], source_x: Tensor, source_y: Tensor,
                      settings: Optimisation, seed: int) -> dict[str, float]:
        """The server's part of a round, in place, from the clients' results."""
        raise NotImplementedError

    def server_prepare(self, round_index: int, source_x: Tensor, source_y: Tensor, settings: Optimisation,
                       seed: int) -> dict[str, float]:
        """The server's work at the start of round ``round_index``, before its broadcast (none by default)."""
        return {}

    #: whether a client update needs the labelled source images (FedAvg of per-client MCD)
    clients_need_source: bool = False
