"""Adversarial attacks, one small file each, registered in :data:`genlab.classifiers.attacks.registry.ATTACKS`."""
