"""Continual-learning methods, one file each, registered in :data:`~genlab.classifiers.continual.methods.base.METHODS`."""
