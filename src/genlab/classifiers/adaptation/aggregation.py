"""Federated averaging: the server's model is the sample-weighted mean of the clients' models.

FedAvg (McMahan et al., AISTATS 2017, Algorithm 1): after a round, w ← Σ_k (n_k / n) w_k with
n_k the number of examples client k trained on and n = Σ_k n_k. Every floating-point tensor of the
state dicts is averaged so (batch-normalisation running statistics included); integer tensors
(batch-normalisation's batch counter) are counts, not parameters, and keep the first client's value.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import Tensor

from genlab.utils.checks import positive


def weighted_average(states: Sequence[Mapping[str, Tensor]], weights: Sequence[float]) -> dict[str, Tensor]:
    """Σ_k (weights_k / Σ weights) states_k for every floating tensor; same names in every state."""
    if len(states) == 0 or len(states) != len(weights):
        raise ValueError(f"{len(states)} states and {len(weights)} weights: need one weight per state, at least one")
    for w in weights:
        positive("num_examples", w)
    names = set(states[0])
    for state in states[1:]:
        if set(state) != names:
            raise ValueError(f"states hold different tensors: {sorted(names ^ set(state))[:3]}")
    total = float(sum(weights))
    out = {}
    for name, first in states[0].items():
        if not first.is_floating_point():
            out[name] = first.clone()
            continue
        stacked = torch.stack([s[name].double() for s in states])  # (K, ...)
        share = torch.tensor([w / total for w in weights], dtype=torch.float64)  # (K,)
        out[name] = torch.tensordot(share, stacked, dims=1).to(first.dtype)
    return out
