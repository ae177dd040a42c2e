"""``dualadapt``: federated multi-target domain adaptation (Yao, Gong, Qi, Cui, Zhu & Yang, WACV 2022).

One server holds the labelled source domain; client i holds the unlabelled images of target
domain i. The model is a feature generator G, a global classifier F_g and one local classifier
F_l^i per client, with Gaussian mixtures of features (:mod:`.gmm`): W_S of the source, W_T^i of
target i. The method, as this module implements it:

* **pre-training** (server): G and F_g on the source labels; W_S fitted to source features;
* **broadcast**: G, F_g and W_S to every client;
* **client update** (:mod:`.client`, "local adaptation"): with G fixed, F_l^i starts from F_g
  and is trained on target features to agree with F_g's pseudo-labels, each weighted by the
  probability that its feature is source-like (W_S against W_T^i), while disagreeing with F_g as
  much as it can on the rest (MCD's step B with F_g as the fixed first classifier); W_T^i is
  fitted to the client's features; F_l^i and W_T^i go back to the server;
* **server update** (:mod:`.server`, "global adaptation"): G moves mix-up inputs of pairs of
  source images (x = λ x_a + (1 − λ) x_b) where F_g and each F_l^i agree, each input weighted by
  how target-like it is for client i (W_T^i against W_S) — MCD's step C without target images —
  and G and F_g are fine-tuned on the source labels; W_S is fitted again. The server installs the
  uploads at the end of a round and moves G at the start of the next, before its broadcast, so
  after every round (and at the end) each F_l^i, W_T^i and client's statistics were computed
  from the G the model holds.

A target image of client i is classified by the mean of the two classifiers' probabilities,
(F_g(G(x)) + F_l^i(G(x))) / 2. With ``client_statistics`` (default), client i computes G(x) with
batch-normalisation statistics estimated on its own images (:mod:`.norm_statistics`, AdaBN),
uploads them, and its target is predicted with them: genlab's addition.

The paper's text was not at hand when this was written: the steps above follow the method's
published description (global and local classifiers, GMM-weighted pseudo-labels on clients,
GMM-weighted discrepancy on mix-up source inputs on the server), and these choices are genlab's:
the weights are posterior probabilities σ(log W_a − log W_b) of two mixtures sharing one PCA
projection fitted on source features; λ ~ Beta(``mixup_alpha``, ``mixup_alpha``) per pair; the
server alternates ``num_k`` discrepancy steps of G with one source step per iteration, as MCD
alternates its steps C and A.

**New client joins** (``join_round``, beyond the paper): the last client takes part only from
round ``join_round + 1`` on. In its first round the server also sends it the other clients' F_l
and W_T; it starts its F_l from the F_l of the client whose W_T gives its features the highest
mean log-likelihood (``join_init: nearest``) instead of from F_g (``join_init: global``, every
other client's start).
"""

from __future__ import annotations

import copy
from typing import Mapping

import torch
from torch import Tensor, nn

from genlab.classifiers.adaptation.dualadapt import client as client_step
from genlab.classifiers.adaptation.dualadapt import server as server_step
from genlab.classifiers.adaptation.dualadapt.gmm import FeatureGMM
from genlab.classifiers.adaptation.dualadapt.norm_statistics import ClientStatistics
from genlab.classifiers.adaptation.federated import Arrays, ClientResult, FederatedModel, Optimisation, pack, seeded
from genlab.errors import ConfigError
from genlab.modalities.base import Modality
from genlab.utils.checks import at_least, at_most, non_negative, one_of, positive

JOIN_INITS = ("nearest", "global")


class DualAdapt(FederatedModel):
    """``DualAdapt(modality, features, classifier, clients, rounds, ...)``; the module's method."""

    def __init__(self, modality: Modality, features: nn.Module, classifier: nn.Module, clients: int = 1,
                 rounds: int = 10, client_steps: int = 100, server_steps: int = 100, num_k: int = 4,
                 discrepancy_weight: float = 1.0, mixup_alpha: float = 1.0, gmm_components: int = 10,
                 gmm_dim: int = 32, gmm_images: int = 5000, client_statistics: bool = True,
                 join_round: int | None = None, join_init: str = "nearest") -> None:
        super().__init__(modality, features, classifier)
        for key, value in (("clients", clients), ("rounds", rounds), ("num_k", num_k)):
            at_least(key, value, 1)
        for key, value in (("client_steps", client_steps), ("server_steps", server_steps)):
            non_negative(key, value)
        non_negative("discrepancy_weight", discrepancy_weight)
        positive("mixup_alpha", mixup_alpha)
        at_least("gmm_images", gmm_images, gmm_components)
        one_of("join_init", join_init, JOIN_INITS)
        if join_round is not None:
            at_least("join_round", join_round, 1)
            at_most("join_round", join_round, rounds - 1, bound="rounds - 1")
            if clients < 2:
                raise ConfigError("a client can join only beside at least one other (clients ≥ 2)",
                                  key="family.join_round")
        width = getattr(features, "out_features", None)
        if width is None:
            raise ConfigError("DualAdapt's feature network must say its width (out_features)", key="network.features")
        self.clients, self.rounds = clients, rounds
        self.client_steps, self.server_steps, self.num_k = client_steps, server_steps, num_k
        self.discrepancy_weight, self.mixup_alpha = discrepancy_weight, mixup_alpha
        self.gmm_images, self.join_round, self.join_init = gmm_images, join_round, join_init
        self.features, self.global_classifier = features, classifier
        self.local_classifiers = nn.ModuleList(copy.deepcopy(classifier) for _ in range(clients))
        self.source_gmm = FeatureGMM(width, gmm_dim, gmm_components)
        self.target_gmms = nn.ModuleList(FeatureGMM(width, gmm_dim, gmm_components) for _ in range(clients))
        self.client_statistics = client_statistics
        if client_statistics:  # each client's batch-normalisation statistics of G (norm_statistics)
            self.client_norms = nn.ModuleList(ClientStatistics(features) for _ in range(clients))
        self._server: server_step.ServerOptimizers | None = None  # the server's optimizers, kept over rounds
        self._installed: list[int] = []  # the clients whose uploads the next server update uses

    # --- prediction -------------------------------------------------------------------------------

    def target_probabilities(self, x: Tensor, domain: Tensor) -> Tensor:
        parts = {i: self.client_probabilities(x[domain == i], i) for i in domain.unique().tolist()}
        first = next(iter(parts.values()))
        p = first.new_empty(len(x), first.shape[1])  # (B, K)
        for i, p_i in parts.items():
            p[domain == i] = p_i
        return p

    def client_probabilities(self, x: Tensor, client: int) -> Tensor:
        """(F_g(h) + F_l^client(h)) / 2 as probabilities (B, K), h = G(x) as the client computes it."""
        h = self.client_features(x, client)  # (B, D)
        return 0.5 * (self.global_classifier(h).softmax(-1) + self.local_classifiers[client](h).softmax(-1))

    def client_features(self, x: Tensor, client: int) -> Tensor:
        """G(x) as client ``client`` computes it: with its batch-normalisation statistics."""
        if not self.client_statistics:
            return self.features(x)
        with self.client_norms[client].applied(self.features):
            return self.features(x)

    # --- rounds -----------------------------------------------------------------------------------

    def active_clients(self, round_index: int) -> list[int]:
        """The clients of round ``round_index`` (1, 2, ...): all, or all but a joiner not yet in."""
        if self.join_round is not None and round_index <= self.join_round:
            return list(range(self.clients - 1))
        return list(range(self.clients))

    def pretrain(self, source_x: Tensor, source_y: Tensor, settings: Optimisation, steps: int,
                 generator: torch.Generator) -> dict[str, float]:
        self._server = server_step.ServerOptimizers.create(self, settings)
        metrics = server_step.source_steps(self, self._server, source_x, source_y, settings, steps, generator)
        server_step.fit_source_gmm(self, source_x, int(torch.randint(2**31, (1,), generator=generator)))
        for local in self.local_classifiers:  # every prediction starts as F_g's
            local.load_state_dict(self.global_classifier.state_dict())
        for norms in getattr(self, "client_norms", []):
            norms.copy_from(self.features)
        return metrics

    def broadcast(self, client: int, round_index: int) -> Arrays:
        arrays = pack(features=self.features, global_classifier=self.global_classifier, source_gmm=self.source_gmm)
        if self.join_init == "nearest" and self.join_round is not None and client == self.clients - 1 \
                and round_index == self.join_round + 1:  # the joiner's first round: the others' F_l and W_T
            for j in range(self.clients - 1):
                arrays.update(pack(**{f"candidate_{j}_classifier": self.local_classifiers[j],
                                      f"candidate_{j}_gmm": self.target_gmms[j]}))
        return arrays

    def client_update(self, arrays: Arrays, client: int, target_x: Tensor, source: tuple[Tensor, Tensor] | None,
                      settings: Optimisation, seed: int) -> ClientResult:
        with seeded(seed):
            return client_step.local_adaptation(self, arrays, target_x, settings, seed)

    def server_update(self, results: Mapping[int, ClientResult], source_x: Tensor, source_y: Tensor,
                      settings: Optimisation, seed: int) -> dict[str, float]:
        """Install the uploads; G and F_g move at the start of the next round (:meth:`server_prepare`),
        so the model after a round is consistent: its F_l, W_T and statistics come from its own G."""
        server_step.install(self, results)
        self._installed = sorted(results)
        return {}

    def server_prepare(self, round_index: int, source_x: Tensor, source_y: Tensor, settings: Optimisation,
                       seed: int) -> dict[str, float]:
        """The update of G and F_g with the previous round's uploads (none before round 2)."""
        if not self._installed:
            return {}
        if self._server is None:
            self._server = server_step.ServerOptimizers.create(self, settings)
        with seeded(seed):
            return server_step.global_adaptation(self, self._server, self._installed, source_x, source_y,
                                                 settings, seed)
