"""``PROCESSES``: config ``process.name`` -> a process object (no weights).

=================  =======================================================================
name               class and config keys (= constructor arguments)
=================  =======================================================================
ddpm               :class:`~genlab.generative.processes.ddpm.DDPMProcess` (schedule, n_steps, beta_min,
                   beta_max, cosine_s)
ncsn               :class:`~genlab.generative.processes.ncsn.NCSNProcess` (sigma_min, sigma_max, n_levels)
vp / subvp         :class:`~genlab.generative.processes.sde.VPSDE` / ``SubVPSDE`` (beta_min, beta_max)
ve                 :class:`~genlab.generative.processes.sde.VESDE` (sigma_min, sigma_max)
pfgm               :class:`~genlab.generative.processes.pfgm.PFGMProcess` (sigma, tau, m_max, gamma, z_min,
                   z_max, max_prior_norm, sigma_data)
flow_matching      :class:`~genlab.generative.processes.flow_matching.FlowMatchingProcess` (coupling:
                   independent | ot, sigma_min)
discrete_flow      :class:`~genlab.generative.processes.discrete_flow.DiscreteFlowProcess` (schedule:
                   linear | cosine) — categorical variables, for discrete_flow_matching
=================  =======================================================================
"""

from __future__ import annotations

from typing import Any

from genlab.generative.processes.ddpm import DDPMProcess
from genlab.generative.processes.discrete_flow import DiscreteFlowProcess
from genlab.generative.processes.flow_matching import FlowMatchingProcess
from genlab.generative.processes.ncsn import NCSNProcess
from genlab.generative.processes.pfgm import PFGMProcess
from genlab.generative.processes.sde import VESDE, VPSDE, SubVPSDE
from genlab.registry import Registry

PROCESSES: Registry[Any] = Registry("process")
PROCESSES.register("ddpm")(DDPMProcess)
PROCESSES.register("ncsn")(NCSNProcess)
PROCESSES.register("vp")(VPSDE)
PROCESSES.register("subvp")(SubVPSDE)
PROCESSES.register("ve")(VESDE)
PROCESSES.register("pfgm")(PFGMProcess)
PROCESSES.register("flow_matching")(FlowMatchingProcess)
PROCESSES.register("discrete_flow")(DiscreteFlowProcess)
