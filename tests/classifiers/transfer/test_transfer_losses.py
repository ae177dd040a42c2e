"""The two losses against hand-written definitions: NT-Xent (Chen et al. 2020, eq. 1) as a double
loop over anchors and candidates, and the KL of soft labels as a sum over classes."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.classifiers.transfer.nt_xent import nt_xent
from genlab.classifiers.transfer.startup import soft_label_kl


def nt_xent_loop(z_1: torch.Tensor, z_2: torch.Tensor, tau: float) -> float:
    """Eq. (1) written out: ℓ(i, j) for each of the 2N anchors, then the mean."""
    z = [v.double() for v in torch.cat([z_1, z_2])]
    n2 = len(z)

    def sim(u, v):
        return float(u @ v / (u.norm() * v.norm()))

    total = 0.0
    for i in range(n2):
        j = (i + n2 // 2) % n2  # the other view of the same example
        denominator = sum(math.exp(sim(z[i], z[k]) / tau) for k in range(n2) if k != i)
        total += -math.log(math.exp(sim(z[i], z[j]) / tau) / denominator)
    return total / n2


@pytest.mark.parametrize("tau", [1.0, 0.5, 0.1])
def test_nt_xent_equals_the_double_loop(tau):
    g = torch.Generator().manual_seed(1)
    z_1, z_2 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    assert nt_xent(z_1, z_2, tau).item() == pytest.approx(nt_xent_loop(z_1, z_2, tau), rel=1e-5)


def test_nt_xent_is_symmetric_in_the_views_and_scale_free():
    g = torch.Generator().manual_seed(2)
    z_1, z_2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    assert nt_xent(z_1, z_2).item() == pytest.approx(nt_xent(z_2, z_1).item(), rel=1e-6)
    assert nt_xent(3 * z_1, 0.5 * z_2).item() == pytest.approx(nt_xent(z_1, z_2).item(), rel=1e-5)


def test_nt_xent_of_perfectly_aligned_orthogonal_pairs():
    """z_1 = z_2 = the N unit vectors: each anchor's positive has similarity 1 and its 2N − 2
    negatives 0 (the anchor itself is left out), so ℓ = −log(e^{1/τ} / (e^{1/τ} + 2N − 2))."""
    n, tau = 4, 0.5
    z = torch.eye(n)
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2 * n - 2))
    assert nt_xent(z, z.clone(), tau).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_refuses_mismatched_views_and_a_bad_temperature():
    with pytest.raises(ValueError, match="same shape"):
        nt_xent(torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="temperature"):
        nt_xent(torch.ones(3, 2), torch.ones(3, 2), 0.0)


def test_kl_of_soft_labels_is_zero_for_the_teacher_itself_and_matches_the_sum():
    g = torch.Generator().manual_seed(3)
    teacher_logits, student_logits = torch.randn(7, 10, generator=g), torch.randn(7, 10, generator=g)
    p = torch.softmax(teacher_logits, 1)
    assert soft_label_kl(teacher_logits, p).item() == pytest.approx(0.0, abs=1e-6)
    q = torch.softmax(student_logits, 1)
    by_hand = sum(float(p[b, c] * (p[b, c].log() - q[b, c].log())) for b in range(7) for c in range(10)) / 7
    assert soft_label_kl(student_logits, p).item() == pytest.approx(by_hand, rel=1e-5)
    one_hot = torch.nn.functional.one_hot(torch.arange(7) % 10, 10).float()  # 0 log 0 = 0: cross-entropy
    assert soft_label_kl(student_logits, one_hot).item() == pytest.approx(
        torch.nn.functional.cross_entropy(student_logits, torch.arange(7) % 10).item(), rel=1e-6)
