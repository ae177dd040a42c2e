"""Saito et al.'s MCD digit networks: the sizes of their code, the contracts, bad sizes."""

from __future__ import annotations

import pytest
import torch

from genlab.errors import ConfigError
from genlab.networks.registry import NETWORKS


def build(name: str, shape: tuple[int, int, int], **keys):
    return NETWORKS.build({"name": name, **keys}, shapes={"x": shape})


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_the_usps_variant_has_their_sizes():
    # MCD_DA model/usps.py on 28×28 MNIST: 48·4·4 = 768 features; conv 1->32 5×5, BN, conv 32->48 5×5, BN
    g = build("mcd_features", (1, 28, 28))
    assert g.out_features == 768 and count(g) == (25 * 32 + 32) + 64 + (32 * 48 * 25 + 48) + 96
    f = build("mcd_classifier", (1, 28, 28))
    assert f.in_features == 768 and count(f) == (768 * 100 + 100) + 200 + (100 * 100 + 100) + 200 + (100 * 10 + 10)
    # genlab's 3×32×32 domains: the mean over colour channels, then 48·5·5 features
    g, f = build("mcd_features", (3, 32, 32)), build("mcd_classifier", (3, 32, 32))
    x = torch.rand(4, 3, 32, 32)
    assert g(x).shape == (4, 1200) and f(g(x)).shape == (4, 10)
    grey = x.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    g.eval()
    assert torch.allclose(g(x), g(grey), atol=1e-6)  # it reads grey images


def test_the_svhn_variant_has_their_sizes():
    g = build("mcd_features", (3, 32, 32), variant="svhn")
    linear = [m for m in g.modules() if isinstance(m, torch.nn.Linear)]
    assert g.out_features == 3072 and [(m.in_features, m.out_features) for m in linear] == [(8192, 3072)]
    f = build("mcd_classifier", (3, 32, 32), variant="svhn", classes=7)
    linear = [(m.in_features, m.out_features) for m in f.modules() if isinstance(m, torch.nn.Linear)]
    assert linear == [(3072, 2048), (2048, 7)]
    assert f(g.eval()(torch.rand(2, 3, 32, 32))).shape == (2, 7)


@pytest.mark.parametrize("name, shape, keys, key", [
    ("mcd_features", (3, 32, 32), {"variant": "lenet"}, "network.variant"),
    ("mcd_classifier", (3, 32, 32), {"classes": 1}, "network.classes"),
    ("mcd_classifier", (3, 32, 32), {"dropout": 1.0}, "network.dropout"),
    ("mcd_features", (3, 12, 12), {}, "network"),  # too small for two valid 5×5 convolutions
    ("mcd_features", (2,), {}, "network"),  # not images
])
def test_bad_sizes_are_one_line_errors(name, shape, keys, key):
    with pytest.raises(ConfigError) as info:
        build(name, shape, **keys)
    assert info.value.key == key and "\n" not in str(info.value)
