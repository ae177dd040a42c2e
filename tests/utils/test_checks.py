"""utils/checks.py and the samplers' own argument checks: impossible values are refused before any
work, with the argument named (the CLI table of config keys is in test_bad_input.py)."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.errors import ConfigError
from genlab.generative.processes.ddpm import DDPMProcess
from genlab.generative.processes.sde import VPSDE
from genlab.generative.processes.time import reverse_grid, uniform_times
from genlab.generative.samplers.ddpm import ddim, ddpm_ancestral
from genlab.generative.samplers.langevin import annealed_langevin
from genlab.generative.samplers.likelihood import ode_log_likelihood
from genlab.generative.samplers.ode import check_ode_settings, ode_sample
from genlab.generative.samplers.pc import pc_sample
from genlab.modalities.base import State
from genlab.modalities.points import PointsModality
from genlab.utils import checks
from genlab.utils.checks import ImpossibleValue


@pytest.mark.parametrize("check, args, message", [
    (checks.at_least, ("depth", 0, 1), "must be at least 1, got 0"),
    (checks.at_most, ("seed", 5, 4), "must be at most 4, got 5"),
    (checks.less_than, ("sigma_min", 2.0, 1.0), "must be less than 1.0, got 2.0"),
    (checks.positive, ("lr", 0.0), "must be positive, got 0.0"),
    (checks.non_negative, ("eta", -0.5), "must not be negative, got -0.5"),
    (checks.finite, ("lr", math.inf), "must be finite, got inf"),
    (checks.in_unit_interval, ("p", 1.5), r"must be in \[0, 1\], got 1.5"),
    (checks.even, ("time_dim", 7), "must be even, got 7"),
    (checks.one_of, ("method", "rk99", ("euler", "rk4")), "expected one of 'euler', 'rk4', got 'rk99'"),
])
def test_each_check_names_the_argument_and_the_value(check, args, message):
    with pytest.raises(ImpossibleValue, match=message) as info:
        check(*args)
    assert info.value.argument == args[0] and str(info.value).startswith(f"key '{args[0]}': ")
    assert isinstance(info.value, ValueError) and isinstance(info.value, ConfigError)


def test_nan_fails_every_numeric_check_and_bounds_are_named():
    nan = float("nan")
    for check, args in [(checks.at_least, (1,)), (checks.at_most, (1,)), (checks.less_than, (1,)),
                        (checks.positive, ()), (checks.non_negative, ()), (checks.finite, ()),
                        (checks.in_unit_interval, ())]:
        with pytest.raises(ImpossibleValue, match="got nan"):
            check("x", nan, *args)
    with pytest.raises(ImpossibleValue, match=r"must divide hidden \(64\), got 3"):
        checks.divides("heads", 3, 64, bound="hidden")
    with pytest.raises(ImpossibleValue, match=r"must be in \(0, 1\), got 1"):
        checks.in_unit_interval("x", 1, closed_low=False, closed_high=False)
    checks.divides("heads", 4, 64, bound="hidden")
    checks.in_unit_interval("x", 1.0)
    checks.at_least("x", 1, 1)


def zero_fn(x: State, t: torch.Tensor) -> State:
    raise AssertionError("the network was called before the settings were checked")


@pytest.fixture()
def x_1() -> State:
    return State({"x": torch.randn(4, 2, generator=torch.Generator().manual_seed(0))})


@pytest.mark.parametrize("call, argument", [
    (lambda x, m: ddpm_ancestral(zero_fn, DDPMProcess(n_steps=10), x, m, steps=0), "steps"),
    (lambda x, m: ddpm_ancestral(zero_fn, DDPMProcess(n_steps=10), x, m, steps=11), "steps"),  # repeats a lattice point
    (lambda x, m: ddpm_ancestral(zero_fn, DDPMProcess(n_steps=10), x, m, variance="huge"), "variance"),
    (lambda x, m: ddim(zero_fn, DDPMProcess(n_steps=10), x, m, eta=-1.0), "eta"),
    (lambda x, m: annealed_langevin(zero_fn, torch.tensor([1.0, 0.1]), torch.tensor([1.0, 0.5]), x, m,
                                    n_steps_each=0), "n_steps_each"),
    (lambda x, m: annealed_langevin(zero_fn, torch.tensor([1.0, 0.1]), torch.tensor([1.0, 0.5]), x, m,
                                    step_lr=0.0), "step_lr"),
    (lambda x, m: pc_sample(zero_fn, VPSDE(), x, m, steps=0), "steps"),
    (lambda x, m: pc_sample(zero_fn, VPSDE(), x, m, snr=-0.1), "snr"),
    (lambda x, m: pc_sample(zero_fn, VPSDE(), x, m, n_corrector_steps=-1), "n_corrector_steps"),
    (lambda x, m: pc_sample(zero_fn, VPSDE(), x, m, t_eps=1.0), "t_eps"),
    (lambda x, m: pc_sample(zero_fn, VPSDE(), x, m, predictor="leapfrog"), "predictor"),
    (lambda x, m: ode_sample(zero_fn, x, m, method="euler", steps=0), "steps"),
    (lambda x, m: ode_sample(zero_fn, x, m, method="heun3"), "method"),
    (lambda x, m: ode_sample(zero_fn, x, m, rtol=0.0), "rtol"),
    (lambda x, m: ode_sample(zero_fn, x, m, t_end=1.0), "t_end"),
    (lambda x, m: ode_log_likelihood(zero_fn, x, m, lambda s: torch.zeros(4), t_0=-0.1), "t_0"),
    (lambda x, m: ode_log_likelihood(zero_fn, x, m, lambda s: torch.zeros(4), data_scale=0.0), "data_scale"),
    (lambda x, m: reverse_grid(0), "steps"),
    (lambda x, m: reverse_grid(10, power=0.0), "power"),
    (lambda x, m: uniform_times(4, t_eps=1.0), "t_eps"),
])
def test_samplers_refuse_impossible_settings_before_any_network_call(x_1, call, argument):
    with pytest.raises(ImpossibleValue) as info:
        call(x_1, PointsModality(2))
    assert info.value.argument == argument


def test_ode_settings_name_the_family_keys():
    check_ode_settings("rk4", 10, rtol=1e-5, atol=1e-5)
    for args, kwargs, key in [(("rk99", 10), {}, "ode_method"), (("rk4", 0), {}, "sample_steps"),
                              (("rk4", 10), {"rtol": 0.0}, "rtol"), (("rk4", None), {"atol": -1.0}, "atol")]:
        with pytest.raises(ImpossibleValue) as info:
            check_ode_settings(*args, **kwargs)
        assert info.value.argument == key
