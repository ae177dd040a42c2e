"""Reading and writing molecule files, streamed, with line numbers.

Formats: ``.smi`` / ``.txt`` (one SMILES a line; anything after the first whitespace is a name),
``.csv`` (a column named ``smiles``, any case), ``.sdf``; each optionally gzipped (``.gz``).
A UTF-8 byte-order mark and CRLF line ends are accepted. A line that is not valid UTF-8 or has
no SMILES is yielded as a :class:`Record` with ``error`` set, never raised: a malformed line is an
invalid sample, reported with its line number. A missing or unreadable *file* raises
:class:`~genlab.errors.DataError` naming it.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from genlab.errors import DataError

SMILES_SUFFIXES = (".smi", ".txt", ".csv", ".sdf")


@dataclass(frozen=True)
class Record:
    """One entry of a molecule file: its 1-based line (or SDF record) number and its SMILES."""

    line: int
    smiles: str | None
    error: str | None = None


def _format(path: Path) -> tuple[str, bool]:
    name = path.name.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    for suffix in SMILES_SUFFIXES:
        if name.endswith(suffix):
            return suffix, gz
    return ".smi", gz  # unknown suffix: one SMILES a line


def _open_binary(path: Path, gz: bool):
    if not path.exists():
        raise DataError("no such file", path=path)
    if path.is_dir():
        raise DataError("is a directory, not a molecule file", path=path)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise DataError(f"cannot open: {exc.strerror}", path=path) from None
    if gz:
        return gzip.GzipFile(fileobj=f)
    return f


def _lines(path: Path, gz: bool) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text or None, error) for each line, decoding UTF-8 line by line."""
    with _open_binary(path, gz) as f:
        try:
            for number, raw in enumerate(f, start=1):
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                try:
                    yield number, raw.decode("utf-8").rstrip("\r\n"), None
                except UnicodeDecodeError as exc:
                    yield number, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise DataError(f"cannot read: {exc}", path=path) from None


def read_molecule_file(path: str | Path) -> Iterator[Record]:
    """Stream the records of a molecule file (bounded memory for files of millions of lines)."""
    path = Path(path)
    fmt, gz = _format(path)
    if fmt == ".sdf":
        yield from _read_sdf(path, gz)
    elif fmt == ".csv":
        yield from _read_csv(path, gz)
    else:
        yield from _read_smi(path, gz)


def _read_smi(path: Path, gz: bool) -> Iterator[Record]:
    for number, text, error in _lines(path, gz):
        if error:
            yield Record(number, None, error)
            continue
        fields = text.split()
        if not fields:
            continue  # blank line
        if number == 1 and fields[0].lower() == "smiles":
            continue  # header
        yield Record(number, fields[0])


def _read_csv(path: Path, gz: bool) -> Iterator[Record]:
    column = None
    for number, text, error in _lines(path, gz):
        if error:
            if column is None:
                raise DataError(f"header is {error}", path=path, line=number)
            yield Record(number, None, error)
            continue
        if column is None:
            if not text.strip():
                continue
            header = [h.strip().lower() for h in next(csv.reader([text]))]
            if "smiles" not in header:
                raise DataError(f"no 'smiles' column in the header (columns: {', '.join(header)})", path=path, line=number)
            column = header.index("smiles")
            continue
        if not text.strip():
            continue
        try:
            row = next(csv.reader([text]))
        except csv.Error as exc:
            yield Record(number, None, f"malformed CSV: {exc}")
            continue
        if column >= len(row) or not row[column].strip():
            yield Record(number, None, "no SMILES in this row")
            continue
        yield Record(number, row[column].strip())
    if column is None:
        raise DataError("empty CSV file (no header)", path=path)


def _read_sdf(path: Path, gz: bool) -> Iterator[Record]:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    with _open_binary(path, gz) as f:
        try:
            supplier = Chem.ForwardSDMolSupplier(f, sanitize=True)
            for number, mol in enumerate(supplier, start=1):
                if mol is None:
                    yield Record(number, None, "SDF record could not be parsed or sanitized")
                else:
                    yield Record(number, Chem.MolToSmiles(mol))
        except (OSError, EOFError, SystemError) as exc:  # RDKit wraps the gzip reader's errors in SystemError
            raise DataError(f"cannot read: {exc.__context__ or exc}", path=path) from None


def write_smiles(path: str | Path, smiles: Iterable[str]) -> int:
    """Write one SMILES a line (gzipped if the name ends in .gz); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.name.endswith(".gz") else open
    n = 0
    with opener(path, "wt", encoding="utf-8", newline="\n") as f:
        for s in smiles:
            f.write(s + "\n")
            n += 1
    return n
