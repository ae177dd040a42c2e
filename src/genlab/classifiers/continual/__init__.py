"""Continual learning: task streams, methods that learn them in turn, and the accuracy matrix.

* :mod:`.experience`, :mod:`.streams`: experiences and the ``STREAMS`` registry (permuted, split,
  rotated);
* :mod:`.learner`: the family ``continual``, a classifier whose training a method shapes;
* :mod:`.methods`: the ``METHODS`` registry, one file per method (hooks around one loop);
* :mod:`.scoring`, :mod:`.metrics`: rows of the accuracy matrix, ACC / BWT / FWT.

The stream runner that trains a learner experience by experience is
:mod:`genlab.training.continual`; the evaluator of its runs :mod:`genlab.evaluation.continual`.
"""
