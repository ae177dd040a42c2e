"""Digit domains: each recipe's known answer, determinism, the cached dataset entry, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from genlab.data.digit_domains import mnist_domains, syn_digits, uci_digits
from genlab.data.digit_domains.dataset import domain_arrays
from genlab.data.digit_domains.registry import DOMAINS, DomainArrays
from genlab.data.digit_domains.resize import to_rgb32
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError


def test_mnist_m_blend_is_the_difference_of_patch_and_binarised_digit():
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, size=(5, 28, 28)).astype(np.uint8)
    digits[digits < 128] = 0
    background = rng.integers(0, 256, size=(28, 28, 3)).astype(np.uint8)  # one patch fits exactly
    out = mnist_domains._blend(digits, [background], np.random.default_rng(1))
    expected = np.abs(background[None].astype(int) - 255 * (digits[..., None] > 0))
    assert out.dtype == np.uint8 and np.array_equal(out, expected)


def test_resize_keeps_grey_channels_equal_and_inversion_commutes():
    x = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28)).astype(np.uint8)
    rgb = to_rgb32(x)
    assert rgb.shape == (3, 32, 32, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])
    # bilinear resizing is linear: inverting before or after differs only by rounding ties
    assert np.abs(to_rgb32(255 - x).astype(int) - (255 - rgb.astype(int))).max() <= 1


def test_uci_digits_split_is_stratified_disjoint_and_scaled():
    arrays = uci_digits.uci_digits(seed=0)
    data = load_digits()
    assert len(arrays.test_labels) == uci_digits.N_TEST
    assert len(arrays.train_labels) + len(arrays.test_labels) == len(data.target)
    counts = np.bincount(data.target, minlength=10)
    expected = counts * uci_digits.N_TEST / len(data.target)
    assert np.all(np.abs(np.bincount(arrays.test_labels, minlength=10) - expected) < 1)
    # the brightest pixel of the upsampled image comes from a grey level of 16 -> 255 scaling
    assert arrays.train_images.max() > 200 and arrays.train_images.min() == 0
    again = uci_digits.uci_digits(seed=0)
    assert np.array_equal(again.test_labels, arrays.test_labels)
    assert not np.array_equal(uci_digits.uci_digits(seed=1).test_labels, arrays.test_labels)


def test_syn_digits_render_is_deterministic_and_every_font_draws_every_digit():
    for i, font in enumerate(syn_digits.FONTS):
        for d in range(10):
            image = syn_digits.render(d, np.random.default_rng([7, i, d]))
            assert image.shape == (32, 32, 3) and image.dtype == np.uint8
            assert image.std() > 5, f"{font} drew no visible {d}"
    a = syn_digits.render(3, np.random.default_rng([0, 0, 5]))
    b = syn_digits.render(3, np.random.default_rng([0, 0, 5]))
    assert np.array_equal(a, b)


def test_syn_digit_colours_keep_the_minimum_contrast():
    rng = np.random.default_rng(0)
    weights = np.array([0.299, 0.587, 0.114])
    for _ in range(200):
        stroke, ground = syn_digits._colours(rng)
        assert abs(weights @ (np.array(stroke) - np.array(ground))) >= syn_digits.MIN_CONTRAST * 255


def test_dataset_entry_is_cached_and_shaped():
    bundle = DATASETS.build({"name": "digit_domain", "domain": "uci_digits", "limit": 100, "limit_heldout": 50})
    x, y = bundle.train[0]
    assert x.shape == (3, 32, 32) and -1.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert len(bundle.train) == 100 and len(bundle.heldout) == 50 and 0 <= int(y) <= 9
    assert bundle.modality.shapes() == {"x": (3, 32, 32)}
    first = domain_arrays("uci_digits", 0)
    from genlab.data.digit_domains import dataset

    dataset._cached.cache_clear()  # the second read comes from the .npz
    second = domain_arrays("uci_digits", 0)
    for field in ("train_images", "train_labels", "test_images", "test_labels"):
        assert np.array_equal(getattr(first, field), getattr(second, field))


def test_bad_input_names_the_key():
    with pytest.raises(ConfigError, match="unknown domain 'svhn'") as err:
        DATASETS.build({"name": "digit_domain", "domain": "svhn"})
    assert err.value.key == "data.domain"
    with pytest.raises(ConfigError, match="limit"):
        DATASETS.build({"name": "digit_domain", "domain": "uci_digits", "limit": 10_000})
    with pytest.raises(ValueError, match="uint8"):
        DomainArrays(np.zeros((2, 32, 32, 3)), np.zeros(2), np.zeros((2, 32, 32, 3), np.uint8), np.zeros(2))


def test_every_domain_is_registered():
    DOMAINS.load_providers()
    assert set(DOMAINS.names()) == {"mnist", "mnist_m", "uci_digits", "syn_digits", "mnist_inverted"}
