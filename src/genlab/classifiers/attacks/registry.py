"""``ATTACKS``: an attack's name (``genlab evaluate RUN --attack NAME``, robustness configs) -> its class.

Config keys are the constructor's arguments. ``transfer`` registers itself (it builds its inner
attack from this registry) and is imported on the first lookup.
"""

from __future__ import annotations

from genlab.classifiers.attacks.base import Attack
from genlab.classifiers.attacks.cw_l2 import CarliniWagnerL2
from genlab.classifiers.attacks.least_likely import IterativeLeastLikely, LeastLikely
from genlab.classifiers.attacks.one_pixel import OnePixel
from genlab.classifiers.attacks.pgd import BIM, FGSM, PGD
from genlab.classifiers.attacks.universal import UniversalPerturbation
from genlab.registry import Registry

ATTACKS: Registry[Attack] = Registry("attack", providers=("genlab.classifiers.attacks.transfer",))
ATTACKS.register("fgsm")(FGSM)
ATTACKS.register("bim")(BIM)
ATTACKS.register("pgd")(PGD)
ATTACKS.register("least_likely")(LeastLikely)
ATTACKS.register("iterative_least_likely")(IterativeLeastLikely)
ATTACKS.register("cw_l2")(CarliniWagnerL2)
ATTACKS.register("universal")(UniversalPerturbation)
ATTACKS.register("one_pixel")(OnePixel)
