"""Atomic file writes: every file genlab writes appears whole or not at all.

``atomic_write(path, write)`` calls ``write(tmp)`` on a hidden temporary file beside ``path``
(``.<name>.<pid>.tmp``), fsyncs it, renames it over ``path`` and fsyncs the folder, so a crash
(even SIGKILL) leaves either the old file or the new one, plus at worst a stray ``.*.tmp`` that
:func:`remove_stray_temporaries` deletes on the next start. The new file gets the permissions an
ordinary ``open(path, "w")`` would give (``0o666`` less the umask), the same for every output.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Mapping

TMP_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temporary_path(path: Path) -> Path:
    """The hidden temporary file ``path`` is written through."""
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Write ``path`` through ``write(tmp_path)``, then rename; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_folder(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf) replaced by None, in nested mappings and
    sequences: what :func:`atomic_write_json` accepts."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """``obj`` as indented JSON (NaN and infinities refused), atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=1, allow_nan=False) + "\n")


def remove_stray_temporaries(folder: str | Path) -> list[Path]:
    """Delete the ``.*.tmp`` files an interrupted :func:`atomic_write` left in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stray = [p for p in folder.glob(f".*{TMP_SUFFIX}") if p.is_file()]
    for p in stray:
        p.unlink(missing_ok=True)
    return stray


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
