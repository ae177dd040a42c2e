"""Meta-learners in :data:`genlab.trainable.FAMILIES` (config ``family.name``).

=========  =====================================================================================
name       what the trainer minimises
=========  =====================================================================================
maml       query loss after an inner loop on the support set (``first_order: true``: first-order
           MAML, the inner gradients held constant)
anil       the same, the inner loop adapting the network's head alone
reptile    ½ ‖θ − sg(θ̃)‖² averaged over tasks, θ̃ the parameters after the inner loop
pretrain   the loss on the tasks' pooled examples (the fine-tuning baseline; regression only)
=========  =====================================================================================
"""

from __future__ import annotations

from genlab.classifiers.meta.anil import ANIL
from genlab.classifiers.meta.maml import MAML
from genlab.classifiers.meta.pretrain import Pretrain
from genlab.classifiers.meta.reptile import Reptile
from genlab.trainable import FAMILIES

FAMILIES.register("maml")(MAML)
FAMILIES.register("anil")(ANIL)
FAMILIES.register("reptile")(Reptile)
FAMILIES.register("pretrain")(Pretrain)
