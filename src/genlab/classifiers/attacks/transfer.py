"""The black-box transfer attack (Szegedy et al. 2014, "Intriguing properties of neural networks",
cross-model generalisation; Papernot et al. 2017, "Practical black-box attacks against machine
learning", with a substitute model): adversarial inputs crafted with a white-box attack on a
surrogate model are handed to the target, which is never queried.

``Transfer(surrogate, attack)`` holds the surrogate and the inner attack (a registered attack
name, a mapping with its keys, or an attack object); ``transfer(target, x, y)`` returns the
inputs the inner attack finds against the surrogate, inside the target's input range. Scoring
them on the target (robust accuracy) is the caller's.
"""

from __future__ import annotations

from typing import Any, Mapping

from torch import Tensor

from genlab.classifiers.attacks.base import Attack, Model
from genlab.classifiers.attacks.registry import ATTACKS
from genlab.errors import GenlabError


@ATTACKS.register("transfer")
class Transfer(Attack):
    """``Transfer(surrogate, attack)``: ``surrogate`` is a model (not a config key; the builder
    passes it), ``attack`` the white-box attack run on it."""

    def __init__(self, surrogate: Model, attack: str | Mapping[str, Any] | Attack = "pgd") -> None:
        self.surrogate = surrogate
        if isinstance(attack, Attack):
            self.attack = attack
        else:
            self.attack = ATTACKS.build({"name": attack} if isinstance(attack, str) else attack)

    def perturb(self, model: Model, x: Tensor, y: Tensor, bounds, generator) -> Tensor:
        """``model`` is the target: only its bounds are used."""
        if hasattr(self.surrogate, "input_range") and as_box(self.surrogate.input_range) != as_box(bounds):
            raise GenlabError(f"the surrogate's input range {self.surrogate.input_range} differs from the "
                              f"target's {bounds}")
        return self.attack(self.surrogate, x, y, bounds=bounds, generator=generator)


def as_box(bounds) -> tuple[float, float] | None:
    return None if bounds is None else (float(bounds[0]), float(bounds[1]))
