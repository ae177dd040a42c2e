"""Gradient projection memory (Saha, Garg & Roy 2021, "Gradient Projection Memory for Continual
Learning", Algorithm 1).

After each experience, for every linear and convolutional layer l, the **representation matrix**
R_l (d × n) holds the layer's inputs on n training examples (a convolution's input patches,
``F.unfold``); a bias is a weight on a constant input 1, so R_l gets a row of ones and the bias
is protected with the weights. The layer's **basis** M_l (d × k, orthonormal columns) spans the
inputs that matter for the earlier experiences:

* first experience (eq. 5): R = U Σ Vᵀ; keep the k first columns of U, k the smallest with
  ‖R_k‖²_F ≥ ε_th ‖R‖²_F;
* later experiences (eqs. 8–9): remove what M already spans, R̂ = R − M Mᵀ R = Û Σ̂ V̂ᵀ, and append
  the k first columns of Û, k the smallest with ‖M Mᵀ R‖²_F + Σ_{i≤k} σ̂_i² ≥ ε_th ‖R‖²_F.

While later experiences train, every gradient G_l (out × d, bias as the last column) is projected
onto the orthogonal complement after backward: G_l ← G_l − G_l M_l M_lᵀ. Then for old inputs x
(in span M_l) a plain SGD step changes W_l x by −η G_l x = 0 up to the energy ε_th left out.

A basis lives in a (d × d) buffer whose first k columns are used (``rank_l`` = k), so the state
has a fixed shape. Keys: ``threshold`` (ε_th, one number or one per layer in network order;
Saha et al. use 0.95 for the first layer of their permuted-MNIST MLP and 0.99 for the others),
``samples`` (n, training examples per representation matrix; 300 in their MNIST experiments).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.classifiers.continual.experience import Experience
from genlab.classifiers.continual.methods.base import METHODS, ExperienceContext, Method
from genlab.classifiers.continual.per_sample import evaluating
from genlab.errors import ConfigError
from genlab.utils import checks

#: the relative slack of the energy criterion (so ε_th = 1 keeps exactly the numerical rank)
RELATIVE_SLACK = 1e-10


def projected_layers(network: nn.Module) -> list[nn.Module]:
    """The linear and convolutional layers of ``network``, in module order."""
    layers = [m for m in network.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    for m in layers:
        if isinstance(m, nn.Conv2d) and (m.groups != 1 or isinstance(m.padding, str) or m.padding_mode != "zeros"):
            raise ConfigError("gradient projection handles convolutions with groups 1 and numeric zero padding",
                              key="family.method.name")
    return layers


def input_size(layer: nn.Module) -> int:
    """d: the length of one column of the layer's representation matrix (bias input included)."""
    size = layer.in_features if isinstance(layer, nn.Linear) else layer.in_channels * layer.weight[0, 0].numel()
    return size + (layer.bias is not None)


def representation(layer: nn.Module, inputs: Tensor) -> Tensor:
    """R (d × n): the inputs the layer saw as columns (a convolution's patches, one per position)."""
    if isinstance(layer, nn.Linear):
        x = inputs.reshape(-1, layer.in_features)  # (n, d_in)
    else:
        patches = F.unfold(inputs, layer.kernel_size, dilation=layer.dilation, padding=layer.padding,
                           stride=layer.stride)  # (B, C·kh·kw, L)
        x = patches.transpose(1, 2).reshape(-1, patches.shape[1])  # (B·L, C·kh·kw)
    if layer.bias is not None:
        x = torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)], dim=1)
    return x.T  # (d, n)


def extend_basis(basis: Tensor, r: Tensor, threshold: float) -> Tensor:
    """Algorithm 1's update: ``basis`` (d × k, orthonormal) extended by the directions of ``r``
    (d × n) it misses, until the kept energy reaches ``threshold`` of ‖r‖²_F; float64."""
    total = (r ** 2).sum()
    if total == 0:
        return basis
    residual = r - basis @ (basis.T @ r)  # R̂ = R − M Mᵀ R  (d, n)
    u, s, _ = torch.linalg.svd(residual, full_matrices=False)  # (d, m), (m,)
    kept = total - (residual ** 2).sum()  # ‖M Mᵀ R‖²_F
    energy = kept + torch.cat([s.new_zeros(1), torch.cumsum(s ** 2, 0)])  # (m + 1,) with 0..m directions
    enough = torch.nonzero(energy >= threshold * total * (1 - RELATIVE_SLACK)).flatten()
    k = int(enough[0]) if len(enough) else len(s)
    return torch.cat([basis, u[:, :k]], dim=1)[:, : r.shape[0]]  # (d, k_old + k)


def gradient_matrix(layer: nn.Module) -> Tensor | None:
    """G (out × d): the layer's weight gradient, its bias gradient as the last column."""
    if layer.weight.grad is None:
        return None
    g = layer.weight.grad.reshape(layer.weight.shape[0], -1)  # (out, d_in)
    if layer.bias is not None:
        g = torch.cat([g, layer.bias.grad[:, None]], dim=1)  # (out, d)
    return g


def set_gradient(layer: nn.Module, g: Tensor) -> None:
    if layer.bias is not None:
        layer.bias.grad.copy_(g[:, -1])
        g = g[:, :-1]
    layer.weight.grad.copy_(g.reshape(layer.weight.shape))


@METHODS.register("gpm")
class GPM(Method):
    """Gradient projection onto the complement of the earlier experiences' input spaces."""

    def __init__(self, threshold: float | list[float] = 0.97, samples: int = 300) -> None:
        super().__init__()
        for value in threshold if isinstance(threshold, list) else [threshold]:
            checks.in_unit_interval("threshold", value)
        checks.at_least("samples", samples, 1)
        self.threshold, self.samples = threshold, samples

    def attach(self, learner: nn.Module) -> None:
        self.layers = projected_layers(learner.network)
        n = len(self.layers)
        if isinstance(self.threshold, list) and len(self.threshold) != n:
            raise ConfigError(f"give one threshold or one per layer; the network has {n} layers",
                              key="family.method.threshold")
        self.thresholds = self.threshold if isinstance(self.threshold, list) else [self.threshold] * n
        for i, layer in enumerate(self.layers):
            d = input_size(layer)
            self.register_buffer(f"basis_{i}", torch.zeros(d, d, dtype=layer.weight.dtype))  # M in its first k columns
            self.register_buffer(f"rank_{i}", torch.zeros((), dtype=torch.long))  # k

    def basis(self, i: int) -> Tensor:
        """M of layer i, (d × k)."""
        return getattr(self, f"basis_{i}")[:, : int(getattr(self, f"rank_{i}"))]

    @torch.no_grad()
    def project(self, learner: nn.Module) -> None:
        for i, layer in enumerate(self.layers):
            m = self.basis(i)  # (d, k)
            g = gradient_matrix(layer)  # (out, d)
            if g is None or m.shape[1] == 0:
                continue
            set_gradient(layer, g - (g @ m) @ m.T)

    @torch.no_grad()
    def after_experience(self, learner: nn.Module, experience: Experience, context: ExperienceContext) -> None:
        generator = torch.Generator().manual_seed(context.seed)
        indices = torch.randperm(len(experience.train), generator=generator)[: self.samples]
        x, _ = learner.examples(experience.train, indices)  # (n, ...)
        seen: dict[int, Tensor] = {}
        hooks = [layer.register_forward_hook(lambda mod, args, out, i=i: seen.__setitem__(i, args[0].detach()))
                 for i, layer in enumerate(self.layers)]
        try:
            with evaluating(learner.network):
                learner.network(x)
        finally:
            for hook in hooks:
                hook.remove()
        for i, layer in enumerate(self.layers):
            r = representation(layer, seen[i]).double()  # (d, n)
            extended = extend_basis(self.basis(i).double(), r, self.thresholds[i])  # (d, k')
            store = getattr(self, f"basis_{i}")
            store[:, : extended.shape[1]] = extended.to(store.dtype)
            getattr(self, f"rank_{i}").fill_(extended.shape[1])
