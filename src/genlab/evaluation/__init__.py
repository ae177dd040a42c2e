"""The evaluation layer: what happens to samples once they are drawn.

One :class:`~genlab.evaluation.base.SampleEvaluator` per modality, registered in
:data:`~genlab.evaluation.registry.EVALUATORS` under the modality's ``MODALITIES`` name, writes a
modality's samples to disk, draws them and scores them; ``genlab sample``, ``genlab evaluate``,
``genlab bench`` (:mod:`genlab.evaluation.bench`) and ``genlab report``
(:mod:`genlab.evaluation.report`) all look it up there. The metric computations themselves live
in :mod:`genlab.metrics`. Layers: this package uses :mod:`genlab.sampling` (runs, sample files)
and :mod:`genlab.metrics`; nothing below it imports it.
"""
