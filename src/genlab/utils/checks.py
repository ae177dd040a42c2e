"""Argument checks for constructors: an impossible value is refused with the argument's name.

``at_least("depth", depth, 1)`` raises :class:`ImpossibleValue` ("key 'depth': must be at least
1, got 0"). It is a :class:`ValueError` for Python callers and a :class:`~genlab.errors.ConfigError`
for the command line; when a registry builds the object from a config section,
:meth:`genlab.registry.Registry.build` names the full key (``network.depth``), since config keys
are the constructor's argument names. NaN fails every check.

A bound that is another argument is named too: ``less_than("sigma_min", 2.0, 1.0,
bound="sigma_max")`` reads "must be less than sigma_max (1.0), got 2.0".
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from genlab.errors import ConfigError


class ImpossibleValue(ConfigError, ValueError):
    """A value that no setting of the other arguments makes meaningful; ``argument`` names it
    and ``reason`` says why without naming it (``"must be at least 1, got 0"``)."""

    def __init__(self, argument: str, requirement: str, value: Any) -> None:
        self.argument, self.value = argument, value
        self.reason = f"{requirement}, got {value!r}"
        super().__init__(self.reason, key=argument)


def _bound(value: float, bound: str | None) -> str:
    return f"{value!r}" if bound is None else f"{bound} ({value!r})"


def at_least(name: str, value: float, minimum: float, *, bound: str | None = None) -> None:
    """``value ≥ minimum`` (counts, sizes, depths)."""
    if not value >= minimum:
        raise ImpossibleValue(name, f"must be at least {_bound(minimum, bound)}", value)


def at_most(name: str, value: float, maximum: float, *, bound: str | None = None) -> None:
    """``value ≤ maximum``."""
    if not value <= maximum:
        raise ImpossibleValue(name, f"must be at most {_bound(maximum, bound)}", value)


def less_than(name: str, value: float, limit: float, *, bound: str | None = None) -> None:
    """``value < limit``, e.g. ``sigma_min < sigma_max``."""
    if not value < limit:
        raise ImpossibleValue(name, f"must be less than {_bound(limit, bound)}", value)


def positive(name: str, value: float) -> None:
    """``value > 0`` (rates, scales, temperatures, tolerances)."""
    if not value > 0:
        raise ImpossibleValue(name, "must be positive", value)


def non_negative(name: str, value: float) -> None:
    """``value ≥ 0``."""
    if not value >= 0:
        raise ImpossibleValue(name, "must not be negative", value)


def finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ImpossibleValue(name, "must be finite", value)


def in_unit_interval(name: str, value: float, *, closed_low: bool = True, closed_high: bool = True) -> None:
    """``value`` in [0, 1] (a probability or a fraction); either end can be left out."""
    low = value >= 0 if closed_low else value > 0
    high = value <= 1 if closed_high else value < 1
    if not (low and high):
        interval = f"{'[' if closed_low else '('}0, 1{']' if closed_high else ')'}"
        raise ImpossibleValue(name, f"must be in {interval}", value)


def divides(name: str, value: int, multiple: int, *, bound: str) -> None:
    """``value ≥ 1`` divides ``multiple``, e.g. attention heads divide the hidden width."""
    at_least(name, value, 1)
    if multiple % value:
        raise ImpossibleValue(name, f"must divide {_bound(multiple, bound)}", value)


def even(name: str, value: int) -> None:
    if value % 2:
        raise ImpossibleValue(name, "must be even", value)


def one_of(name: str, value: Any, choices: Iterable[Any]) -> None:
    choices = list(choices)
    if value not in choices:
        raise ImpossibleValue(name, f"expected one of {', '.join(map(repr, choices))}", value)
