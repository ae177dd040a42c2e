"""Every continuous-time family, built from the shipped configs exactly as the trainer builds it,
gives a finite scalar loss with gradients and samples the right shape with the right NFE, on
points and on digits."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from genlab.config import load_config
from genlab.data.registry import DATASETS, load_providers
from genlab.errors import ConfigError
from genlab.trainable import FAMILIES
from genlab.networks.registry import NETWORKS
from genlab.generative.processes.registry import PROCESSES
from support import CONFIGS

torch.set_num_threads(1)
load_providers()
CONFIGS = CONFIGS
FAMILY_CONFIGS = ["ddpm", "ncsn", "score_sde_vp", "score_sde_subvp", "score_sde_ve", "pfgm", "flow_matching"]
SMALL_NETWORK = {"mlp": {"hidden": 32, "depth": 1}, "unet": {"base_channels": 8, "channel_mults": [1, 2]}}

# (family sampler settings, expected NFE) per config: small step counts keep the test fast
SAMPLE_CASES = {
    "ddpm": [({"sampler": "ancestral", "steps": 7}, 7), ({"sampler": "ddim", "steps": 5}, 5)],
    "ncsn": [({"steps": 2}, None)],  # L levels × 2 + 1 denoising step, checked below
    "score_sde_vp": [({"sampler": "pc", "steps": 6}, 12)],  # predictor + one Langevin corrector
    "score_sde_subvp": [({"sampler": "ode"}, None)],  # adaptive: NFE > 0, reported
    "score_sde_ve": [({"sampler": "pc", "steps": 4}, 8)],
    "pfgm": [({"sampler": "ode"}, None)],
    "flow_matching": [({"sampler": "ode"}, None)],
}


def build(dataset: str, name: str):
    cfg = load_config(CONFIGS / dataset / f"{name}.yaml")
    assert set(cfg) == {"data", "family", "process", "network", "train"}
    net_cfg = {**cfg["network"], **SMALL_NETWORK[cfg["network"]["name"]]}
    bundle = DATASETS.build(cfg["data"])
    modality = bundle.modality
    family = FAMILIES.build(cfg["family"], modality=modality, process=PROCESSES.build(cfg["process"]),
                            network=NETWORKS.build(net_cfg, shapes=modality.shapes()))
    batch = next(iter(DataLoader(bundle.train, batch_size=16, shuffle=True, collate_fn=bundle.collate)))
    return family, batch, bundle


@pytest.mark.parametrize("dataset", ["points", "digits"])
@pytest.mark.parametrize("name", FAMILY_CONFIGS)
def test_family_loss_and_sample(dataset, name):
    torch.manual_seed(0)
    family, batch, bundle = build(dataset, name)
    loss, metrics = family(batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert isinstance(metrics["loss"], float)
    loss.backward()
    grads = [p.grad for p in family.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)

    if name in ("pfgm", "flow_matching", "score_sde_subvp"):
        family.rtol = family.atol = 1e-2  # an untrained net: keep the adaptive solve short
    shape = tuple(bundle.train[0].shape)
    for kwargs, nfe in SAMPLE_CASES[name]:
        out = family.sample(5, generator=torch.Generator().manual_seed(1), **kwargs)
        assert tuple(out.samples.shape) == (5, *shape)
        assert torch.isfinite(out.samples).all()
        if name == "ncsn":
            nfe = family.process.n_levels * kwargs["steps"] + 1
        if nfe is None:
            assert out.nfe > 0
        else:
            assert out.nfe == nfe


def test_ode_sampler_fixed_grid_nfe():
    family, _, _ = build("points", "flow_matching")
    family.ode_method = "rk4"
    assert family.sample(3, steps=10).nfe == 40
    family.ode_method = "euler"
    assert family.sample(3, steps=10).nfe == 10


def test_unknown_sampler_and_key_are_config_errors():
    family, _, _ = build("points", "ddpm")
    with pytest.raises(ConfigError):
        family.sample(2, sampler="nope")
    with pytest.raises(ConfigError):
        FAMILIES.build({"name": "ddpm", "n_stepz": 3}, modality=None, process=None, network=None)


def test_pfgm_without_aux_output_is_a_config_error():
    cfg = load_config(CONFIGS / "points" / "pfgm.yaml")
    bundle = DATASETS.build(cfg["data"])
    net_cfg = {k: v for k, v in cfg["network"].items() if k != "aux_dim"}
    family = FAMILIES.build(cfg["family"], modality=bundle.modality, process=PROCESSES.build(cfg["process"]),
                            network=NETWORKS.build(net_cfg, shapes=bundle.modality.shapes()))
    with pytest.raises(ConfigError, match="aux_dim"):
        family(bundle.train.data[:8])
