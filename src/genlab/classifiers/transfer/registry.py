"""Few-shot transfer learners in :data:`genlab.trainable.FAMILIES` (config ``family.name``).

=========  =====================================================================================
name       what the trainer minimises (on ``data: few_shot_transfer`` batches)
=========  =====================================================================================
startup    CE on base examples + KL(teacher's soft labels ‖ student) + NT-Xent on target images
           (Phoo & Hariharan 2021); ``simclr_weight: 0`` is STARTUP without self-supervision
simclr     NT-Xent on two views of the target images alone (Chen et al. 2020)
=========  =====================================================================================

The transfer baseline of the same comparison is the teacher itself, an ordinary ``classifier``
run, evaluated on the same episodes (``genlab evaluate TEACHER --few-shot STUDENT_CONFIG``).
"""

from __future__ import annotations

from genlab.classifiers.transfer.simclr import SimCLR
from genlab.classifiers.transfer.startup import Startup
from genlab.trainable import FAMILIES

FAMILIES.register("startup")(Startup)
FAMILIES.register("simclr")(SimCLR)
