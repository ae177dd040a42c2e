"""One error type for everything a user can get wrong.

A :class:`GenlabError` is printed by the CLI as one line, ``path:line: message`` (or
``path: key: message``), with no traceback unless ``--debug`` is given.
"""

from __future__ import annotations

from pathlib import Path


class GenlabError(Exception):
    """A user-facing error that names the file, the line or key, and what was wrong."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path if self.line is None else f"{self.path}:{self.line}")
        if self.key is not None:
            where.append(f"key '{self.key}'")
        return ": ".join(where + [self.message])


class ConfigError(GenlabError):
    """A configuration with an unknown key, a wrong type or an impossible value."""


class DataError(GenlabError):
    """An input file that cannot be read, or a record in it that cannot be used."""


class VocabularyError(DataError):
    """A molecule outside a dataset's atom vocabulary (element, charge) or size."""
