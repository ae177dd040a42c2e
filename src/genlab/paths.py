"""Where genlab keeps caches and finds its package data."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """The cache root (``$GENLAB_CACHE`` or ``~/.cache/genlab``), created on demand."""
    root = Path(os.environ.get("GENLAB_CACHE", Path.home() / ".cache" / "genlab"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_file(name: str) -> Path:
    """A file shipped inside ``genlab/data``."""
    return Path(str(resources.files("genlab") / "data" / name))
