"""Training: one LightningModule for every family, safetensors checkpoints, run directories.

``config`` (the ``train`` section), ``module`` (FamilyModule and the adversarial hook),
``resume`` (seeded batch stream, RNG states), ``checkpoint`` (safetensors + JSON CheckpointIO),
``run`` (run directory layout, :class:`Run`), ``trainer`` (``train(config, out)``).
"""
