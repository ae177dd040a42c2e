"""``NETWORKS``: config ``network.name`` -> a time-conditioned network.

The network contract (every network, for every modality)
--------------------------------------------------------
Call signature::

    out: State = network(x_t: State, t: Tensor)   # t: (B,) float, genlab time (t=0 data, 1 prior)

* ``x_t`` is a :class:`~genlab.modalities.base.State`: a dict of components ``parts`` (points and
  images: ``{"x": (B, D)}`` / ``{"x": (B, C, H, W)}``; graphs: ``{"x": (B, N, K), "adj":
  (B, N, N, C)}``) plus an optional node ``mask`` (B, N) that a graph network must respect.
* ``out`` has the same components and shapes as ``x_t`` (built with ``x_t.with_parts(...)`` so
  the mask and extras travel along). What the output *means* (ε, a scaled score, a velocity, a
  normalised Poisson field) is decided by the family, never by the network.
* ``t`` may leave [0, 1] slightly for PFGM (t = log(z/z_min)/log(z_max/z_min) of a perturbed z);
  embeddings accept any real t.
* ``aux_dim > 0`` adds one extra component ``out.parts["aux"]`` of shape (B, aux_dim), a
  per-sample vector read from pooled features. PFGM uses ``aux_dim: 1`` for the field's z
  component ν_z. A network that cannot provide it must raise on ``aux_dim > 0``.

Construction
------------
A network learns its sizes from the modality, injected by the builder
(:func:`genlab.build.network_shapes`)::

    NETWORKS.build(cfg["network"], shapes=modality.view_shapes(network_class.view))

``shapes`` maps component name -> per-sample shape (``{"x": (2,)}``, ``{"x": (1, 8, 8)}``) of the
view the network reads or emits: ``view = "state"`` (the default, :meth:`Modality.shapes`) or, for
the one-shot graph networks, ``view = "slots"`` (the molecules modality's K + 1 node classes with
"no atom"); it is not a config key. A network never derives another view's sizes itself. Config keys are the remaining constructor arguments:

============  ==================================================================================
name          config keys
============  ==================================================================================
mlp           hidden, depth, time_embedding (sinusoidal | fourier), time_dim, aux_dim
unet          base_channels, channel_mults, time_embedding, time_dim, aux_dim, groups, dropout
concatsquash  hidden, depth, activation (softplus | tanh): FFJORD's ODE function, smooth in t
============  ==================================================================================

Networks with other contracts (flows, VAEs, AAEs, GANs; see their modules):

=============  ==========================================  ===========================================
name           contract                                    config keys
=============  ==========================================  ===========================================
coupling_mlp   ``z, log_det = flow(x)``, ``flow.inverse``  n_couplings, hidden, depth, permute, actnorm
coupling_conv  (:mod:`genlab.networks.coupling_flows`)     n_couplings, hidden, depth, actnorm
mlp_encoder    ``h = encoder(x)``: State -> (B, out_dim)   hidden, depth
conv_encoder   (:mod:`genlab.networks.latent_maps`)        channels, features
mlp_decoder    ``p = decoder(z)``: (B, L) -> State of      latent_dim, hidden, depth, n_params,
               (B, n_params, *shape) parts                 out_activation
conv_decoder                                               latent_dim, channels, n_params,
                                                           out_activation
=============  ==========================================  ===========================================

Graph networks register themselves in their own modules (the providers below):

=================  =====  =========================================================================
name               view   contract
=================  =====  =========================================================================
graph_transformer  state  ``network(x_t, t[, cond]) -> State`` (the time-conditioned contract above)
mpnn_encoder       state  ``h = encoder(x)``: State -> (B, out_dim), permutation invariant
mpnn_decoder       slots  ``logits = decoder(z)``: (B, L) -> State of slot logits
graph_generator    slots  ``logits = generator(z)``: (B, L) -> State of slot logits
rgcn_critic        slots  ``h = critic(x)``: one-hot or relaxed slots -> (B, out_dim)
graphnvp_flow      slots  ``z, log_det = flow(x)``, ``flow.inverse(z)`` on dequantised slots
=================  =====  =========================================================================

Classifier networks (:mod:`genlab.networks.classifiers`) read the modality's classifier input view
(``modality.to_inputs``: images as pixels in [0, 1]), whose shapes are the state's:

==============  ==========================================  =====================================
name            contract                                    config keys
==============  ==========================================  =====================================
mlp_classifier  ``logits = network(x)``: (B, ...) ->        classes, hidden, depth
small_cnn       (B, classes)                                classes, channels, hidden
madry_cnn                                                   classes, channels, hidden
==============  ==========================================  =====================================
"""

from __future__ import annotations

from torch import nn

from genlab.networks.concatsquash import ConcatSquashMLP
from genlab.networks.coupling_flows import CouplingConvFlow, CouplingMLPFlow
from genlab.networks.latent_maps import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder
from genlab.networks.mlp import TimeMLP
from genlab.networks.unet import UNet
from genlab.registry import Registry

NETWORKS: Registry[nn.Module] = Registry("network", providers=(
    "genlab.networks.graph",
    "genlab.networks.rgcn",
    "genlab.networks.graph_flows",
    "genlab.networks.mpnn",
    "genlab.networks.graph_generator",
    "genlab.networks.classifiers",
    "genlab.networks.few_shot",
    "genlab.networks.sparse",
    "genlab.networks.domain_adaptation",
))
NETWORKS.register("mlp")(TimeMLP)
NETWORKS.register("unet")(UNet)
NETWORKS.register("concatsquash")(ConcatSquashMLP)
NETWORKS.register("coupling_mlp")(CouplingMLPFlow)
NETWORKS.register("coupling_conv")(CouplingConvFlow)
NETWORKS.register("mlp_encoder")(MLPEncoder)
NETWORKS.register("mlp_decoder")(MLPDecoder)
NETWORKS.register("conv_encoder")(ConvEncoder)
NETWORKS.register("conv_decoder")(ConvDecoder)

#: registry-wide alias: import every module that registers entries (done lazily on first lookup)
load_providers = NETWORKS.load_providers
