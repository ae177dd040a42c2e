"""Where genlab keeps caches and finds its package data.

The shipped configs are the package ``genlab.configs``: ``setup.py`` maps it to the
repository's top-level ``configs/`` folder, so a wheel carries them as ``genlab/configs/`` and an
editable install reads (and a user edits) the repository's own files. Code that needs a shipped
config asks :func:`shipped_config`, never a path relative to a source file or to the current folder.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path, PurePosixPath

from genlab.errors import ConfigError, GenlabError


def cache_dir(*parts: str) -> Path:
    """The cache root (``$GENLAB_CACHE`` or ``~/.cache/genlab``), created on demand."""
    root = Path(os.environ.get("GENLAB_CACHE", Path.home() / ".cache" / "genlab"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_file(name: str) -> Path:
    """A file shipped inside ``genlab/data``."""
    return Path(str(resources.files("genlab") / "data" / name))


def configs_dir() -> Path:
    """The folder of shipped configs: ``<modality>/<name>.yaml`` (the package ``genlab.configs``)."""
    try:
        return Path(str(resources.files("genlab.configs")))
    except ModuleNotFoundError:
        raise GenlabError("the shipped configs (package genlab.configs) are not installed; an editable "
                          "install made before they were packaged needs `pip install -e .` again") from None


def shipped_config(name: str) -> Path:
    """A shipped config by its name under ``configs/``, e.g. ``shipped_config("qm9/demo.yaml")``."""
    path = configs_dir().joinpath(*PurePosixPath(name).parts)
    if not path.is_file():
        raise ConfigError(f"no shipped config '{name}'; shipped: {', '.join(shipped_configs())}")
    return path


def shipped_configs() -> list[str]:
    """The names of every shipped config (``"points/ddpm.yaml"``, ...), sorted."""
    root = configs_dir()
    return sorted(p.relative_to(root).as_posix() for p in root.glob("*/*.yaml"))


def find_config(path: str | Path) -> Path:
    """``path`` itself when it exists; otherwise, for a relative path that names a shipped config
    (``qm9/demo.yaml`` or, as the repository spells it, ``configs/qm9/demo.yaml``), that config.
    Anything else comes back unchanged, for the reader to report as missing."""
    path = Path(path)
    if path.exists() or path.is_absolute():
        return path
    parts = PurePosixPath(path.as_posix()).parts
    name = PurePosixPath(*parts[1:]) if len(parts) == 3 and parts[0] == "configs" else PurePosixPath(*parts)
    if len(name.parts) == 2 and name.as_posix() in shipped_configs():
        return shipped_config(name.as_posix())
    return path
