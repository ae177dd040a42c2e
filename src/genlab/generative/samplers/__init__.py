"""Samplers: visible loops that turn a model function (ε, score, velocity) into samples.

A sampler receives plain callables ``fn(x_t: State, t: (B,)) -> State``, the process for its
schedules and the modality for noise and projection; it never knows which family called it.
Every sampler counts network evaluations (NFE) and returns them in a :class:`SamplerOutput`.
"""
