"""The classifier side of genlab: classifiers trained by the same trainer (``classifier.py``,
``objectives.py``), and the attacks that probe them (``attacks/``). They share the modalities,
networks, data, run directory and evaluation layers with the generative families."""
