"""Behaviour kept: every shipped config, built with a fixed seed, gives the same loss on a fixed
batch and bit-identical samples for a fixed seed (a classifier: its logits on that batch) as when
the golden file was written.

The golden file ``tests/fixtures/golden_samples.json`` holds, per config, the loss (repr of the float;
compared to a relative 1e-6, so that summing the same terms in another order passes) and the
SHA-256 of the sample tensors (compared exactly). A change that alters the computation of a family (or the
order of its random draws) fails here; if that change is intended, regenerate the file with
``GENLAB_UPDATE_GOLDEN=1 pytest tests/test_golden_samples.py`` and say why in the commit.
QM9 configs run on the 64 QM9 molecules of ``tests/fixtures/qm9_64.smi`` (read as a ``smiles``
dataset) so that no dataset cache is needed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from genlab.build import build_family
from genlab.config import load_config
from support import CONFIGS, QM9_SMALL, TEST_DATA

GOLDEN = TEST_DATA / "golden_samples.json"
SMALL_MOLECULES = QM9_SMALL
CASES = sorted(str(p.relative_to(CONFIGS)) for d in ("points", "digits", "qm9") for p in (CONFIGS / d).glob("*.yaml"))
N_SAMPLES, SAMPLE_STEPS = 4, 3


def _tensors(samples) -> list[torch.Tensor]:
    if isinstance(samples, torch.Tensor):
        return [samples]
    return [samples.atoms, samples.adj]  # a GraphBatch


def fingerprint(case: str, family: dict | None = None) -> dict[str, str]:
    """(loss on a fixed batch, SHA-256 of samples) of a freshly built, seeded family (``family``:
    a family section to use instead of the config's)."""
    cfg = load_config(CONFIGS / case)
    if family is not None:
        cfg["family"] = family
    if cfg["data"]["name"] == "qm9":
        cfg["data"] = {"name": "smiles", "path": str(SMALL_MOLECULES), "heldout_fraction": 0.25}
    torch.manual_seed(0)
    family, bundle = build_family(cfg)
    family.eval()
    loader = DataLoader(bundle.train, batch_size=8, shuffle=False, collate_fn=bundle.collate)
    torch.manual_seed(1)
    batch = next(iter(loader))
    with torch.no_grad():
        loss, _ = family(batch)
    if hasattr(family, "sample"):
        steps = None if cfg["family"]["name"] in ("ffjord",) else SAMPLE_STEPS
        tensors = _tensors(family.sample(N_SAMPLES, steps=steps, generator=torch.Generator().manual_seed(2)).samples)
    else:  # a classifier draws nothing: its logits on the fixed batch stand for the samples
        with torch.no_grad():
            tensors = [family.logits(family.inputs(batch)[0])]
    digest = hashlib.sha256()
    for t in tensors:
        digest.update(t.detach().cpu().contiguous().numpy().tobytes())
    return {"loss": repr(float(loss)), "samples": digest.hexdigest()}


@pytest.mark.parametrize("case", CASES)
def test_seeded_family_is_unchanged(case):
    torch.set_num_threads(1)
    got = fingerprint(case)
    if os.environ.get("GENLAB_UPDATE_GOLDEN"):
        table = json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {}
        table[case] = got
        GOLDEN.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n")
        return
    table = json.loads(GOLDEN.read_text())
    assert case in table, f"no golden entry for {case}; regenerate with GENLAB_UPDATE_GOLDEN=1"
    assert got["samples"] == table[case]["samples"]  # bit-identical samples
    assert float(got["loss"]) == pytest.approx(float(table[case]["loss"]), rel=1e-6)  # same sum, any order


#: the molecular-graph configs written with their earlier family names (kept as aliases)
ALIASED = {
    "qm9/graphnvp.yaml": {"name": "graphnvp", "dequant_scale": 0.9, "temperature": 0.85},
    "qm9/mpgvae.yaml": {"name": "mpgvae", "kl_weight": 1.0, "kl_warmup": 0, "free_bits": 0.1, "sample_mode": "argmax"},
    "qm9/aae.yaml": {"name": "graph_aae", "disc_hidden": 256, "disc_depth": 2, "adversarial_weight": 1.0,
                     "sample_mode": "argmax"},
    "qm9/molgan.yaml": {"name": "molgan", "objective": {"name": "wgan_gp", "gp_weight": 10.0}, "n_critic": 5,
                        "temperature": 1.0, "hard": False, "sample_mode": "categorical"},
}


@pytest.mark.parametrize("case", sorted(ALIASED))
def test_old_graph_family_names_build_the_same_model(case):
    torch.set_num_threads(1)
    old, new = fingerprint(case, family=ALIASED[case]), fingerprint(case)
    assert old["samples"] == new["samples"]
    assert float(old["loss"]) == pytest.approx(float(new["loss"]), rel=1e-6)
