"""DualAdapt's client update ("local adaptation", :mod:`.model`): a function of the server's
message, the client's unlabelled target images, the settings and a seed.

With G and F_g fixed (as the message holds them), the client computes its features h = G(x) once
(G in evaluation mode; with ``client_statistics``, with batch-normalisation statistics estimated on
its images first, :mod:`.norm_statistics`), fits W_T to them in W_S's projection, and trains F_l, started from F_g
(or, when it joins, from the nearest other client's F_l), for ``client_steps`` steps on batches
of h. Each batch's loss is

    L = Σ_b w_b CE(F_l(h_b), ŷ_b) / Σ_b w_b  −  λ · mean_b d(F_g(h_b), F_l(h_b))

with ŷ_b = argmax F_g(h_b) the global classifier's pseudo-label, w_b = σ(log W_S(h_b) − log
W_T(h_b)) the probability that h_b is source-like (where F_g can be trusted), d the MCD
discrepancy and λ ``discrepancy_weight``. The upload is F_l and W_T (and the statistics).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from genlab.classifiers.adaptation.discrepancy import discrepancy
from genlab.classifiers.adaptation.dualadapt.gmm import FeatureGMM, batch_weights, log_domain_posterior
from genlab.classifiers.adaptation.dualadapt.norm_statistics import ClientStatistics, estimate
from genlab.classifiers.adaptation.federated import Arrays, ClientResult, Optimisation, batches, pack, unpack

#: images per forward pass when the client computes its features
FEATURE_BATCH = 1000


@torch.no_grad()
def client_features(features: torch.nn.Module, images: Tensor, template: Any) -> Tensor:
    """G(x) of (N, C, H, W) data-space images in evaluation mode: (N, D)."""
    was_training = features.training
    features.eval()
    out = torch.cat([features(template.inputs(images[i:i + FEATURE_BATCH]))
                     for i in range(0, len(images), FEATURE_BATCH)])
    features.train(was_training)
    return out


def nearest_client(candidates: dict[int, FeatureGMM], h: Tensor) -> int:
    """The client whose mixture gives the features ``h`` (N, D) the highest mean log-likelihood."""
    scores = {j: float(gmm.log_likelihood(h).mean()) for j, gmm in candidates.items()}
    return max(scores, key=scores.get)


def local_adaptation(template: Any, arrays: Arrays, target_x: Tensor, settings: Optimisation,
                     seed: int) -> ClientResult:
    """The module's client update; ``template`` gives the architecture and is left unchanged."""
    generator = torch.Generator().manual_seed(seed)
    features = copy.deepcopy(template.features)
    features.load_state_dict(unpack(arrays, "features"))
    global_classifier = copy.deepcopy(template.global_classifier).eval()
    global_classifier.load_state_dict(unpack(arrays, "global_classifier"))
    source_gmm = copy.deepcopy(template.source_gmm)
    source_gmm.load_state_dict(unpack(arrays, "source_gmm"))
    upload: dict[str, torch.nn.Module] = {}
    if template.client_statistics:  # G's batch-normalisation statistics of this client's images
        estimate(features, target_x, template.inputs)
        upload["client_norm"] = ClientStatistics(features)
    h = client_features(features, target_x, template)  # (N, D)

    local = copy.deepcopy(global_classifier)
    metrics: dict[str, float] = {}
    candidates = _candidates(template, arrays)
    if candidates:  # a joining client: start from the nearest other client's F_l
        chosen = nearest_client({j: gmm for j, (_, gmm) in candidates.items()}, h)
        local.load_state_dict(candidates[chosen][0].state_dict())
        metrics["joined_from"] = float(chosen)
    target_gmm = copy.deepcopy(template.source_gmm).fit(h, seed, projection_from=source_gmm)

    with torch.no_grad():
        pseudo = global_classifier(h).argmax(1)  # (N,) ŷ
        log_weight = log_domain_posterior(h, source_gmm, target_gmm)  # (N,) log w
    local.train()
    optimizer = settings.adamw(local.parameters())
    ce_sum = d_sum = 0.0
    for idx in batches(len(h), settings.batch_size, template.client_steps, generator):
        h_b, w_b = h[idx], batch_weights(log_weight[idx])  # (B, D), (B,) summing to 1
        logits = local(h_b)  # (B, K)
        with torch.no_grad():
            logits_g = global_classifier(h_b)
        ce = (w_b * F.cross_entropy(logits, pseudo[idx], reduction="none")).sum()
        d = discrepancy(logits_g, logits)
        loss = ce - template.discrepancy_weight * d
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        ce_sum, d_sum = ce_sum + float(ce.detach()), d_sum + float(d.detach())
    steps = max(template.client_steps, 1)
    with torch.no_grad():
        agreement = float((local.eval()(h).argmax(1) == pseudo).float().mean())
    metrics.update({"pseudo_label_ce": ce_sum / steps, "discrepancy": d_sum / steps,
                    "source_likeness": float(log_weight.exp().mean()), "agreement_with_global": agreement})
    return ClientResult(pack(local_classifier=local, target_gmm=target_gmm, **upload), num_examples=len(h),
                        metrics=metrics)


def _candidates(template: Any, arrays: Arrays) -> dict[int, tuple[torch.nn.Module, FeatureGMM]]:
    """The other clients' (F_l, W_T) a joining client's message holds, by client index."""
    out = {}
    for j in range(template.clients):
        classifier, gmm = unpack(arrays, f"candidate_{j}_classifier"), unpack(arrays, f"candidate_{j}_gmm")
        if classifier and gmm:
            module = copy.deepcopy(template.global_classifier).eval()
            module.load_state_dict(classifier)
            mixture = copy.deepcopy(template.source_gmm)
            mixture.load_state_dict(gmm)
            out[j] = (module, mixture)
    return out
