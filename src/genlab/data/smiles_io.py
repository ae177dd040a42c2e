"""Reading and writing molecule files, streamed, with line numbers.

Formats: ``.smi`` / ``.txt`` (one SMILES a line; anything after the first whitespace is a name),
``.csv`` (a column named ``smiles``, any case), ``.sdf``; each optionally gzipped (``.gz``).
A UTF-8 byte-order mark and CRLF line ends are accepted. A line that is not valid UTF-8 or has
no SMILES is yielded as a :class:`Record` with ``error`` set, never raised: a malformed line is an
invalid sample, reported with its line number. A missing or unreadable *file* raises
:class:`~genlab.errors.DataError` naming it.

Blank lines are skipped, except with ``blank_lines=True`` (how ``genlab evaluate`` reads samples):
then every line is one sample and a blank one is a :class:`Record` with ``error`` =
:data:`BLANK_LINE`, so line i of a ``genlab sample`` SMILES file (blank where the sample is not a
valid molecule) is sample i. The newline that ends the last line starts no further sample.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from genlab.errors import DataError
from genlab.utils.atomic import atomic_write

SMILES_SUFFIXES = (".smi", ".txt", ".csv", ".sdf")
#: the ``error`` of a blank line read with ``blank_lines=True``
BLANK_LINE = "blank line"


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


def read_molecule_file(path: str | Path, *, blank_lines: bool = False) -> Iterator[Record]:
    """Stream the records of a molecule file (bounded memory for files of millions of lines);
    ``blank_lines``: yield a blank line (or blank CSV row) as a :data:`BLANK_LINE` record."""
    path = Path(path)
    fmt, gz = _format(path)
    if fmt == ".sdf":
        yield from _read_sdf(path, gz)
    elif fmt == ".csv":
        yield from _read_csv(path, gz, blank_lines)
    else:
        yield from _read_smi(path, gz, blank_lines)


def _read_smi(path: Path, gz: bool, blank_lines: bool) -> Iterator[Record]:
    for number, text, error in _lines(path, gz):
        if error:
            yield Record(number, None, error)
            continue
        fields = text.split()
        if not fields:
            if blank_lines:
                yield Record(number, None, BLANK_LINE)
            continue
        if number == 1 and fields[0].lower() == "smiles":
            continue  # header
        yield Record(number, fields[0])


def _read_csv(path: Path, gz: bool, blank_lines: bool) -> Iterator[Record]:
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
            if blank_lines:
                yield Record(number, None, BLANK_LINE)
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


def write_smiles(path: str | Path, smiles: Iterable[str | None]) -> int:
    """Write one SMILES a line (gzipped if the name ends in .gz), atomically; ``None`` is a blank
    line. Returns the number of lines."""
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    n = 0

    def write(tmp: Path) -> None:
        nonlocal n
        with opener(tmp, "wt", encoding="utf-8", newline="\n") as f:
            for s in smiles:
                f.write((s or "") + "\n")
                n += 1

    atomic_write(path, write)
    return n
