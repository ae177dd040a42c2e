"""``FAMILIES``: config ``family.name`` -> a :class:`~genlab.generative.families.base.Family`.

Every family is built from its config section plus three injected objects::

    modality = bundle.modality                                  # from DATASETS
    process  = PROCESSES.build(cfg["process"])                  # no weights
    network  = NETWORKS.build(cfg["network"], shapes=modality.shapes())
    family   = FAMILIES.build(cfg["family"], modality=modality, process=process, network=network)

=============  =============================================  =====================================
name           process                                        family config keys
=============  =============================================  =====================================
ddpm           ddpm                                           prediction (eps | x0), loss_weights,
                                                              sampler (ancestral | ddim),
                                                              sample_steps, eta, variance
ncsn           ncsn                                           prediction (score | x0), loss_weights,
                                                              n_steps_each, step_lr, denoise
score_sde      vp | subvp | ve                                prediction (score | x0), loss_weights,
                                                              weighting (sigma2 | g2), t_eps, sampler
                                                              (pc | ode), predictor, corrector, snr,
                                                              n_corrector_steps, sample_steps,
                                                              sample_t_eps, ode_method, rtol, atol
pfgm           pfgm (network.aux_dim: 1)                      ode_method, sample_steps, rtol, atol
flow_matching  flow_matching                                  prediction (velocity | x0),
                                                              loss_weights, ode_method, sample_steps,
                                                              rtol, atol (self-conditioning: the
                                                              network's ``self_condition``)
discrete_flow  discrete_flow (molecules only: atoms and       loss_weights, sample_steps, grid_power
_matching      bonds stay classes)                            (sampler euler; self-conditioning as
                                                              for flow_matching)
=============  =============================================  =====================================

``prediction: x0`` (:mod:`genlab.generative.families.x0_parameterisation`) makes the network score the clean
data through the modality's ``denoiser_loss``/``denoiser_mean`` (class logits for molecules).

The molecular-graph models are generic families with graph networks and the molecules
modality's categorical slot observation (GraphNVP = realnvp ``categorical: true``; MPGVAE and the
graph AAE = vae / aae ``likelihood: categorical``; MolGAN = gan ``observation: categorical``); their
earlier names are aliases (:mod:`genlab.generative.families.aliases`).

Families without a process (no ``process`` section); their networks are injected by role:

=======  ===============================  ======================================================
name     network roles                    family config keys
=======  ===============================  ======================================================
realnvp  network (coupling_mlp |          dequantize, logit_alpha, temperature, categorical,
         coupling_conv | graphnvp_flow)   dequant_scale
ffjord   network (concatsquash | mlp  trace (hutchinson | exact), adjoint, train_method,
         | unet: v(x, t))                 train_steps, rtol, atol, ode_method, sample_steps,
                                          eval_rtol, eval_atol, exact_max_dims, dequantize
vae      encoder, decoder                 likelihood (gaussian | discretized_logistic |
                                          categorical), n_importance, sample_mean, dequantize,
                                          kl_warmup, kl_weight, free_bits
aae      encoder, decoder                 likelihood, disc_hidden, disc_depth,
                                          adversarial_weight, sample_mean
gan      generator, critic                objective ({name: non_saturating | wgan | wgan_gp,
                                          clip_value | gp_weight}), n_critic, observation
                                          (point | {name: categorical, temperature, hard}),
                                          sample_mean
=======  ===============================  ======================================================
"""

from __future__ import annotations

from genlab.generative.families.aae import AAEFamily
from genlab.generative.families.aliases import ALIASES
from genlab.generative.families.ddpm import DDPMFamily
from genlab.generative.families.discrete_flow_matching import DiscreteFlowMatchingFamily
from genlab.generative.families.ffjord import FFJORDFamily
from genlab.generative.families.flow_matching import FlowMatchingFamily
from genlab.generative.families.gan import GANFamily
from genlab.generative.families.ncsn import NCSNFamily
from genlab.generative.families.pfgm import PFGMFamily
from genlab.generative.families.realnvp import RealNVPFamily
from genlab.generative.families.score_sde import ScoreSDEFamily
from genlab.generative.families.vae import VAEFamily
from genlab.trainable import FAMILIES

FAMILIES.register("ddpm")(DDPMFamily)
FAMILIES.register("ncsn")(NCSNFamily)
FAMILIES.register("score_sde")(ScoreSDEFamily)
FAMILIES.register("pfgm")(PFGMFamily)
FAMILIES.register("flow_matching")(FlowMatchingFamily)
FAMILIES.register("discrete_flow_matching")(DiscreteFlowMatchingFamily)
FAMILIES.register("realnvp")(RealNVPFamily)
FAMILIES.register("ffjord")(FFJORDFamily)
FAMILIES.register("vae")(VAEFamily)
FAMILIES.register("aae")(AAEFamily)
FAMILIES.register("gan")(GANFamily)
for _name, _build in ALIASES.items():
    FAMILIES.register(_name)(_build)

#: registry-wide alias: import every module that registers entries (done lazily on first lookup)
load_providers = FAMILIES.load_providers
