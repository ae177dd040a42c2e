"""Loading ``RUN/weights.safetensors`` into a family built from the run's config, checked first.

The trainer writes the file (:func:`genlab.training.checkpoint.save_weights`, metadata
``format_version`` = :data:`WEIGHTS_VERSION` and ``genlab_version``); this module reads it
without importing the trainer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import Tensor, nn

from genlab import __version__
from genlab.errors import GenlabError

#: layout of a weights file's tensor names that this reader understands (the trainer writes the
#: same number; tests/test_run_dir.py holds the two equal)
WEIGHTS_VERSION = 1


def load_weights(module: nn.Module, path: str | Path) -> None:
    """Load a safetensors state dict into ``module``, refusing any name, shape or dtype that
    differs from what the config built (before a single tensor is copied)."""
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
