"""Data and modalities for points and images: seeded toy sets, the digits split, user .npz
files with clear errors, and exact State round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from genlab.data.images import load_npz_images
from genlab.data.points import TOY_2D, make_points
from genlab.data.registry import DATASETS, load_providers
from genlab.errors import ConfigError, GenlabError
from genlab.modalities.base import State
from genlab.modalities.images import ImagesModality
from genlab.modalities.points import PointsModality
from genlab.modalities.registry import MODALITIES

torch.set_num_threads(1)
load_providers()
TOYS = ["8gaussians", "checkerboard", "moons", "circles", "swissroll", "2spirals", "pinwheel"]


def test_all_toy_distributions_are_registered():
    assert set(TOYS) <= set(TOY_2D.names())


@pytest.mark.parametrize("name", TOYS)
def test_toy_sets_are_seeded_and_heldout_differs(name):
    a = DATASETS.build({"name": "points", "dataset": name, "n_train": 500, "n_heldout": 300, "seed": 3})
    b = DATASETS.build({"name": "points", "dataset": name, "n_train": 500, "n_heldout": 300, "seed": 3})
    c = DATASETS.build({"name": "points", "dataset": name, "n_train": 500, "n_heldout": 300, "seed": 4})
    assert a.train.data.shape == (500, 2) and a.heldout.data.shape == (300, 2)
    assert a.train.data.dtype == torch.float32 and torch.isfinite(a.train.data).all()
    assert torch.equal(a.train.data, b.train.data) and torch.equal(a.heldout.data, b.heldout.data)
    assert not torch.equal(a.train.data, c.train.data)
    assert not torch.equal(a.train.data[:300], a.heldout.data)
    assert a.train.data.abs().max() < 6
    batch = next(iter(DataLoader(a.train, batch_size=32)))
    assert batch.shape == (32, 2)
    assert isinstance(a.modality, PointsModality) and a.modality.shapes() == {"x": (2,)}


def test_eight_gaussians_has_eight_modes_on_a_circle():
    x = make_points("8gaussians", 4000, np.random.default_rng(0))
    angles = np.round(np.arctan2(x[:, 1], x[:, 0]) / (np.pi / 4)) % 8
    counts = np.bincount(angles.astype(int), minlength=8)
    assert (counts > 400).all()
    assert abs(np.linalg.norm(x, axis=1).mean() - 2.5) < 0.05


def test_unknown_toy_is_a_config_error():
    with pytest.raises(ConfigError):
        DATASETS.build({"name": "points", "dataset": "9gaussians"})


def test_digits_are_scaled_split_and_shaped():
    bundle = DATASETS.build({"name": "digits"})
    train, held = bundle.train.data, bundle.heldout.data
    assert train.shape == (1500, 1, 8, 8) and held.shape == (297, 1, 8, 8)
    assert float(train.min()) == -1.0 and float(train.max()) == 1.0
    levels = torch.unique(torch.cat([train, held]) * 8 + 8)
    assert torch.equal(levels, torch.arange(17, dtype=torch.float32))  # 17 grey levels, exact
    again = DATASETS.build({"name": "digits"})
    assert torch.equal(again.heldout.data, held)
    modality = bundle.modality
    assert modality.shapes() == {"x": (1, 8, 8)} and modality.data_scale == 1 / 8
    state = modality.encode(next(iter(DataLoader(bundle.train, batch_size=4))))
    assert state.parts["x"].shape == (4, 1, 8, 8)
    assert torch.equal(modality.dims(state), torch.full((4,), 64))


def test_npz_images_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (10, 5, 6), dtype=np.uint8)
    rgb = rng.integers(0, 256, (10, 4, 4, 3), dtype=np.uint8)
    np.savez(tmp_path / "gray.npz", images=gray)
    np.savez(tmp_path / "rgb.npz", rgb)
    x = load_npz_images(tmp_path / "gray.npz")
    assert x.shape == (10, 1, 5, 6)
    assert np.array_equal(np.round((x[:, 0] + 1) * 127.5).astype(np.uint8), gray)
    bundle = DATASETS.build({"name": "npz", "path": str(tmp_path / "rgb.npz"), "heldout_fraction": 0.2})
    assert bundle.train.data.shape == (8, 3, 4, 4) and bundle.heldout.data.shape == (2, 3, 4, 4)
    assert bundle.modality.shapes() == {"x": (3, 4, 4)}
    assert np.array_equal(load_npz_images(tmp_path / "rgb.npz")[3].transpose(1, 2, 0),
                          rgb[3].astype(np.float32) / 127.5 - 1)


@pytest.mark.parametrize("content,message", [
    (lambda p: np.savez(p, images=np.zeros((4, 5, 5), dtype=np.float32)), "dtype float32"),
    (lambda p: np.savez(p, images=np.zeros((4, 5), dtype=np.uint8)), "shape"),
    (lambda p: np.savez(p, images=np.array([{"a": 1}, None], dtype=object)), "pickle"),
    (lambda p: np.savez(p, a=np.zeros((2, 3, 3), np.uint8), b=np.zeros((2, 3, 3), np.uint8)), "data.key"),
    (lambda p: p.write_bytes(b"not a zip file"), "cannot read"),
])
def test_bad_npz_gives_a_genlab_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    content(path)
    with pytest.raises(GenlabError, match=message) as info:
        DATASETS.build({"name": "npz", "path": str(path)})
    assert str(path) in str(info.value)


def test_missing_npz_names_the_file(tmp_path):
    with pytest.raises(GenlabError, match="no such file") as info:
        load_npz_images(tmp_path / "absent.npz")
    assert "absent.npz" in str(info.value)


def test_state_flatten_roundtrip_and_modalities():
    state = State({"x": torch.randn(3, 2, 4), "adj": torch.randn(3, 4, 4, 2)})
    flat = state.flatten()
    assert flat.shape == (3, 8 + 32)
    back = state.unflatten(flat)
    assert all(torch.equal(back.parts[k], state.parts[k]) for k in state.parts)
    for name, kwargs, shape in [("points", {"dim": 3}, (3,)), ("images", {"channels": 2, "height": 5, "width": 7}, (2, 5, 7))]:
        modality = MODALITIES.build({"name": name, **kwargs})
        template = modality.prior_template(4)
        assert template.parts["x"].shape == (4, *shape) and (template.parts["x"] == 0).all()
        g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
        assert torch.equal(modality.noise(template, g1).parts["x"], modality.noise(template, g2).parts["x"])
    assert torch.equal(ImagesModality().decode(State({"x": torch.tensor([[-3.0, 0.5, 2.0]])})),
                       torch.tensor([[-1.0, 0.5, 1.0]]))
