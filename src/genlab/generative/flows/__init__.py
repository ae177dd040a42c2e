"""Invertible layers with tractable log-determinants: the pieces of normalizing flows.

Every layer is a :class:`~genlab.generative.flows.base.Bijection` on one tensor with a leading batch
dimension, of any rank (points (B, D), images (B, C, H, W), graph components (B, N, K)):
``y, log_det = layer(x)`` and ``x = layer.inverse(y)``. Layers know nothing of modalities or
families; the flow networks in :mod:`genlab.networks.coupling_flows` compose them.
"""

from genlab.generative.flows.actnorm import ActNorm
from genlab.generative.flows.base import Bijection, FlowSequence
from genlab.generative.flows.coupling import AffineCoupling, alternating_mask, channel_mask, checkerboard_mask
from genlab.generative.flows.logit import LogitTransform
from genlab.generative.flows.permutation import Permutation, Squeeze, Unsqueeze

__all__ = [
    "ActNorm", "AffineCoupling", "Bijection", "FlowSequence", "LogitTransform", "Permutation",
    "Squeeze", "Unsqueeze", "alternating_mask", "channel_mask", "checkerboard_mask",
]
