"""``DATASETS``: config ``data.name`` -> a function returning a :class:`~genlab.data.bundle.DataBundle`.

Entries register themselves in their own modules (the providers), imported on the first lookup.
"""

from __future__ import annotations

from genlab.data.bundle import DataBundle
from genlab.registry import Registry

DATASETS: Registry[DataBundle] = Registry("data", providers=(
    "genlab.data.points",
    "genlab.data.images",
    "genlab.data.mnist",
    "genlab.data.idx",
    "genlab.data.molecule_datasets",
    "genlab.data.sinusoid",
    "genlab.data.omniglot",
    "genlab.data.mnist_episodes",  # ``mnist_episodes``: few-shot tasks on disjoint digit classes
    "genlab.data.digit_domains.dataset",  # ``digit_domain``: MNIST-M-, UCI- and SynDigits-style digits
    "genlab.data.domain_adaptation",  # ``domain_adaptation``: a labelled source and unlabelled targets
    "genlab.data.few_shot_transfer",  # ``few_shot_transfer``: a labelled base set and an Omniglot pool
    "genlab.classifiers.poisoning",  # ``poisoned``: a backdoor in another labelled dataset
))

#: registry-wide alias: import every module that registers entries (done lazily on first lookup)
load_providers = DATASETS.load_providers
