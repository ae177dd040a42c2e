"""A run directory, and :class:`Run`: a finished (or interrupted) run loaded for sampling.

Layout of ``RUN/``::

    config.json                 the resolved config: every constructor default filled in
    weights.safetensors         EMA weights of the family (what sampling uses)
    checkpoints/last.safetensors + last.json   full training state, for --resume
    logs/metrics.csv            training and held-out metrics (Lightning's CSV logger)
    logs/tensorboard/           the same metrics for TensorBoard
    samples/                    files written by ``genlab sample``
    plots/                      figures written next to the samples

``config.json`` and ``weights.safetensors`` are all that sampling needs; both are plain text and
plain tensors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import Tensor, nn

from genlab.errors import GenlabError
from genlab.generative.families.base import Family, SampleResult

#: samples per family.sample call on the CPU. The QM9 graph transformer costs 1.73 s per network
#: call and 10,000 graphs in batches of 1,024, 3.27 s in one batch of 10,000 (2 cores, 2026-11-21)
CPU_SAMPLE_BATCH = 1024


@dataclass(frozen=True)
class RunDir:
    """Paths inside a run directory."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def weights(self) -> Path:
        return self.root / "weights.safetensors"

    @property
    def checkpoint(self) -> Path:
        """Checkpoint stem: ``last.safetensors`` and ``last.json`` (see training.checkpoint)."""
        return self.root / "checkpoints" / "last"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    def read_config(self) -> dict[str, Any]:
        if not self.config.is_file():
            raise GenlabError("not a genlab run (no config.json)", path=self.root)
        try:
            config = json.loads(self.config.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise GenlabError(f"invalid JSON: {exc}", path=self.config) from None
        if not isinstance(config, dict):
            raise GenlabError("a config must be a mapping of sections", path=self.config)
        return config


class Run:
    """A trained family, rebuilt from ``RUN/config.json`` and ``RUN/weights.safetensors``.

    >>> run = Run("runs/moons-fm")
    >>> result = run.sample(1000, seed=0)          # SampleResult(samples=(1000, 2) tensor, nfe=...)
    >>> run.write_samples(result, "runs/moons-fm/samples/s0.npz"); run.plot(result)
    """

    def __init__(self, path: str | Path, device: str | torch.device = "cpu") -> None:
        from genlab.build import build_family  # the build step imports every registry

        self.dir = RunDir(Path(path))
        self.config = self.dir.read_config()
        if not self.dir.weights.is_file():
            raise GenlabError("run has no weights.safetensors (training did not finish?)", path=self.dir.root)
        with torch.random.fork_rng(devices=[]):  # initial weights are overwritten: leave the caller's RNG be
            self.family, self.bundle = build_family(self.config)
        load_weights(self.family, self.dir.weights)
        self.family.to(device).eval()

    @classmethod
    def from_trained(cls, path: Path, config: dict[str, Any], family: Family, bundle: Any) -> "Run":
        """Wrap a family that was just trained (its weights equal ``weights.safetensors``)."""
        run = cls.__new__(cls)
        run.dir, run.config, run.family, run.bundle = RunDir(Path(path)), config, family.eval(), bundle
        return run

    @property
    def modality(self) -> Any:
        return self.family.modality

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
        from genlab.sampling_run import join_results

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

    def write_samples(self, result: SampleResult, path: str | Path) -> list[Path]:
        """Write samples in the modality's format (see :mod:`genlab.sample_io`); returns the files."""
        from genlab.sample_io import write_samples

        return write_samples(result, self.modality, path)

    def plot(self, result: SampleResult, path: str | Path | None = None) -> Path | None:
        """Draw samples over held-out data (default ``RUN/plots/samples.png``); ``None`` when the
        modality has no figure (see :mod:`genlab.plots`)."""
        from genlab.plots import plot_samples

        n = len(result.samples) if hasattr(result.samples, "__len__") else 1000
        path = self.dir.plots / "samples.png" if path is None else path
        return plot_samples(self.modality, result.samples, path, reference=self.reference(n))

    def reference(self, n: int) -> Any:
        """Up to ``n`` held-out items collated into one batch, or ``None`` without held-out data."""
        heldout = getattr(self.bundle, "heldout", None)
        if heldout is None or len(heldout) == 0:
            return None
        items = [heldout[i] for i in range(min(n, len(heldout)))]
        collate = self.bundle.collate or torch.utils.data.default_collate
        return collate(items)


def load_weights(module: nn.Module, path: str | Path) -> None:
    """Load a safetensors state dict into ``module``, refusing any name, shape or dtype that
    differs from what the config built (before a single tensor is copied)."""
    from genlab import __version__
    from genlab.training.checkpoint import WEIGHTS_VERSION

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise GenlabError(f"cannot read weights: {exc}", path=path) from None
    version = meta.get("format_version", str(WEIGHTS_VERSION))  # files from before versioning: layout 1
    if version != str(WEIGHTS_VERSION):
        raise GenlabError(f"weights format version {version} (written by genlab {meta.get('genlab_version', '?')}) "
                          f"is not version {WEIGHTS_VERSION}, which genlab {__version__} reads", path=path)
    check_tensors(module.state_dict(), tensors, path=path)
    module.load_state_dict(tensors, strict=True)


def check_tensors(expected: Mapping[str, Tensor], got: Mapping[str, Tensor], *, path: str | Path | None) -> None:
    """Raise :class:`GenlabError` unless ``got`` has exactly ``expected``'s names, shapes, dtypes."""
    missing = sorted(expected.keys() - got.keys())
    unexpected = sorted(got.keys() - expected.keys())
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {_names(missing)}")
        if unexpected:
            parts.append(f"unexpected {_names(unexpected)}")
        raise GenlabError(f"weights do not match the config: {'; '.join(parts)}", path=path)
    for name, want in expected.items():
        have = got[name]
        if tuple(have.shape) != tuple(want.shape):
            raise GenlabError(
                f"tensor '{name}' has shape {tuple(have.shape)} but the config builds {tuple(want.shape)}",
                path=path,
            )
        if have.dtype != want.dtype:
            raise GenlabError(f"tensor '{name}' is {have.dtype} but the config builds {want.dtype}", path=path)


def _names(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
