"""``FAMILIES``: config ``family.name`` -> a :class:`~genlab.families.base.Family`.

Every family is built from its config section plus three injected objects::

    modality = bundle.modality                                  # from DATASETS
    process  = PROCESSES.build(cfg["process"])                  # no weights
    network  = NETWORKS.build(cfg["network"], shapes=modality.shapes())
    family   = FAMILIES.build(cfg["family"], modality=modality, process=process, network=network)

=============  =============================================  =====================================
name           process                                        family config keys
=============  =============================================  =====================================
ddpm           ddpm                                           sampler (ancestral | ddim),
                                                              sample_steps, eta, variance
ncsn           ncsn                                           n_steps_each, step_lr, denoise
score_sde      vp | subvp | ve                                weighting (sigma2 | g2), t_eps, sampler
                                                              (pc | ode), predictor, corrector, snr,
                                                              n_corrector_steps, sample_steps,
                                                              sample_t_eps, ode_method, rtol, atol
pfgm           pfgm (network.aux_dim: 1)                      ode_method, sample_steps, rtol, atol
flow_matching  flow_matching                                  ode_method, sample_steps, rtol, atol
=============  =============================================  =====================================
"""

from __future__ import annotations

import importlib

from genlab.families.base import Family
from genlab.families.ddpm import DDPMFamily
from genlab.families.flow_matching import FlowMatchingFamily
from genlab.families.ncsn import NCSNFamily
from genlab.families.pfgm import PFGMFamily
from genlab.families.score_sde import ScoreSDEFamily
from genlab.registry import Registry

FAMILIES: Registry[Family] = Registry("family")
FAMILIES.register("ddpm")(DDPMFamily)
FAMILIES.register("ncsn")(NCSNFamily)
FAMILIES.register("score_sde")(ScoreSDEFamily)
FAMILIES.register("pfgm")(PFGMFamily)
FAMILIES.register("flow_matching")(FlowMatchingFamily)

# modules of families owned by other workers (VAEs, GANs, flows, graph families ...)
_PROVIDERS: tuple[str, ...] = ()


def load_providers() -> None:
    for module in _PROVIDERS:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
