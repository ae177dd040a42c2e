"""The random views (identity settings give the image back; crops stay inside it; the same
generator gives the same views) and the features/head split of every classifier network."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genlab.classifiers.transfer.augment import ViewAugmentation
from genlab.classifiers.transfer.features import embed, feature_split
from genlab.errors import ConfigError
from genlab.networks.registry import NETWORKS


def images(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))  # (n, 1, 28, 28) in [0, 1]


def test_identity_settings_return_the_image():
    x = images()
    same = ViewAugmentation(crop_scale=(1.0, 1.0), rotation=0.0, brightness=0.0, contrast=0.0)
    assert torch.allclose(same(x, torch.Generator().manual_seed(0)), x, atol=1e-5)  # grid_sample rounding


def test_crop_windows_have_the_drawn_area_and_stay_inside_the_image():
    aug = ViewAugmentation(crop_scale=(0.3, 0.8), rotation=0.0)
    theta = aug.affine(2000, torch.Generator().manual_seed(1)).double()  # (B, 2, 3)
    s_x, s_y, t_x, t_y = theta[:, 0, 0], theta[:, 1, 1], theta[:, 0, 2], theta[:, 1, 2]
    area, ratio = s_x * s_y, s_x / s_y
    assert area.min() >= 0.3 - 1e-6 and area.max() <= 0.8 + 1e-6
    assert ratio.min() >= 3 / 4 - 1e-6 and ratio.max() <= 4 / 3 + 1e-6
    assert (t_x.abs() + s_x).max() <= 1 + 1e-6 and (t_y.abs() + s_y).max() <= 1 + 1e-6


def test_views_are_reproducible_bounded_and_different():
    x, aug = images(), ViewAugmentation()
    v_1, v_2 = aug(x, torch.Generator().manual_seed(5)), aug(x, torch.Generator().manual_seed(5))
    assert torch.equal(v_1, v_2) and v_1.shape == x.shape
    assert v_1.min() >= 0 and v_1.max() <= 1
    assert not torch.allclose(v_1, aug(x, torch.Generator().manual_seed(6)))


@pytest.mark.parametrize("keys,word", [({"crop_scale": (0.0, 1.0)}, "crop_scale"), ({"crop_scale": (0.9, 0.5)}, "crop_scale"),
                                       ({"rotation": -1.0}, "rotation"), ({"brightness": 1.5}, "brightness")])
def test_impossible_augmentations_are_refused_by_key(keys, word):
    with pytest.raises(ConfigError) as info:
        ViewAugmentation(**keys)
    assert info.value.key == word


@pytest.mark.parametrize("section", [
    {"name": "small_cnn"}, {"name": "madry_cnn", "channels": [4, 8], "hidden": 16},
    {"name": "mlp_classifier", "hidden": 8, "depth": 2}, {"name": "conv4", "channels": 8}])
def test_every_classifier_network_is_its_head_on_its_features(section):
    network = NETWORKS.build(section, shapes={"x": (1, 28, 28)}).eval()
    split = feature_split(network, (1, 28, 28))
    x = images(8)
    h = embed(split, x, batch_size=8)
    assert h.shape == (8, split.dim)
    assert torch.allclose(split.head(h), network(x), atol=1e-6)
    assert {id(p) for p in split.features.parameters()} | {id(p) for p in split.head.parameters()} == \
        {id(p) for p in network.parameters()}  # the same parameters, not copies


def test_a_network_without_a_split_is_refused_naming_the_network():
    with pytest.raises(ConfigError) as info:
        feature_split(nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Softmax(1)), (1, 28, 28))
    assert info.value.key == "network.name"
    with pytest.raises(ConfigError, match="no features/head split"):
        feature_split(nn.Conv2d(1, 2, 3), (1, 28, 28))
