"""``ATTACKS``: an attack's name (``genlab evaluate RUN --attack NAME``, robustness configs) -> its class."""

from __future__ import annotations

from genlab.classifiers.attacks.base import Attack
from genlab.classifiers.attacks.pgd import BIM, FGSM, PGD
from genlab.registry import Registry

ATTACKS: Registry[Attack] = Registry("attack")
ATTACKS.register("fgsm")(FGSM)
ATTACKS.register("bim")(BIM)
ATTACKS.register("pgd")(PGD)
