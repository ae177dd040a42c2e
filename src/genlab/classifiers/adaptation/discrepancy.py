"""The classifier discrepancy of Maximum Classifier Discrepancy (Saito et al., CVPR 2018, §3.2).

Two classifiers' class probabilities p1, p2 on the same input differ by
d(p1, p2) = (1/K) Σ_k |p1_k − p2_k|, the mean absolute difference of the softmax outputs over the
K classes; the adversarial loss of steps B and C (eqs. 3–5) is its mean over the target inputs,
as ``torch.mean(torch.abs(softmax(out1) - softmax(out2)))`` in their code (MCD_DA, solver.py).
"""

from __future__ import annotations

from torch import Tensor


def sample_discrepancy(logits_1: Tensor, logits_2: Tensor) -> Tensor:
    """d(p1, p2) per input: (B, K) logits, twice -> (B,)."""
    return (logits_1.softmax(-1) - logits_2.softmax(-1)).abs().mean(-1)


def discrepancy(logits_1: Tensor, logits_2: Tensor) -> Tensor:
    """The mean of :func:`sample_discrepancy` over the batch: a scalar in [0, 2/K]."""
    return sample_discrepancy(logits_1, logits_2).mean()
