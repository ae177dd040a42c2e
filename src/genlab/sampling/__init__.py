"""Sampling a trained run, without the trainer: ``genlab sample`` and ``genlab evaluate`` never
import Lightning.

``run_dir`` (the run directory layout, ``modality.json``), ``weights`` (checked loading of
``weights.safetensors``), ``run`` (:class:`~genlab.sampling.run.Run`: a run rebuilt for sampling),
``chunks`` (sampling in chunks that survive an interruption), ``files`` (sample files of one
tensor: ``.npz`` / ``.safetensors``). Layers: ``run`` uses ``chunks``, ``weights`` and
``run_dir``; :mod:`genlab.training` may import this package, never the reverse.
"""
