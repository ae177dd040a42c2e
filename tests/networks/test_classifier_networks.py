"""Classifier networks: ``logits = network(x)`` of shape (B, classes) for images and points; the
published architectures' parameter counts; a known-answer forward; impossible sizes name their key."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from genlab.errors import ConfigError
from genlab.networks.registry import NETWORKS

MNIST = {"x": (1, 28, 28)}


def build(section: dict, shapes=MNIST) -> nn.Module:
    return NETWORKS.build(section, shapes=shapes)


def n_parameters(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())


@pytest.mark.parametrize("name, shapes", [
    ("mlp_classifier", {"x": (2,)}),
    ("mlp_classifier", MNIST),
    ("small_cnn", MNIST),
    ("small_cnn", {"x": (1, 8, 8)}),
    ("small_cnn", {"x": (3, 32, 32)}),
    ("madry_cnn", MNIST),
    ("madry_cnn", {"x": (1, 8, 8)}),
    ("madry_cnn", {"x": (3, 9, 7)}),  # odd sizes: pooling rounds up, as TensorFlow's "SAME"
])
def test_logits_have_one_row_per_input_and_one_column_per_class(name, shapes):
    torch.manual_seed(0)
    network = build({"name": name, "classes": 7}, shapes)
    x = torch.rand(5, *shapes["x"])  # pixels in [0, 1] (or points)
    logits = network(x)
    assert logits.shape == (5, 7) and torch.isfinite(logits).all()
    assert torch.allclose(network(x[:2]), logits[:2], atol=1e-6)  # per-sample: no batch coupling


def test_madry_cnn_has_the_published_parameter_count():
    # conv 5x5x1x32 + 32, conv 5x5x32x64 + 64, fc (7*7*64)x1024 + 1024, fc 1024x10 + 10
    published = (25 * 32 + 32) + (25 * 32 * 64 + 64) + (7 * 7 * 64 * 1024 + 1024) + (1024 * 10 + 10)
    assert published == 3_274_634
    assert n_parameters(build({"name": "madry_cnn"})) == published


def test_small_cnn_has_wong_et_al_parameter_count():
    # conv 4x4x1x16 + 16, conv 4x4x16x32 + 32, fc (7*7*32)x100 + 100, fc 100x10 + 10
    published = (16 * 16 + 16) + (16 * 16 * 32 + 32) + (7 * 7 * 32 * 100 + 100) + (100 * 10 + 10)
    assert n_parameters(build({"name": "small_cnn"})) == published == 166_406


def test_mlp_classifier_sizes():
    assert n_parameters(build({"name": "mlp_classifier", "hidden": 32, "depth": 2})) == \
        (784 * 32 + 32) + (32 * 32 + 32) + (32 * 10 + 10)
    assert n_parameters(build({"name": "mlp_classifier", "depth": 0})) == 784 * 10 + 10  # logistic regression


@pytest.mark.parametrize("name", ["mlp_classifier", "small_cnn", "madry_cnn"])
def test_zero_weights_give_the_output_bias(name):
    network = build({"name": name})
    bias = torch.arange(10, dtype=torch.float32)
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                module.weight.zero_()
                module.bias.zero_()
        network.layers[-1].bias.copy_(bias)
    assert torch.equal(network(torch.rand(3, 1, 28, 28)), bias.expand(3, 10))


def test_madry_cnn_known_answer_through_every_layer():
    """All-ones weights, zero biases, a constant image c: each output pixel of a "same" 5×5 conv
    sums the in-image taps, pooling takes the largest (an interior one), and so on to the logits."""
    network = build({"name": "madry_cnn", "channels": [1, 1], "hidden": 1, "classes": 2}, {"x": (1, 4, 4)})
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                module.weight.fill_(1.0)
                module.bias.zero_()
    c = 0.5
    # conv1 on a constant 4x4 image: a corner pixel sums 3x3 in-image taps (9c), an interior one all
    # 4x4 (16c); every 2x2 pooling window holds an interior pixel -> 2x2 of 16c; conv2 on 2x2: each
    # pixel sums all 4 -> 64c; pool -> 64c; fc to 1 unit -> 64c; fc to 2 classes -> 64c each
    assert torch.allclose(network(torch.full((1, 1, 4, 4), c)), torch.full((1, 2), 64 * c))


@pytest.mark.parametrize("section, key", [
    ({"name": "small_cnn", "classes": 1}, "network.classes"),
    ({"name": "small_cnn", "hidden": 0}, "network.hidden"),
    ({"name": "madry_cnn", "channels": [32, 0]}, "network.channels"),
    ({"name": "madry_cnn", "channels": [32]}, "network.channels"),
    ({"name": "mlp_classifier", "depth": -1}, "network.depth"),
])
def test_impossible_sizes_name_their_key(section, key):
    with pytest.raises(ConfigError, match=re.escape(f"key '{key}'")):
        build(section)


def test_too_small_or_non_image_inputs_are_refused():
    with pytest.raises(ConfigError, match="3×3 images are too small"):
        build({"name": "small_cnn"}, {"x": (1, 3, 3)})
    with pytest.raises(ConfigError, match="reads images"):
        build({"name": "madry_cnn"}, {"x": (2,)})
    with pytest.raises(ConfigError, match="reads one input tensor"):
        build({"name": "mlp_classifier"}, {"x": (4, 3), "adj": (4, 4, 2)})
