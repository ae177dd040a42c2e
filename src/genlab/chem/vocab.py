"""Atom vocabulary: node classes are (element, formal charge) pairs taken from a dataset.

Class 0 is reserved for "no atom" (padding), so a graph of up to N atoms is a length-N vector of
class ids with ``mask = ids > 0``. Classes 1..K are the dataset's (element, charge) pairs in a
canonical order — by atomic number, then neutral before charged, then charge — so that the same
set of pairs always gives the same ids whatever order the molecules were read in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from rdkit import Chem

from genlab.errors import VocabularyError

_PERIODIC = Chem.GetPeriodicTable()

#: bond classes of the edge tensor; 0 = no bond. Molecules are kekulized, so no aromatic class.
BOND_TYPES: tuple[Chem.BondType, ...] = (
    Chem.BondType.SINGLE,
    Chem.BondType.DOUBLE,
    Chem.BondType.TRIPLE,
)
BOND_ORDER = {bt: i + 1 for i, bt in enumerate(BOND_TYPES)}  # BondType -> edge class 1..3
NO_ATOM = 0
NO_BOND = 0


def atom_sort_key(pair: tuple[str, int]) -> tuple[int, int, int]:
    symbol, charge = pair
    return (_PERIODIC.GetAtomicNumber(symbol), abs(charge), charge)


def atom_label(pair: tuple[str, int]) -> str:
    symbol, charge = pair
    return symbol if charge == 0 else f"{symbol}{'+' if charge > 0 else '-'}{abs(charge) if abs(charge) > 1 else ''}"


@dataclass(frozen=True)
class AtomVocab:
    """Ordered (element, charge) pairs plus the largest molecule size of the dataset."""

    atoms: tuple[tuple[str, int], ...]
    max_atoms: int

    def __post_init__(self) -> None:
        if list(self.atoms) != sorted(set(self.atoms), key=atom_sort_key):
            raise ValueError("AtomVocab.atoms must be unique and in canonical order; use AtomVocab.from_pairs")
        object.__setattr__(self, "_index", {p: i + 1 for i, p in enumerate(self.atoms)})

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, int]], max_atoms: int) -> "AtomVocab":
        return cls(tuple(sorted(set((str(s), int(c)) for s, c in pairs), key=atom_sort_key)), int(max_atoms))

    @property
    def n_classes(self) -> int:
        """K + 1: the element classes plus the "no atom" class 0."""
        return len(self.atoms) + 1

    def index(self, symbol: str, charge: int) -> int | None:
        return self._index.get((symbol, charge))  # type: ignore[attr-defined]

    def labels(self) -> list[str]:
        return ["-"] + [atom_label(p) for p in self.atoms]

    def to_json(self) -> dict:
        return {"atoms": [[s, c] for s, c in self.atoms], "max_atoms": self.max_atoms}

    @classmethod
    def from_json(cls, data: dict) -> "AtomVocab":
        try:
            return cls.from_pairs(((s, c) for s, c in data["atoms"]), data["max_atoms"])
        except (KeyError, TypeError, ValueError) as exc:
            raise VocabularyError(f"malformed vocabulary record: {exc}") from None

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)
