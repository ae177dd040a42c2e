"""Message-passing encoder and decoder of MPGVAE (Flam-Shepherd, Wu & Aspuru-Guzik 2021,
"MPGVAE: improved generation of small organic molecules using message passing neural nets", §3).

Message passing (§3.1, after Gilmer et al. 2017): with node states h_i (B, N, d) and edge
features e_ij (B, N, N, d_e), one step is

    m_ij = tanh(W_m [h_i, h_j, e_ij])                      edge message, j -> i
    α_ij = softmax_{j ≠ i, j real}(w_a · m_ij)              attention over incoming messages
    h_i  ← GRU(Σ_j α_ij m_ij, h_i)                          node update (Li et al. 2016)

Encoder (``mpnn_encoder``): h⁰ = W_x x_i, e_ij = W_e a_ij from the modality's state (node mask
respected: padded atoms send and receive nothing), T steps, then a set2set readout (Vinyals et
al. 2016, §4.2) over the real atoms: (B, 2d) features, invariant to the order of the atoms.

Decoder (``mpnn_decoder``): z (B, L) -> u = W_z z; a GRU run for N steps on u gives the initial
node states h⁰_1..h⁰_N (so slot i knows its position); e⁰_ij = W([h_i + h_j, h_i ⊙ h_j]);
T steps of message passing over the complete graph on the N slots, each followed by an edge
update e_ij ← e_ij + MLP([h_i + h_j, h_i ⊙ h_j, e_ij]) (symmetric in i, j); finally per-slot logits
over K+1 node classes ("no atom" = class 0) and per-pair logits over C edge classes, symmetrised.
The decoder is deliberately *not* permutation equivariant: it emits graphs in the training
data's fixed atom order (see :mod:`genlab.generative.families.mpgvae`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genlab.modalities.base import State
from genlab.modalities.molecules import pair_mask as _pairs
from genlab.networks.registry import NETWORKS
from genlab.utils import checks


class AttentionMessagePassing(nn.Module):
    """``AttentionMessagePassing(hidden, edge_hidden)``: one step of the module docstring."""

    def __init__(self, hidden: int, edge_hidden: int) -> None:
        super().__init__()
        self.message = nn.Linear(2 * hidden + edge_hidden, hidden)  # W_m
        self.attend = nn.Linear(hidden, 1)  # w_a
        self.update = nn.GRUCell(hidden, hidden)

    def forward(self, h: Tensor, e: Tensor, pairs: Tensor) -> Tensor:
        b, n, d = h.shape
        h_i = h[:, :, None].expand(b, n, n, d)  # (B, N, N, d): receiver
        h_j = h[:, None, :].expand(b, n, n, d)  # (B, N, N, d): sender
        m = torch.tanh(self.message(torch.cat([h_i, h_j, e], dim=-1)))  # (B, N, N, d): m_ij
        logits = self.attend(m).squeeze(-1).masked_fill(~pairs, float("-inf"))  # (B, N, N)
        alpha = torch.nan_to_num(logits.softmax(dim=2))  # over senders j; rows without any: 0
        incoming = torch.einsum("bij,bijd->bid", alpha, m)  # (B, N, d)
        return self.update(incoming.reshape(b * n, d), h.reshape(b * n, d)).view(b, n, d)


class Set2Set(nn.Module):
    """``Set2Set(hidden, steps)``: order-invariant readout (Vinyals et al. 2016, eqs. 3-7),
    (B, N, d) and a node mask -> q* (B, 2d)."""

    def __init__(self, hidden: int, steps: int) -> None:
        super().__init__()
        self.lstm = nn.LSTMCell(2 * hidden, hidden)
        self.steps = steps

    def forward(self, h: Tensor, mask: Tensor) -> Tensor:
        b, _, d = h.shape
        q_star = h.new_zeros(b, 2 * d)  # (B, 2d)
        state = (h.new_zeros(b, d), h.new_zeros(b, d))
        for _ in range(self.steps):
            q, c = self.lstm(q_star, state)  # (B, d)
            state = (q, c)
            scores = torch.einsum("bnd,bd->bn", h, q).masked_fill(~mask, float("-inf"))  # (B, N)
            attn = torch.nan_to_num(scores.softmax(dim=1))
            r = torch.einsum("bn,bnd->bd", attn, h)  # (B, d)
            q_star = torch.cat([q, r], dim=-1)
        return q_star


@NETWORKS.register("mpnn_encoder")
class MPNNEncoder(nn.Module):
    """``MPNNEncoder(shapes, hidden, edge_hidden, steps, set2set_steps)``: the molecules modality's
    state (``"x"`` (B, N, K), ``"adj"`` (B, N, N, C), node mask) -> (B, out_dim = 2·hidden)."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], hidden: int = 128, edge_hidden: int = 32,
                 steps: int = 3, set2set_steps: int = 3) -> None:
        super().__init__()
        for name, value in (("hidden", hidden), ("edge_hidden", edge_hidden), ("steps", steps),
                            ("set2set_steps", set2set_steps)):
            checks.at_least(name, value, 1)
        k, c = shapes["x"][-1], shapes["adj"][-1]
        self.embed_x = nn.Linear(k, hidden)  # W_x
        self.embed_e = nn.Linear(c, edge_hidden)  # W_e
        self.steps = nn.ModuleList(AttentionMessagePassing(hidden, edge_hidden) for _ in range(steps))
        self.readout = Set2Set(hidden, set2set_steps)
        self.out_dim = 2 * hidden

    def node_states(self, g: State) -> Tensor:
        """Node states after T steps, (B, N, d); zero at padded atoms."""
        mask = g.mask.bool()  # (B, N)
        pairs = _pairs(mask)
        h = self.embed_x(g.parts["x"]) * mask[..., None]  # (B, N, d)
        e = self.embed_e(g.parts["adj"]) * pairs[..., None]  # (B, N, N, d_e)
        for step in self.steps:
            h = step(h, e, pairs) * mask[..., None]
        return h

    def forward(self, g: State) -> Tensor:
        return self.readout(self.node_states(g), g.mask.bool())  # (B, 2d)


@NETWORKS.register("mpnn_decoder")
class MPNNDecoder(nn.Module):
    """``MPNNDecoder(shapes, latent_dim, hidden, edge_hidden, steps)``: z (B, L) -> State of logits
    in the modality's slot view, ``"x"`` (B, N, K+1) and ``"adj"`` (B, N, N, C) (symmetric)."""

    view = "slots"

    def __init__(self, shapes: dict[str, tuple[int, ...]], latent_dim: int = 128, hidden: int = 128,
                 edge_hidden: int = 64, steps: int = 3) -> None:
        super().__init__()
        for name, value in (("latent_dim", latent_dim), ("hidden", hidden), ("edge_hidden", edge_hidden),
                            ("steps", steps)):
            checks.at_least(name, value, 1)
        n, node_classes = shapes["x"]
        c = shapes["adj"][-1]
        self.n, self.latent_dim = n, latent_dim
        self.from_z = nn.Linear(latent_dim, hidden)  # W_z
        self.rnn = nn.GRU(hidden, hidden, batch_first=True)
        self.init_e = nn.Linear(2 * hidden, edge_hidden)
        self.steps = nn.ModuleList(AttentionMessagePassing(hidden, edge_hidden) for _ in range(steps))
        self.edge_updates = nn.ModuleList(
            nn.Sequential(nn.Linear(2 * hidden + edge_hidden, edge_hidden), nn.Tanh(), nn.Linear(edge_hidden, edge_hidden))
            for _ in range(steps))
        self.out_x = nn.Linear(hidden, node_classes)
        self.out_e = nn.Linear(edge_hidden, c)

    @staticmethod
    def _pair_input(h: Tensor) -> Tensor:
        """[h_i + h_j, h_i ⊙ h_j], (B, N, N, 2d): symmetric in i and j."""
        h_i, h_j = h[:, :, None], h[:, None, :]
        return torch.cat([(h_i + h_j).expand(-1, -1, h.shape[1], -1), h_i * h_j], dim=-1)

    def forward(self, z: Tensor) -> State:
        b = z.shape[0]
        u = self.from_z(z)  # (B, d)
        h, _ = self.rnn(u[:, None].expand(b, self.n, u.shape[1]).contiguous())  # (B, N, d): h⁰
        e = self.init_e(self._pair_input(h))  # (B, N, N, d_e)
        pairs = _pairs(torch.ones(b, self.n, dtype=torch.bool, device=z.device))  # complete graph
        for step, edge_update in zip(self.steps, self.edge_updates):
            h = step(h, e, pairs)
            e = e + edge_update(torch.cat([self._pair_input(h), e], dim=-1))
        logits_e = self.out_e(e)  # (B, N, N, C)
        return State({"x": self.out_x(h), "adj": 0.5 * (logits_e + logits_e.transpose(1, 2))})
