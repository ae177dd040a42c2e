"""Writing a :class:`~genlab.generative.families.base.SampleResult` to disk.

The modality decides the format. A modality that defines ``write_samples(result, path) -> list
of Path`` writes its own files (molecules: SMILES lines plus the raw graph tensors in a
``.safetensors``). Otherwise samples are one tensor (points (n, D), images (n, C, H, W)) and the
file's suffix picks the format:

* ``.npz``: arrays ``samples`` and ``nfe`` (plus ``extra_<name>`` for each tensor in ``extras``);
* ``.safetensors``: tensor ``samples`` (plus ``extra_<name>``), with ``nfe`` in the metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from genlab.errors import GenlabError
from genlab.generative.families.base import SampleResult

SUFFIXES = (".npz", ".safetensors")


def write_samples(result: SampleResult, modality: Any, path: str | Path) -> list[Path]:
    """Write ``result`` to ``path`` (the modality's own format if it has one); return the files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    own = getattr(modality, "write_samples", None)
    if own is not None:
        return list(own(result, path))
    if not isinstance(result.samples, torch.Tensor):
        raise GenlabError(f"{type(modality).__name__} samples are not one tensor and it has no write_samples()", path=path)
    tensors = {"samples": result.samples}
    tensors.update({f"extra_{k}": v for k, v in result.extras.items() if isinstance(v, torch.Tensor)})
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    if path.suffix == ".npz":
        np.savez(path, nfe=np.int64(result.nfe), **{k: v.numpy() for k, v in tensors.items()})
    elif path.suffix == ".safetensors":
        save_file(tensors, str(path), metadata={"nfe": str(result.nfe)})
    else:
        raise GenlabError(f"unknown sample file type '{path.suffix}'; use {' or '.join(SUFFIXES)}", path=path)
    return [path]
