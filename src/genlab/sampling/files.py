"""Sample files of one tensor: points (n, D) and images (n, C, H, W) as ``genlab sample`` writes them.

The file's suffix picks the format:

* ``.npz``: arrays ``samples`` and ``nfe`` (plus ``extra_<name>`` for each tensor in ``extras``)
  and ``modality``, the JSON record of the modality (``{"name": ..., **modality.config()}``);
* ``.safetensors``: tensor ``samples`` (plus ``extra_<name>``), with ``nfe`` and ``modality`` in
  the metadata.

The modality record says what the samples are, so a reader never guesses it from their shape;
files written before the record existed are read as points when 2-D and images when 4-D
(:func:`read_tensor_samples`). Files are written atomically with ordinary permissions; nothing is
unpickled. Molecules have their own files (:mod:`genlab.data.graph_samples` and a SMILES file).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.errors import DataError, GenlabError
from genlab.generative.families.base import SampleResult
from genlab.utils.atomic import atomic_write

SUFFIXES = (".npz", ".safetensors")
#: modality of a file without a record, by the number of array dimensions (files from before the record)
LEGACY_MODALITIES = {2: "points", 4: "images"}


@dataclass(frozen=True)
class TensorSamples:
    """A tensor sample file read back: samples as float64, the NFE (``None`` if not recorded) and
    the modality record (``{"name": ...}`` alone for a file from before the record)."""

    samples: np.ndarray
    nfe: int | None
    modality: dict[str, Any]


def write_tensor_samples(result: SampleResult, path: str | Path, modality: dict[str, Any]) -> list[Path]:
    """Write ``result`` (one tensor of samples) to ``path`` with the ``modality`` record; returns
    the files."""
    path = Path(path)
    if not isinstance(result.samples, torch.Tensor):
        raise GenlabError(f"{modality.get('name')} samples are not one tensor", path=path)
    tensors = {"samples": result.samples}
    tensors.update({f"extra_{k}": v for k, v in result.extras.items() if isinstance(v, torch.Tensor)})
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    record = json.dumps(modality)
    if path.suffix == ".npz":
        arrays = {k: v.numpy() for k, v in tensors.items()}
        atomic_write(path, lambda tmp: _savez(tmp, nfe=np.int64(result.nfe), modality=np.str_(record), **arrays))
    elif path.suffix == ".safetensors":
        from safetensors.torch import save_file

        metadata = {"nfe": str(result.nfe), "modality": record}
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))
    else:
        raise GenlabError(f"unknown sample file type '{path.suffix}'; use {' or '.join(SUFFIXES)}", path=path)
    return [path]


def is_tensor_sample_file(path: str | Path) -> bool:
    """Whether ``path`` is a ``.npz`` or a ``.safetensors`` holding a ``samples`` tensor (a
    molecule graph-sample file holds ``atoms`` and ``adj`` instead)."""
    path = Path(path)
    if path.suffix == ".npz":
        return True
    if path.suffix != ".safetensors" or not path.is_file():
        return False
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return "samples" in f.keys()  # noqa: SIM118 (safe_open has no __contains__)
    except (SafetensorError, OSError):
        return False


def read_tensor_samples(path: str | Path) -> TensorSamples:
    """The samples (float64), NFE and modality record of a ``genlab sample`` ``.npz``/``.safetensors`` file."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path=path)
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                if "samples" not in archive.files:
                    raise DataError(f"no array 'samples' in archive (has {list(archive.files)})", path=path)
                nfe = int(archive["nfe"]) if "nfe" in archive.files else None
                record = str(archive["modality"]) if "modality" in archive.files else None
                samples = archive["samples"].astype(np.float64)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise DataError(f"cannot read the archive: {exc}", path=path) from None
    elif path.suffix == ".safetensors":
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                if "samples" not in f.keys():  # noqa: SIM118 (safe_open has no __contains__)
                    raise DataError(f"no tensor 'samples' (has {list(f.keys())})", path=path)
                meta = f.metadata() or {}
                samples = f.get_tensor("samples").double().numpy()
        except (SafetensorError, OSError) as exc:
            raise DataError(f"unreadable safetensors file: {exc}", path=path) from None
        nfe = None if meta.get("nfe") is None else int(meta["nfe"])
        record = meta.get("modality")
    else:
        raise DataError(f"tensor samples must be .npz or .safetensors, got '{path.suffix}'", path=path)
    return TensorSamples(samples, nfe, _modality(record, samples, path))


def _modality(record: str | None, samples: np.ndarray, path: Path) -> dict[str, Any]:
    if record is not None:
        try:
            modality = json.loads(record)
        except ValueError as exc:
            raise DataError(f"bad modality record: {exc}", path=path) from None
        if not isinstance(modality, dict) or "name" not in modality:
            raise DataError("bad modality record: not a mapping with a 'name'", path=path)
        return modality
    if samples.ndim not in LEGACY_MODALITIES:
        raise DataError(f"samples of shape {samples.shape} without a modality record", path=path)
    return {"name": LEGACY_MODALITIES[samples.ndim]}


def _savez(path: Path, **arrays: Any) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to the temporary name
        np.savez(f, **arrays)
