"""Sampling in chunks that survive an interruption: ``genlab sample RUN --n N --chunk-size C``.

Chunk k holds samples ``[k C, min((k+1) C, N))`` and is drawn with its own seed,

    seed_0 = seed,    seed_k = SeedSequence([seed, k]) (k >= 1),

so a chunk depends on nothing but ``(weights, seed, k, C, sampler, steps)``: an interrupted run
continued with ``--resume`` gives exactly the samples of an uninterrupted one, and ``C >= N``
gives the samples of a plain ``genlab sample`` with the same seed. Each finished chunk is written
atomically to ``OUT.chunks/chunk-<k>.safetensors`` beside a ``manifest.json`` of the settings;
when all chunks are there they are joined into ``OUT`` (in the modality's format) and the
folder is removed.

:func:`join_results` also joins the batches of one :meth:`genlab.sampling.run.Run.sample` call;
this module knows nothing of runs (it is handed the run's ``sample`` method).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from genlab import __version__
from genlab.errors import GenlabError
from genlab.generative.families.base import SampleResult
from genlab.utils.atomic import atomic_write, atomic_write_json

FORMAT = "genlab-sample-chunks"
VERSION = 1


@dataclass(frozen=True)
class ChunkPlan:
    """What a chunked sampling run draws; the manifest records every field."""

    n: int
    chunk_size: int
    seed: int
    sampler: str | None
    steps: int | None
    weights_sha256: str

    @property
    def n_chunks(self) -> int:
        return -(-self.n // self.chunk_size)

    def size(self, k: int) -> int:
        return min(self.chunk_size, self.n - k * self.chunk_size)

    def seed_of(self, k: int) -> int:
        if k == 0:
            return self.seed
        return int(np.random.SeedSequence([self.seed, k]).generate_state(1, dtype=np.uint64)[0] >> 1)


def chunk_dir(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".chunks")


def sample_in_chunks(sample: Callable[..., SampleResult], out: str | Path, plan: ChunkPlan, *, resume: bool,
                     report: Callable[[str], None] = lambda line: None) -> tuple[SampleResult, int]:
    """Draw ``plan``'s chunks with ``sample(n, sampler=, steps=, seed=)`` (a run's
    :meth:`~genlab.sampling.run.Run.sample`), skipping those already on disk when ``resume``;
    returns the joined result and the number of chunks reused."""
    folder = chunk_dir(out)
    manifest = folder / "manifest.json"
    if folder.exists() and not resume:
        raise GenlabError("holds an interrupted sampling run; continue it with --resume or delete it", path=folder)
    if resume:
        _check_manifest(manifest, plan)
    else:
        folder.mkdir(parents=True)
        atomic_write_json(manifest, {"format": FORMAT, "version": VERSION, **dataclasses.asdict(plan)})
    chunks: list[SampleResult] = []
    reused = 0
    for k in range(plan.n_chunks):
        file = folder / f"chunk-{k:05d}.safetensors"
        if file.is_file():
            chunks.append(_read_chunk(file, plan.size(k)))
            reused += 1
            continue
        result = sample(plan.size(k), sampler=plan.sampler, steps=plan.steps, seed=plan.seed_of(k))
        _write_chunk(file, result)
        chunks.append(result)
        report(f"chunk {k + 1}/{plan.n_chunks}: {plan.size(k)} samples")
    return join_results(chunks), reused


def remove_chunks(out: str | Path) -> None:
    """Called once the joined samples are written."""
    shutil.rmtree(chunk_dir(out), ignore_errors=True)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_plan(out: str | Path) -> dict[str, Any]:
    """The settings recorded by an interrupted run (for ``--resume`` without repeating them)."""
    return _read_manifest(chunk_dir(out) / "manifest.json")


def _read_manifest(manifest: Path) -> dict[str, Any]:
    if not manifest.is_file():
        raise GenlabError("nothing to resume: no interrupted sampling run here", path=manifest.parent)
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GenlabError(f"cannot read the manifest: {exc}", path=manifest) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise GenlabError(f"not a {FORMAT} version {VERSION} manifest", path=manifest)
    return data


def _check_manifest(manifest: Path, plan: ChunkPlan) -> None:
    saved = _read_manifest(manifest)
    for key, value in dataclasses.asdict(plan).items():
        if saved.get(key) != value:
            what = "the run's weights changed" if key == "weights_sha256" else f"was {saved.get(key)!r}, now {value!r}"
            raise GenlabError(f"cannot change on resume: {what}", path=manifest, key=key)


# --- one chunk on disk: flat named tensors ------------------------------------------------------


def _write_chunk(path: Path, result: SampleResult) -> None:
    tensors = {f"samples{name}": t for name, t in _flatten(result.samples).items()}
    tensors.update({f"extra.{k}": v for k, v in result.extras.items() if isinstance(v, torch.Tensor)})
    tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}
    plain = {k: v for k, v in result.extras.items() if not isinstance(v, torch.Tensor)}
    metadata = {"nfe": str(int(result.nfe)), "extras": json.dumps(plain), "samples_type": _type_name(result.samples),
                "genlab_version": __version__}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))  # complete or absent


def _read_chunk(path: Path, n: int) -> SampleResult:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        extras = json.loads(meta.get("extras", "{}"))
        nfe = int(meta["nfe"])
    except (SafetensorError, OSError, ValueError, KeyError) as exc:
        raise GenlabError(f"cannot read sample chunk: {exc}", path=path) from None
    extras.update({k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")})
    parts = {k[len("samples"):]: v for k, v in tensors.items() if k.startswith("samples")}
    samples = _unflatten(parts, meta.get("samples_type", "tensor"), path)
    if any(t.shape[0] != n for t in parts.values()):
        raise GenlabError(f"sample chunk does not hold {n} samples", path=path)
    return SampleResult(samples, nfe=nfe, extras=extras)


def _flatten(samples: Any) -> dict[str, torch.Tensor]:
    """A tensor -> {"": t}; a dataclass of tensors (e.g. a GraphBatch) -> {".atoms": ..., ...}."""
    if isinstance(samples, torch.Tensor):
        return {"": samples}
    if dataclasses.is_dataclass(samples) and all(
            isinstance(getattr(samples, f.name), torch.Tensor) for f in dataclasses.fields(samples)):
        return {f".{f.name}": getattr(samples, f.name) for f in dataclasses.fields(samples)}
    raise GenlabError(f"{type(samples).__name__} samples cannot be written in chunks (not a tensor or a "
                      "dataclass of tensors)")


def _type_name(samples: Any) -> str:
    return "tensor" if isinstance(samples, torch.Tensor) else f"{type(samples).__module__}:{type(samples).__qualname__}"


def _unflatten(parts: dict[str, torch.Tensor], type_name: str, path: Path) -> Any:
    if type_name == "tensor":
        return parts[""]
    module, _, name = type_name.partition(":")
    # only genlab's own dataclasses are rebuilt: a file never chooses arbitrary code
    cls = getattr(importlib.import_module(module), name, None) if module.startswith("genlab.") else None
    if cls is None or not dataclasses.is_dataclass(cls):
        raise GenlabError(f"unknown sample type '{type_name}'", path=path)
    return cls(**{k.lstrip("."): v for k, v in parts.items()})


def join_results(chunks: list[SampleResult]) -> SampleResult:
    """Chunks in order -> one result; ``nfe`` is the largest chunk's (a per-batch cost)."""
    flat = [_flatten(c.samples) for c in chunks]
    joined = {k: torch.cat([f[k] for f in flat]) for k in flat[0]}  # (n, ...)
    first = chunks[0].samples
    if isinstance(first, torch.Tensor):
        samples: Any = joined[""]
    else:
        samples = type(first)(**{k.lstrip("."): v for k, v in joined.items()})
    extras = {k: (torch.cat([c.extras[k] for c in chunks]) if isinstance(v, torch.Tensor) else v)
              for k, v in chunks[0].extras.items()}
    return SampleResult(samples, nfe=max(int(c.nfe) for c in chunks), extras=extras)
