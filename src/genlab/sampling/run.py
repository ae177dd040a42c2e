""":class:`Run`: a finished (or interrupted) run directory loaded for sampling.

``Run(path)`` rebuilds the family from ``RUN/config.json`` around the modality of
``RUN/modality.json`` (:mod:`genlab.sampling.run_dir`) and loads ``RUN/weights.safetensors``; the
training data is not read. A run saved before ``modality.json`` existed rebuilds its modality
from the data, as training did. The data bundle (:attr:`Run.bundle`: held-out data for figures
and likelihoods) is built only when asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genlab.build import build_family, build_family_from_modality
from genlab.data.bundle import DataBundle
from genlab.data.registry import DATASETS
from genlab.errors import GenlabError
from genlab.generative.families.base import Family, SampleResult
from genlab.sampling.chunks import join_results
from genlab.sampling.run_dir import RunDir
from genlab.sampling.weights import load_weights

#: samples per family.sample call on the CPU, where a batch that fits the caches is faster than
#: one large batch (docs/benchmarks.md, benchmarks/sampling_batch.py)
CPU_SAMPLE_BATCH = 1024


class Run:
    """A trained family, rebuilt from ``RUN/config.json``, ``RUN/modality.json`` and
    ``RUN/weights.safetensors``.

    >>> run = Run("runs/moons-fm")
    >>> result = run.sample(1000, seed=0)          # SampleResult(samples=(1000, 2) tensor, nfe=...)
    """

    def __init__(self, path: str | Path, device: str | torch.device = "cpu") -> None:
        self.dir = RunDir(Path(path))
        self.config = self.dir.read_config()
        if not self.dir.weights.is_file():
            raise GenlabError("run has no weights.safetensors (training did not finish?)", path=self.dir.root)
        self._bundle: DataBundle | None = None
        with torch.random.fork_rng(devices=[]):  # initial weights are overwritten: leave the caller's RNG be
            modality = self.dir.build_modality()
            if modality is None:  # a run saved before modality.json: the data gives the modality
                self.family, self._bundle = build_family(self.config)
            else:
                self.family = build_family_from_modality(self.config, modality)
        load_weights(self.family, self.dir.weights)
        self.family.to(device).eval()

    @classmethod
    def from_trained(cls, path: Path, config: dict[str, Any], family: Family, bundle: DataBundle) -> "Run":
        """Wrap a family that was just trained (its weights equal ``weights.safetensors``)."""
        run = cls.__new__(cls)
        run.dir, run.config, run.family, run._bundle = RunDir(Path(path)), config, family.eval(), bundle
        return run

    @property
    def modality(self) -> Any:
        return self.family.modality

    @property
    def bundle(self) -> DataBundle:
        """The run's data (training and held-out sets), built from the ``data`` section on first use."""
        if self._bundle is None:
            with torch.random.fork_rng(devices=[]):
                self._bundle = DATASETS.build(self.config["data"])
        return self._bundle

    @property
    def device(self) -> torch.device:
        return next(iter(self.family.parameters()), torch.empty(0)).device

    def sample(self, n: int, *, sampler: str | None = None, steps: int | None = None, seed: int = 0,
               batch_size: int | None = None) -> SampleResult:
        """``n`` samples; the same ``seed`` (and ``batch_size``) gives the same samples (the
        family's generator and the global torch generator are both seeded; the latter is restored
        afterwards).

        The family draws ``batch_size`` samples at a time from one generator stream; the default
        is all ``n`` at once on a GPU and :data:`CPU_SAMPLE_BATCH` on the CPU, where a batch that
        fits the caches is faster than one large batch. ``nfe`` is per batch (the largest).
        """
        device = self.device
        if batch_size is None:
            batch_size = n if device.type == "cuda" else CPU_SAMPLE_BATCH
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        generator = torch.Generator(device).manual_seed(seed)
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.manual_seed(seed)
            return join_results([self.family.sample(min(batch_size, n - start), sampler=sampler, steps=steps,
                                                    generator=generator) for start in range(0, n, batch_size)])

    def reference(self, n: int) -> Any:
        """Up to ``n`` held-out items collated into one batch, or ``None`` without held-out data
        (builds the data bundle)."""
        heldout = getattr(self.bundle, "heldout", None)
        if heldout is None or len(heldout) == 0:
            return None
        items = [heldout[i] for i in range(min(n, len(heldout)))]
        collate = self.bundle.collate or torch.utils.data.default_collate
        return collate(items)
