"""Earlier names of four molecular-graph models, kept so that their configs and saved runs still
build. Each is the generic family with graph networks and the categorical slot observation of
the molecules modality; its old keys map onto the generic ones:

=========  =================================================================================
old name   is
=========  =================================================================================
graphnvp   ``realnvp`` with ``categorical: true`` (GraphNVP, Madhawa et al. 2019)
mpgvae     ``vae`` with ``likelihood: categorical`` (MPGVAE, Flam-Shepherd et al. 2021)
graph_aae  ``aae`` with ``likelihood: categorical``
molgan     ``gan`` with ``observation: {name: categorical, temperature, hard}`` (MolGAN, De Cao
           & Kipf 2018, without the reward network)
=========  =================================================================================

``sample_mode: argmax`` is ``sample_mean: true`` (the most likely graph); ``categorical`` is
``sample_mean: false`` (one draw per slot and pair).
"""

from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from genlab.generative.families.aae import AAEFamily
from genlab.generative.families.gan import GANFamily
from genlab.generative.families.realnvp import RealNVPFamily
from genlab.generative.families.vae import VAEFamily
from genlab.modalities.base import Modality

SAMPLE_MODES = ("argmax", "categorical")


def _most_likely(sample_mode: str) -> bool:
    if sample_mode not in SAMPLE_MODES:
        raise ValueError(f"sample_mode must be one of {SAMPLE_MODES}, got {sample_mode!r}")
    return sample_mode == "argmax"


def graphnvp(modality: Modality, network: nn.Module, dequant_scale: float = 0.9,
             temperature: float = 0.85) -> RealNVPFamily:
    return RealNVPFamily(modality, network, temperature=temperature, categorical=True, dequant_scale=dequant_scale)


def mpgvae(modality: Modality, encoder: nn.Module, decoder: nn.Module, kl_weight: float = 1.0,
           kl_warmup: int = 0, free_bits: float = 0.0, sample_mode: str = "argmax") -> VAEFamily:
    return VAEFamily(modality, encoder, decoder, likelihood="categorical", sample_mean=_most_likely(sample_mode),
                     kl_warmup=kl_warmup, kl_weight=kl_weight, free_bits=free_bits)


def graph_aae(modality: Modality, encoder: nn.Module, decoder: nn.Module, disc_hidden: int = 256,
              disc_depth: int = 2, adversarial_weight: float = 1.0, sample_mode: str = "argmax") -> AAEFamily:
    return AAEFamily(modality, encoder, decoder, likelihood="categorical", disc_hidden=disc_hidden,
                     disc_depth=disc_depth, adversarial_weight=adversarial_weight,
                     sample_mean=_most_likely(sample_mode))


def molgan(modality: Modality, generator: nn.Module, critic: nn.Module,
           objective: Mapping[str, Any] = {"name": "wgan_gp", "gp_weight": 10.0}, n_critic: int = 5,
           temperature: float = 1.0, hard: bool = False, sample_mode: str = "categorical") -> GANFamily:
    return GANFamily(modality, generator, critic, objective=objective, n_critic=n_critic,
                     observation={"name": "categorical", "temperature": temperature, "hard": hard},
                     sample_mean=_most_likely(sample_mode))


#: old name -> constructor, registered in FAMILIES beside the generic names
ALIASES = {"graphnvp": graphnvp, "mpgvae": mpgvae, "graph_aae": graph_aae, "molgan": molgan}
