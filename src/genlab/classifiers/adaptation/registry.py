"""Domain-adaptation methods in :data:`genlab.trainable.FAMILIES` (config ``family.name``).

============  =================================================================================
name          what is trained
============  =================================================================================
source_only   G and F on the source labels (the baseline)
mcd           Maximum Classifier Discrepancy, single- or multi-target (targets concatenated)
dualadapt     DualAdapt: federated, one client per target, global and local classifiers
fedavg_mcd    federated averaging of per-client MCD
============  =================================================================================

The last two train in federated rounds (:mod:`genlab.training.federated.engine`), not through
the batch trainer.
"""

from __future__ import annotations

from genlab.classifiers.adaptation.dualadapt.model import DualAdapt
from genlab.classifiers.adaptation.fedavg_mcd import FedAvgMCD
from genlab.classifiers.adaptation.mcd import MCD
from genlab.classifiers.adaptation.source_only import SourceOnly
from genlab.trainable import FAMILIES

FAMILIES.register("source_only")(SourceOnly)
FAMILIES.register("mcd")(MCD)
FAMILIES.register("dualadapt")(DualAdapt)
FAMILIES.register("fedavg_mcd")(FedAvgMCD)
