"""The modality contract.

A modality owns everything that depends on *what a sample is*: how a data batch becomes the
continuous state a process acts on (``encode``), how a state becomes data again (``decode``),
the Gaussian noise with the right symmetry and padding (``noise``), and how a state is projected
back onto its valid subspace (``project``: e.g. symmetric, zero-diagonal, padding-masked
adjacency). Processes and families never look at shapes; they call the modality.

A :class:`State` holds one tensor per component: points and images have one (``"x"``), molecular
graphs two (``"x"`` node features (B, N, K), ``"adj"`` edge features (B, N, N, C)), plus an
optional node mask (B, N) that every operation respects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor


@dataclass
class State:
    """A batch in continuous space: ``parts[name]`` has a leading batch dimension B."""

    parts: dict[str, Tensor]
    mask: Tensor | None = None  # (B, N) bool for graphs; None for points and images
    extras: dict[str, Any] = field(default_factory=dict)  # conditioning that is not diffused

    def map(self, fn: Callable[..., Tensor], *others: "State") -> "State":
        """Apply ``fn`` to each component (and the same component of ``others``)."""
        return State(
            {k: fn(v, *(o.parts[k] for o in others)) for k, v in self.parts.items()},
            self.mask,
            self.extras,
        )

    @property
    def batch_size(self) -> int:
        return next(iter(self.parts.values())).shape[0]

    @property
    def device(self) -> torch.device:
        return next(iter(self.parts.values())).device

    def with_parts(self, parts: dict[str, Tensor]) -> "State":
        """A state with new component tensors and this state's mask and extras."""
        return State(parts, self.mask, self.extras)

    def flatten(self) -> Tensor:
        """All components as one vector per sample, (B, D_total), in ``parts`` order."""
        return torch.cat([v.reshape(v.shape[0], -1) for v in self.parts.values()], dim=1)

    def unflatten(self, flat: Tensor) -> "State":
        """Inverse of :meth:`flatten`: a state shaped like this one from (B, D_total)."""
        parts, start = {}, 0
        for k, v in self.parts.items():
            size = v[0].numel()
            parts[k] = flat[:, start : start + size].reshape(flat.shape[0], *v.shape[1:])
            start += size
        return self.with_parts(parts)

    def to(self, device: torch.device | str) -> "State":
        return State(
            {k: v.to(device) for k, v in self.parts.items()},
            None if self.mask is None else self.mask.to(device),
            self.extras,
        )


@dataclass
class LabelledBatch:
    """Samples with class labels: ``inputs`` is what the modality encodes (a (B, ...) tensor),
    ``labels`` (B,) long. What classifier datasets yield; a modality encodes ``inputs`` alone, so
    generative families train on labelled data sets unchanged."""

    inputs: Any
    labels: Tensor

    def __len__(self) -> int:
        return self.labels.shape[0]

    def to(self, device: torch.device | str) -> "LabelledBatch":
        return LabelledBatch(self.inputs.to(device), self.labels.to(device))


def unlabelled(batch: Any) -> Any:
    """The inputs of a :class:`LabelledBatch`, any other batch as it is."""
    return batch.inputs if isinstance(batch, LabelledBatch) else batch


class Modality:
    """Base class; subclasses are registered in :data:`genlab.modalities.registry.MODALITIES`."""

    #: component names of a :class:`State` of this modality
    components: tuple[str, ...] = ("x",)
    #: model units per quantisation step of the stored data (images: 2/(levels − 1)); 1.0 for
    #: data without a grid. Likelihood families use it to report bits per stored dimension.
    data_scale: float = 1.0
    #: the views of a sample a network can read or emit (:meth:`view_shapes`); "state" is the
    #: continuous state of :meth:`encode`, every modality has it
    views: tuple[str, ...] = ("state",)

    def encode(self, batch: Any) -> State:
        """A data batch (as yielded by ``dataloader``) -> continuous state x_0."""
        raise NotImplementedError

    def decode(self, state: State) -> Any:
        """A continuous state -> samples in data space (points, images, graphs)."""
        raise NotImplementedError

    def noise(self, like: State, generator: torch.Generator | None = None) -> State:
        """Standard Gaussian noise with this modality's symmetry and padding."""
        raise NotImplementedError

    def project(self, state: State) -> State:
        """Project a state onto the valid subspace (symmetry, masking). Identity by default."""
        return state

    def prior_template(self, n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None) -> State:
        """A zero state for ``n`` samples with masks/conditioning drawn as at training time
        (graphs: the number of atoms is drawn from the training distribution)."""
        raise NotImplementedError

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-sample shape of each component, e.g. ``{"x": (2,)}`` or ``{"x": (1, 8, 8)}``;
        networks are built with it (``NETWORKS.build(cfg, shapes=modality.shapes())``)."""
        raise NotImplementedError

    #: the box a classifier's inputs live in (:meth:`to_inputs`), e.g. (0, 1) for images; None:
    #: unbounded (points). Attacks keep their adversarial inputs inside it.
    input_range: tuple[float, float] | None = None

    def to_inputs(self, state: State) -> Tensor:
        """The one tensor a classifier reads, in :attr:`input_range`; the state's only component
        by default."""
        if len(state.parts) != 1:
            raise ValueError(f"{type(self).__name__} has no classifier input view")
        return next(iter(state.parts.values()))

    def view_shapes(self, view: str = "state") -> dict[str, tuple[int, ...]]:
        """Per-sample shapes of one view (networks declare the view they read with a ``view``
        attribute; :func:`genlab.build.build_family` passes them these shapes)."""
        if view == "state":
            return self.shapes()
        raise ValueError(f"{type(self).__name__} has no view '{view}'; its views: {', '.join(self.views)}")

    def dims(self, state: State) -> Tensor:
        """Number of free (unmasked) dimensions of each sample, (B,): for likelihoods in
        bits/dim and for divergence estimates."""
        raise NotImplementedError

    # x_0-prediction: a network output read as an estimate of the clean data. Continuous
    # modalities use the defaults (the output *is* x̂_0, scored by squared error); a categorical
    # modality (molecular graphs) overrides both to read the output as class logits.

    def denoiser_mean(self, out: State) -> State:
        """E[x_0 | x_t] in state space from a network output; the projected output by default."""
        return self.project(out)

    def denoiser_loss(self, out: State, x_0: State, weights: dict[str, float] | None = None) -> Tensor:
        """Loss of an x_0-prediction, (B,): per-dimension squared error by default, each
        component's sum weighted by ``weights[name]`` (default 1) and divided by ``dims``."""
        weights = dict(weights or {})
        pred = self.denoiser_mean(out)
        total = sum(
            weights.get(k, 1.0) * ((pred.parts[k] - v) ** 2).flatten(1).sum(1) for k, v in x_0.parts.items()
        )  # (B,)
        return total / self.dims(x_0).to(total)
