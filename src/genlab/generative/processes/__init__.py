"""Processes: how data is corrupted or transported (schedules, noise ladders, SDEs, Poisson
fields, probability paths). No weights, no tensor-rank knowledge; the time convention is
:mod:`genlab.generative.processes.time`."""
