"""Molecular graphs as a continuous state: one-hot atom and bond classes, centred to ±``scale``.

A molecule of n ≤ N heavy atoms is a node-class vector (N,) (0 = no atom) and an edge-class
matrix (N, N) (0 = no bond, 1/2/3 = single/double/triple; :mod:`genlab.chem.graph`). For the
continuous families it becomes two state components and a node mask:

* ``"x"``   (B, N, K): atom type k ∈ 1..K one-hot over K channels, mapped to ``scale·(2e_k - 1)``;
* ``"adj"`` (B, N, N, C): edge class c ∈ 0..C-1 one-hot over C = 4 channels, mapped the same way;
* ``mask``  (B, N) bool: the n real atoms. Padded nodes, the diagonal and every pair touching a
  padded node are exactly zero in every component and in the noise.

Why one-hot and not GDSS's scalar bond order (Jo et al. 2022, §4): a scalar puts "double" between
"single" and "triple", so a half-denoised value decodes by thresholds whose errors are ordered
and biased towards the middle class; one-hot channels let the network score each class on its
own, "no bond" included, and decoding is an argmax (the representation of Niu et al. 2020's EDP
extended to classes, as in the continuous baselines of Vignac et al. 2023). Centring (±scale
instead of {0, scale}) puts every channel at the same distance from the prior's mean, so no
class is favoured by the Gaussian prior. The node mask comes from the data at training time and
from the training set's atom-count histogram at sampling time (:meth:`prior_template`, as in
GDSS and EDM, Hoogeboom et al. 2022, §3.4), so the number of atoms is never diffused.

``decode`` is an argmax per node and per edge and nothing else: no valency-aware fixing, so a
sample's validity is judged on the graph the model produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from genlab.chem.vocab import BOND_TYPES, AtomVocab
from genlab.modalities.base import Modality, State
from genlab.modalities.registry import MODALITIES

#: edge classes: no bond plus single/double/triple
EDGE_CLASSES = len(BOND_TYPES) + 1


@dataclass
class GraphBatch:
    """Graphs as integer classes: ``atoms`` (B, N) long (0 = no atom), ``adj`` (B, N, N) long
    (0 = no bond), symmetric with a zero diagonal. What the collate yields and ``decode`` returns."""

    atoms: Tensor
    adj: Tensor

    def __len__(self) -> int:
        return self.atoms.shape[0]

    def to(self, device: torch.device | str) -> "GraphBatch":
        return GraphBatch(self.atoms.to(device), self.adj.to(device))


def pair_mask(mask: Tensor) -> Tensor:
    """(B, N) node mask -> (B, N, N) mask of pairs of two distinct real atoms."""
    n = mask.shape[1]
    off_diagonal = ~torch.eye(n, dtype=torch.bool, device=mask.device)  # (N, N)
    return mask[:, :, None] & mask[:, None, :] & off_diagonal  # (B, N, N)


def mirror_upper(t: Tensor) -> Tensor:
    """Keep the pairs i < j of a (B, N, N) or (B, N, N, C) tensor and mirror them, t_ji = t_ij, with
    a zero diagonal: the one way genlab makes a per-pair draw symmetric (each unordered pair {i, j}
    is drawn once, GDSS's ``gen_noise(sym=True)`` idea)."""
    if t.ndim == 4:
        upper = torch.triu(t.movedim(-1, 1), diagonal=1)  # (B, C, N, N), strictly upper
        return (upper + upper.transpose(-1, -2)).movedim(1, -1)  # (B, N, N, C)
    upper = torch.triu(t, diagonal=1)  # (B, N, N)
    return upper + upper.transpose(1, 2)


def symmetric_noise(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    """Standard normal (B, N, N, C) with z_ij = z_ji and zero diagonal: one N(0, I) draw per pair."""
    dev = device if generator is None else generator.device
    return mirror_upper(torch.randn(shape, generator=generator, device=dev).to(device))  # (B, N, N, C)


class MolecularGraphModality(Modality):
    """Molecular graphs over an (element, charge) vocabulary; see the module docstring.

    ``vocab``: the :class:`AtomVocab` (or its JSON record) fixing K atom types and N = max atoms;
    ``atom_counts``: histogram of heavy-atom counts in the training set, index n = count of
    molecules with n atoms (length ≤ N + 1), from which :meth:`prior_template` draws;
    ``scale``: magnitude of the centred one-hot values;
    ``class_counts``: ``{"x": (K,), "adj": (C,)}`` counts of each atom class over the real atoms
    and of each edge class over the pairs of real atoms of the training set — the marginal prior
    of the discrete families (:meth:`class_prior`); ``None``: uniform.
    """

    components = ("x", "adj")
    views = ("state", "slots")

    def __init__(self, vocab: AtomVocab | Mapping[str, Any], atom_counts: Sequence[int], scale: float = 1.0,
                 class_counts: Mapping[str, Sequence[float]] | None = None) -> None:
        self.vocab = vocab if isinstance(vocab, AtomVocab) else AtomVocab.from_json(dict(vocab))
        self.n_atoms = self.vocab.max_atoms  # N
        self.atom_types = len(self.vocab.atoms)  # K
        self.edge_classes = EDGE_CLASSES  # C
        counts = torch.as_tensor(list(atom_counts), dtype=torch.float64)
        if counts.ndim != 1 or len(counts) > self.n_atoms + 1 or (counts < 0).any() or counts[1:].sum() <= 0:
            raise ValueError(f"atom_counts must be a histogram over 0..{self.n_atoms} atoms with molecules of ≥ 1 atom")
        counts[0] = 0.0  # an empty graph is not a molecule
        self.atom_counts = F.pad(counts, (0, self.n_atoms + 1 - len(counts)))  # (N+1,)
        self.scale = float(scale)
        self.class_marginals = self._marginals(class_counts)  # {"x": (K,), "adj": (C,)}

    def _marginals(self, counts: Mapping[str, Sequence[float]] | None) -> dict[str, Tensor]:
        sizes = {"x": self.atom_types, "adj": self.edge_classes}
        if counts is None:
            return {k: torch.full((c,), 1.0 / c) for k, c in sizes.items()}
        if set(counts) != set(sizes):
            raise ValueError(f"class_counts needs the components 'x' and 'adj', got {sorted(counts)}")
        out = {}
        for k, c in sizes.items():
            v = torch.as_tensor(list(counts[k]), dtype=torch.float64)
            if v.shape != (c,) or (v < 0).any() or v.sum() <= 0:
                raise ValueError(f"class_counts['{k}'] must be {c} non-negative counts, not all zero")
            out[k] = (v / v.sum()).float()
        return out

    def config(self) -> dict[str, Any]:
        """Constructor arguments as plain JSON (``MODALITIES.build({"name": "molecules", **config})``)."""
        return {"vocab": self.vocab.to_json(), "atom_counts": [int(c) for c in self.atom_counts.tolist()],
                "scale": self.scale, "class_counts": {k: v.tolist() for k, v in self.class_marginals.items()}}

    def shapes(self) -> dict[str, tuple[int, ...]]:
        n = self.n_atoms
        return {"x": (n, self.atom_types), "adj": (n, n, self.edge_classes)}

    def view_shapes(self, view: str = "state") -> dict[str, tuple[int, ...]]:
        """``"state"``: :meth:`shapes`; ``"slots"``: the slot view, {"x": (N, K+1), "adj": (N, N, C)}."""
        if view == "slots":
            n = self.n_atoms
            return {"x": (n, self.node_classes), "adj": (n, n, self.edge_classes)}
        return super().view_shapes(view)

    # ----------------------------------------------------------------------------------------
    # the slot view: N node slots over K + 1 classes ("no atom" = class 0) and C edge classes per
    # pair, as exact one-hot tensors. The one-shot generators of GraphNVP (Madhawa et al. 2019,
    # §3.1), MolGAN (De Cao & Kipf 2018, §3) and MPGVAE (Flam-Shepherd et al. 2021, §3.2) emit
    # this view, so the model, not the atom-count histogram, decides how many atoms a molecule has.

    @property
    def node_classes(self) -> int:
        """K + 1: the atom types plus the "no atom" class 0 of the slot view."""
        return self.atom_types + 1

    def one_hot_slots(self, batch: GraphBatch) -> State:
        """Integer graphs -> exact one-hot slots {"x": (B, N, K+1), "adj": (B, N, N, C)} (no mask:
        every slot and pair is a variable; padding is "no atom" / "no bond")."""
        x = F.one_hot(batch.atoms.long(), self.node_classes).float()  # (B, N, K+1)
        a = F.one_hot(batch.adj.long(), self.edge_classes).float()  # (B, N, N, C)
        return State({"x": x, "adj": a})

    def decode_slots(self, scores: State) -> GraphBatch:
        """Argmax per slot and per pair of slot-view scores (edges symmetrised, (s_ij + s_ji)/2)."""
        a = scores.parts["adj"]  # (B, N, N, C)
        return self.decode_slot_classes(scores.parts["x"].argmax(-1), (0.5 * (a + a.transpose(1, 2))).argmax(-1))

    def decode_slot_classes(self, atoms: Tensor, adj: Tensor) -> GraphBatch:
        """Slot classes (B, N) in 0..K and symmetric edge classes (B, N, N) -> a GraphBatch through
        :meth:`decode`: "no atom" slots become padding and their bonds are dropped, nothing else."""
        mask = atoms > 0  # (B, N)
        x = F.one_hot((atoms - 1).clamp(min=0), self.atom_types).float()  # (B, N, K)
        e = F.one_hot(adj, self.edge_classes).float()  # (B, N, N, C)
        return self.decode(State({"x": x, "adj": e}, mask))

    # ----------------------------------------------------------------------------------------
    # data <-> state

    def encode(self, batch: GraphBatch) -> State:
        """Integer graphs -> centred one-hot state x_0 with the node mask of the real atoms."""
        atoms, adj = batch.atoms.long(), batch.adj.long()  # (B, N), (B, N, N)
        mask = atoms > 0  # (B, N)
        pairs = pair_mask(mask)  # (B, N, N)
        x = F.one_hot((atoms - 1).clamp(min=0), self.atom_types).float()  # (B, N, K)
        e = F.one_hot(adj.clamp(min=0), self.edge_classes).float()  # (B, N, N, C)
        x = self.scale * (2 * x - 1) * mask[..., None]
        e = self.scale * (2 * e - 1) * pairs[..., None]
        return State({"x": x, "adj": e}, mask)

    def decode(self, state: State) -> GraphBatch:
        """Argmax per atom and per pair; padding -> no atom, diagonal and padding -> no bond.

        The edge argmax reads the symmetrised scores (s_ij + s_ji)/2, so the output is symmetric
        even for a state that is not. No valency fixing of any kind.
        """
        mask = self._mask(state)  # (B, N)
        x, e = state.parts["x"], state.parts["adj"]  # (B, N, K), (B, N, N, C)
        atoms = (x.argmax(-1) + 1) * mask  # (B, N)
        adj = (0.5 * (e + e.transpose(1, 2))).argmax(-1) * pair_mask(mask)  # (B, N, N)
        return GraphBatch(atoms.long(), adj.long())

    # ----------------------------------------------------------------------------------------
    # noise, projection, prior

    def noise(self, like: State, generator: torch.Generator | None = None) -> State:
        """N(0, I) on the free coordinates: per real atom, and per unordered pair of real atoms."""
        mask = self._mask(like)
        x, e = like.parts["x"], like.parts["adj"]
        dev = x.device if generator is None else generator.device
        z_x = torch.randn(x.shape, generator=generator, device=dev).to(x.device) * mask[..., None]  # (B, N, K)
        z_e = symmetric_noise(tuple(e.shape), generator, e.device) * pair_mask(mask)[..., None]  # (B, N, N, C)
        return like.with_parts({"x": z_x.to(x.dtype), "adj": z_e.to(e.dtype)})

    def project(self, state: State) -> State:
        """Symmetrise edges, zero the diagonal and every padded position."""
        mask = self._mask(state)
        x, e = state.parts["x"], state.parts["adj"]
        e = 0.5 * (e + e.transpose(1, 2)) * pair_mask(mask)[..., None]  # (B, N, N, C)
        parts = dict(state.parts)
        parts.update({"x": x * mask[..., None], "adj": e})
        return state.with_parts(parts)

    def prior_template(self, n: int, device: torch.device | str = "cpu",
                       generator: torch.Generator | None = None) -> State:
        """Zero state for ``n`` graphs whose atom counts are drawn from the training histogram."""
        dev = "cpu" if generator is None else generator.device
        counts = torch.multinomial(self.atom_counts.to(dev), n, replacement=True, generator=generator)  # (n,)
        counts = counts.to(device)
        mask = torch.arange(self.n_atoms, device=device)[None] < counts[:, None]  # (n, N)
        x = torch.zeros(n, self.n_atoms, self.atom_types, device=device)
        e = torch.zeros(n, self.n_atoms, self.n_atoms, self.edge_classes, device=device)
        return State({"x": x, "adj": e}, mask)

    def dims(self, state: State) -> Tensor:
        """K·n + C·n(n-1)/2 free coordinates for a graph of n atoms, (B,)."""
        n = self._mask(state).sum(1)  # (B,)
        return self.atom_types * n + self.edge_classes * n * (n - 1) // 2

    # ----------------------------------------------------------------------------------------
    # reading a denoiser's output: class logits (x_0-prediction for categorical data)

    def denoiser_mean(self, logits: State) -> State:
        """E[x_0 | x_t] in state space from per-class logits: scale·(2 softmax(logits) - 1),
        masked. With this mean, a Gaussian-path family's velocity or ε follows from x_t (the
        categorical x_0-parameterisation of Dieleman et al. 2022, CDCD, and of Campbell et al.
        2024 for flows: the network scores classes, never real-valued velocities)."""
        return self.from_class_probs(self.denoiser_probs(logits))

    def denoiser_probs(self, logits: State) -> State:
        """p(x_0 | x_t) per atom and per pair from class logits: softmax, the edge probabilities
        symmetrised ((p_ij + p_ji)/2); padded positions get probability zero everywhere."""
        mask = self._mask(logits)
        p_x = logits.parts["x"].softmax(-1) * mask[..., None]  # (B, N, K)
        p_e = logits.parts["adj"].softmax(-1)  # (B, N, N, C)
        p_e = 0.5 * (p_e + p_e.transpose(1, 2)) * pair_mask(mask)[..., None]  # symmetric in i, j
        return logits.with_parts({"x": p_x, "adj": p_e})

    # ----------------------------------------------------------------------------------------
    # categorical view of the state, for the discrete families (one-hot states, class draws)

    def class_probs(self, state: State) -> State:
        """Centred one-hot state -> class probability vectors (x/scale + 1)/2, zero where padded."""
        return state.with_parts({k: 0.5 * (v / self.scale + 1) * self._keep(state, k) for k, v in state.parts.items()})

    def from_class_probs(self, probs: State) -> State:
        """Class probabilities -> the state's centred scale·(2p - 1), zero where padded."""
        return probs.with_parts({k: self.scale * (2 * v - 1) * self._keep(probs, k) for k, v in probs.parts.items()})

    def class_prior(self, like: State) -> State:
        """The marginal class distribution of the training set at every real atom and pair of ``like``."""
        return like.with_parts({k: self.class_marginals[k].to(v).expand_as(v) * self._keep(like, k)
                                for k, v in like.parts.items()})

    def sample_classes(self, probs: State, generator: torch.Generator | None = None) -> State:
        """One class per real atom and per unordered pair of real atoms from ``probs``, returned
        as a centred one-hot state: pair {i, j} is drawn once (from p_ij, i < j) and mirrored."""
        p_x, p_e = probs.parts["x"], probs.parts["adj"]  # (B, N, K), (B, N, N, C)
        b, n, k = p_x.shape
        c = p_e.shape[-1]
        x = _draw(p_x.reshape(-1, k), generator).view(b, n)  # (B, N)
        e = mirror_upper(_draw(p_e.reshape(-1, c), generator).view(b, n, n))  # (B, N, N), drawn for i < j
        onehot = probs.with_parts({"x": F.one_hot(x, k).to(p_x), "adj": F.one_hot(e, c).to(p_e)})
        return self.from_class_probs(onehot)

    def _keep(self, state: State, component: str) -> Tensor:
        """(B, N, 1) real atoms for "x", (B, N, N, 1) pairs of distinct real atoms for "adj"."""
        mask = self._mask(state)
        return (mask if component == "x" else pair_mask(mask))[..., None].to(state.parts[component].dtype)

    def denoiser_loss(self, logits: State, x_0: State, weights: Mapping[str, float] | None = None) -> Tensor:
        """Cross-entropy of the true classes of x_0 under ``logits``, (B,): mean over the real
        atoms plus ``weights["adj"]`` (default 1) times the mean over ordered pairs of real atoms."""
        weights = dict(weights or {})
        mask = self._mask(x_0)
        pairs = pair_mask(mask)
        target_x = x_0.parts["x"].argmax(-1)  # (B, N)
        target_e = x_0.parts["adj"].argmax(-1)  # (B, N, N)
        ce_x = F.cross_entropy(logits.parts["x"].movedim(-1, 1), target_x, reduction="none")  # (B, N)
        ce_e = F.cross_entropy(logits.parts["adj"].movedim(-1, 1), target_e, reduction="none")  # (B, N, N)
        loss_x = (ce_x * mask).sum(1) / mask.sum(1).clamp(min=1)  # (B,)
        loss_e = (ce_e * pairs).sum((1, 2)) / pairs.sum((1, 2)).clamp(min=1)  # (B,)
        return weights.get("x", 1.0) * loss_x + weights.get("adj", 1.0) * loss_e

    def _mask(self, state: State) -> Tensor:
        if state.mask is None:
            raise ValueError("a molecular-graph state needs a node mask (B, N)")
        return state.mask.bool()


MODALITIES.register("molecules")(MolecularGraphModality)


def _draw(probs: Tensor, generator: torch.Generator | None) -> Tensor:
    """One class index per row of (R, C) probabilities by inverse-CDF sampling, (R,). An all-zero
    (padded) row gets an arbitrary class, which the caller's masking removes."""
    dev = probs.device if generator is None else generator.device
    u = torch.rand(probs.shape[0], 1, generator=generator, device=dev).to(probs.device)  # (R, 1)
    cdf = probs.cumsum(-1)  # (R, C)
    cdf = cdf / cdf[:, -1:].clamp(min=1e-12)
    return (u > cdf).sum(-1).clamp(max=probs.shape[-1] - 1)  # (R,)


def atom_count_histogram(num_atoms: np.ndarray, max_atoms: int) -> list[int]:
    """Histogram of heavy-atom counts, index n = number of molecules with n atoms, (N+1,)."""
    return np.bincount(np.asarray(num_atoms, dtype=np.int64), minlength=max_atoms + 1).tolist()
