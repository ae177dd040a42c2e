"""Test-wide settings: one torch thread per test process, and a cache of the tests' own.

``make test`` runs two pytest workers on a 2-core machine; with torch's default of one thread per
core, the workers oversubscribe the cores and small models slow down by orders of magnitude.

Tests never read or write the user's cache (``~/.cache/genlab`` or their ``GENLAB_CACHE``):
``GENLAB_CACHE`` points at ``.cache/genlab-tests`` in the repository (ignored by git), or at
``GENLAB_TEST_CACHE`` when that is set. The folder persists between runs, so the QM9 and MOSES
tensors and reference statistics are built once; subprocesses inherit it. A test that must start
from an empty cache sets ``GENLAB_CACHE`` to a temporary folder itself.
"""

import os
from pathlib import Path

import torch

TEST_CACHE = Path(os.environ.get("GENLAB_TEST_CACHE", Path(__file__).resolve().parents[1] / ".cache" / "genlab-tests"))
os.environ["GENLAB_CACHE"] = str(TEST_CACHE)

torch.set_num_threads(1)
