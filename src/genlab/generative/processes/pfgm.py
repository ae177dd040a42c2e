"""Poisson flow generative model (Xu, Liu, Tegmark & Jaakkola 2022): the augmented space.

Data y ∈ R^N sits on the hyperplane z = 0 of R^{N+1}; the data act as charges whose Poisson
field (§3, with the N-sphere's area dropped) is

    E(x̃) = Σ_j (x̃ - ỹ_j) / ‖x̃ - ỹ_j‖^{N+1},     ỹ_j = (y_j, 0).

Training (Algorithm 1) perturbs data to x̃ = ỹ + ‖ε‖ (1+τ)^m u with ε ~ N(0, σ² I_{N+1}),
u ~ U(S^N), m ~ U[0, M], reflects z to |z|, and regresses the normalized field
ν = -sqrt(N) E / (‖E‖ + γ) of the *batch*. Here E is computed with softmax-normalised
weights w_j ∝ ‖x̃ - ỹ_j‖^{-(N+1)} (same direction, stable for large N), so γ acts on the scale of
a distance.

Sampling runs the backward ODE dx/dt = ν_x / ν_z · dz/dt from the z = z_max plane, whose
induced prior (§3.3) has density ∝ (‖x‖² + z_max²)^{-(N+1)/2}: x = z_max g / |n| with
g ~ N(0, I_N), n ~ N(0, 1) (a multivariate Cauchy). Time (:mod:`genlab.generative.processes.time`):
z(t) = z_min (z_max/z_min)^t, so the ODE in t is dx/dt = z log(z_max/z_min) ν_x/ν_z (the paper's
change of variable t' = log z).

The prior is heavy-tailed: for N = 2, P(‖x‖ > R) ≈ z_max/R, so one draw in ten starts beyond
10 z_max, nearly level with the data plane, where the field is almost horizontal, ν_z is tiny and
a network error flips its sign. Three measures, the first as in the authors' code:

* ``max_prior_norm`` clips the prior's norm (their ``sampling.upper_norm``); choose it equal to
  the largest training radius σ sqrt(N+1) (1+τ)^M, so sampling starts only where training went;
* the network sees c_in(z) x with c_in = 1/sqrt(σ_data² + z²) (:meth:`input_scale`; as EDM's
  c_in), so its inputs stay O(1) from z_min to z_max instead of spanning five decades;
* :meth:`velocity` keeps ν_z below -z ‖ν_x‖/(‖x‖ + 3 σ_data sqrt(N)), an exact property of the
  field of data inside that ball, so a wrong sign of ν_z cannot throw a sample to infinity.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlab.utils.broadcast import expand_like
from genlab.utils.checks import less_than, non_negative, positive


class PFGMProcess:
    """The PFGM augmented-space perturbation, empirical field, prior and backward-ODE drift."""

    def __init__(self, sigma: float = 0.01, tau: float = 0.03, m_max: float = 300.0, gamma: float = 5.0,
                 z_min: float = 1e-3, z_max: float = 40.0, max_prior_norm: float | None = None,
                 sigma_data: float = 1.0) -> None:
        positive("sigma", sigma)
        positive("tau", tau)  # (1 + τ)^m spreads the perturbation radii; τ = 0 would not
        positive("m_max", m_max)
        non_negative("gamma", gamma)
        positive("z_min", z_min)
        less_than("z_min", z_min, z_max, bound="z_max")
        if max_prior_norm is not None:  # None: no clipping
            positive("max_prior_norm", max_prior_norm)
        positive("sigma_data", sigma_data)
        self.sigma, self.tau, self.m_max, self.gamma = sigma, tau, m_max, gamma
        self.z_min, self.z_max = z_min, z_max
        self.max_prior_norm, self.sigma_data = max_prior_norm, sigma_data

    # -- time <-> augmented coordinate -------------------------------------------------------
    @property
    def log_ratio(self) -> float:
        return math.log(self.z_max / self.z_min)

    def z_of(self, t: Tensor) -> Tensor:
        """z(t) = z_min (z_max/z_min)^t, (B,)."""
        return self.z_min * torch.exp(t * self.log_ratio)

    def t_of(self, z: Tensor) -> Tensor:
        """t(z) = log(z/z_min) / log(z_max/z_min), (B,) (outside [0, 1] for z outside the range)."""
        return torch.log(z / self.z_min) / self.log_ratio

    # -- training ----------------------------------------------------------------------------
    def perturb(self, y: Tensor, eps_x: Tensor, eps_z: Tensor, u_x: Tensor, u_z: Tensor, m: Tensor) -> tuple[Tensor, Tensor]:
        """Algorithm 1, perturbation: (x, z) with x shaped like y and z (B,).

        ``eps_x, u_x`` (like y) and ``eps_z, u_z`` (B,) are standard normal draws (ε/σ and the
        unnormalised direction u); ``m`` (B,) is uniform on [0, M].
        """
        eps_norm = self.sigma * ((eps_x.flatten(1) ** 2).sum(1) + eps_z**2).sqrt()  # ‖ε‖, (B,)
        u_norm = ((u_x.flatten(1) ** 2).sum(1) + u_z**2).sqrt()  # (B,)
        radius = eps_norm * (1 + self.tau) ** m  # (B,)
        x = y + expand_like(radius / u_norm, y) * u_x
        z = (radius * u_z / u_norm).abs().clamp_min(1e-12)  # reflect to the upper half-space
        return x, z

    def normalized_field(self, x: Tensor, z: Tensor, y: Tensor, dims: Tensor) -> tuple[Tensor, Tensor]:
        """ν = -sqrt(N) E/(‖E‖ + γ) at (x, z) from the charges y (M, ...) on z = 0: (ν_x like x, ν_z (B,)).

        ``dims`` (B,) is N for each sample (free dimensions; graphs vary).
        """
        diff_x = x.flatten(1)[:, None, :] - y.flatten(1)[None, :, :]  # (B, M, D)
        dist2 = (diff_x**2).sum(-1) + z[:, None] ** 2  # (B, M)
        log_w = -0.5 * (dims[:, None].to(dist2) + 1) * torch.log(dist2.clamp_min(1e-30))  # (B, M)
        w = torch.softmax(log_w, dim=1)  # (B, M)
        e_x = (w[..., None] * diff_x).sum(1)  # (B, D)
        e_z = z * w.sum(1)  # (B,)  every charge has z-offset z
        norm = ((e_x**2).sum(1) + e_z**2).sqrt()  # (B,)
        scale = -dims.to(norm).sqrt() / (norm + self.gamma)  # (B,)
        return (scale[:, None] * e_x).reshape(x.shape), scale * e_z

    # -- sampling ----------------------------------------------------------------------------
    def prior(self, g: Tensor, n: Tensor) -> Tensor:
        """A draw on the z = z_max plane: x = z_max g / |n| (g like x ~ N(0, I), n (B,) ~ N(0, 1)),
        its norm clipped to ``max_prior_norm`` when set (the authors' ``sampling.upper_norm``)."""
        x = expand_like(self.z_max / n.abs().clamp_min(1e-12), g) * g
        if self.max_prior_norm is None:
            return x
        norm = x.flatten(1).norm(dim=1)  # (B,)
        return x * expand_like(self.max_prior_norm / norm.clamp_min(self.max_prior_norm), x)

    def input_scale(self, z: Tensor) -> Tensor:
        """c_in(z) = 1 / sqrt(σ_data² + z²), (B,): the network sees c_in x, whose coordinates are O(1)
        at every height (at height z the perturbed data spread ~z per coordinate)."""
        return (self.sigma_data**2 + z**2).rsqrt()

    def velocity(self, nu_x: Tensor, nu_z: Tensor, t: Tensor, x: Tensor | None = None) -> Tensor:
        """dx/dt = (dz/dt) ν_x/ν_z = z(t) log(z_max/z_min) ν_x/ν_z.

        ν_z must point down (the field of charges on z = 0 always does). Because the field's
        z-component is exactly z (weights summing to one), ν_x/ν_z = E_x/z and dx/d log z = E_x,
        the offset of x from a weighted mean of the charges. When ``x`` is given, ν_z is kept at or
        below -z ‖ν_x‖/(‖x‖ + a), i.e. ‖E_x‖ ≤ ‖x‖ + a, which holds whenever the data lie in the ball
        of radius a = 3 σ_data sqrt(N) around the origin: a network error in the tiny ν_z of a
        nearly horizontal field (far out, close to the plane) cannot then fling x away. Without
        ``x``, ν_z ≤ -1e-6.
        """
        if x is None:
            nu_z = nu_z.clamp(max=-1e-6)
        else:
            z = self.z_of(t)  # (B,)
            norm_x = x.flatten(1).norm(dim=1)  # (B,)
            radius = 3.0 * self.sigma_data * math.sqrt(x[0].numel())
            bound = z * nu_x.flatten(1).norm(dim=1) / (norm_x + radius)  # (B,)
            nu_z = torch.minimum(nu_z, -bound.clamp_min(1e-6))
        return expand_like(self.z_of(t) * self.log_ratio / nu_z, nu_x) * nu_x
