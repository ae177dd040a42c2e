"""ODE sampling through torchdiffeq's ``odeint`` (the solvers are a well-kept library's, not ours).

One function serves the probability-flow ODE (Song et al. 2021, eq. 13), the PFGM backward ODE
(Xu et al. 2022) and flow matching (Lipman et al. 2023): the caller passes the velocity
dx/dt in genlab time, and the solver integrates from t = 1 (prior) to ``t_end`` (≈ 0, data).
Adaptive methods (dopri5, ...) take ``rtol``/``atol``; fixed-grid methods (euler, rk4, midpoint)
take ``steps`` equal steps, so NFE = steps × stages (rk4: 4).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchdiffeq import odeint

from genlab.modalities.base import Modality, State
from genlab.generative.processes.time import T_PRIOR, reverse_grid
from genlab.generative.samplers.base import CountedFn, ModelFn, SamplerOutput
from genlab.utils.checks import at_least, less_than, one_of, positive

#: methods that integrate on the given time grid (others are adaptive)
FIXED_GRID_METHODS = ("euler", "midpoint", "rk4", "explicit_adams", "implicit_adams")
#: adaptive torchdiffeq methods genlab exposes
ADAPTIVE_METHODS = ("dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun")


def check_ode_settings(method: str, steps: int | None, rtol: float | None = None, atol: float | None = None) -> None:
    """Reject an unknown ODE method, a step count below 1 or a tolerance ≤ 0 when a family is
    built, not half-way through sampling; the names are the families' config keys
    (``ode_method``, ``sample_steps``, ``rtol``, ``atol``)."""
    one_of("ode_method", method, FIXED_GRID_METHODS + ADAPTIVE_METHODS)
    if steps is not None:
        at_least("sample_steps", steps, 1)
    for name, tolerance in (("rtol", rtol), ("atol", atol)):
        if tolerance is not None:
            positive(name, tolerance)


def as_ode_func(velocity_fn: ModelFn, like: State, modality: Modality, t_range: tuple[float, float]):
    """torchdiffeq's ``func(t, y)`` with y a tuple of the state's components; t is clamped to
    ``t_range`` because adaptive trial stages may probe just beyond the end point."""
    names = list(like.parts)
    B = like.batch_size
    lo, hi = min(t_range), max(t_range)

    def func(t: Tensor, y: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        x = like.with_parts(dict(zip(names, y)))
        v = modality.project(velocity_fn(x, t.reshape(()).clamp(lo, hi).expand(B)))
        return tuple(v.parts[k] for k in names)

    return func, names


def ode_sample(velocity_fn: ModelFn, x_1: State, modality: Modality, method: str = "dopri5",
               steps: int = 100, rtol: float = 1e-5, atol: float = 1e-5, t_end: float = 0.0,
               t_start: float = T_PRIOR) -> SamplerOutput:
    """Integrate dx/dt = v(x, t) from ``t_start`` down to ``t_end``."""
    one_of("method", method, FIXED_GRID_METHODS + ADAPTIVE_METHODS)
    at_least("steps", steps, 1)
    positive("rtol", rtol)
    positive("atol", atol)
    less_than("t_end", t_end, t_start, bound="t_start")
    counted = CountedFn(velocity_fn)
    func, names = as_ode_func(counted, x_1, modality, (t_start, t_end))
    options = {}
    if method in FIXED_GRID_METHODS:
        grid = reverse_grid(steps, t_end=t_end, t_start=t_start, device=x_1.device)  # (S+1,)
    else:
        grid = torch.tensor([t_start, t_end], device=x_1.device)
        options["step_t"] = grid[1:]  # land exactly on t_end instead of stepping past it
    y0 = tuple(x_1.parts[k] for k in names)
    ys = odeint(func, y0, grid, method=method, rtol=rtol, atol=atol, options=options)
    x = modality.project(x_1.with_parts({k: y[-1] for k, y in zip(names, ys)}))
    return SamplerOutput(x=x, nfe=counted.nfe)
