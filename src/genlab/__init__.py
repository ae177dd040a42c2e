"""genlab: train, sample and fairly compare deep generative models.

Read ``docs/architecture.md`` first: four axes (modality, process, network, family) that never
leak into each other, one trainer, one data pipeline and one metric suite.
"""

__version__ = "0.1.0"
