"""What a bit-identical resume needs beyond weights and optimizer state.

Training N iterations in one go and training N/2, saving, and resuming to N give the same final
weights on CPU when three things are restored exactly:

* the **data order**: :class:`SeededBatchStream` is an endless stream of batches whose k-th batch
  is a pure function of ``(seed, k)``; a resumed loader simply starts at the saved iteration.
  (Lightning's own epoch-based loaders restart an interrupted epoch from its first batch.)
* the **random number generators** that families draw noise and times from: torch, numpy and
  python states are saved in the checkpoint (:func:`rng_states`) and put back just before the
  first resumed batch (:func:`set_rng_states`).
* the **iteration counter**, kept by :class:`~genlab.training.module.FamilyModule`.

Datasets must not draw from the global generators in ``__getitem__``: the loader fetches one
batch ahead, so such draws would land on different sides of a save in the two runs.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch.utils.data import Sampler


class SeededBatchStream(Sampler[list[int]]):
    """An endless stream of index batches over a dataset of ``n_items``.

    Pass ``i`` through the data is a permutation drawn from a generator seeded with
    ``(seed, i)``; batch k holds items ``[k B, (k+1) B)`` of the passes laid end to end, so a batch
    may straddle two passes and no sample is dropped. Iteration begins at batch ``position()``.
    """

    def __init__(self, n_items: int, batch_size: int, seed: int, position: Callable[[], int] = lambda: 0,
                 shard: Callable[[], tuple[int, int]] = lambda: (0, 1)) -> None:
        if n_items < 1:
            raise ValueError("the training set is empty")
        self.n_items = n_items
        self.batch_size = batch_size  # the global batch, over all processes
        self.seed = seed
        self.position = position
        self.shard = shard  # () -> (rank, world_size), asked when iteration starts (after a DDP launch)

    def permutation(self, epoch: int) -> torch.Tensor:
        seed = int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0])
        return torch.randperm(self.n_items, generator=torch.Generator().manual_seed(seed))  # (n_items,)

    def batch(self, k: int, rank: int = 0, world_size: int = 1) -> list[int]:
        """Process ``rank``'s share of the k-th batch, without iterating (for tests and inspection)."""
        return next(iter(self._from(k, rank, world_size)))

    def __iter__(self) -> Iterator[list[int]]:
        return self._from(self.position(), *self.shard())

    def _from(self, k: int, rank: int = 0, world_size: int = 1) -> Iterator[list[int]]:
        """Global batches from k on; process ``rank`` of ``world_size`` takes the contiguous slice
        ``[rank B/W, (rank+1) B/W)``, so the shards of all processes together are the global batch."""
        if self.batch_size % world_size:
            raise ValueError(f"train.batch_size {self.batch_size} does not split over {world_size} processes")
        share = self.batch_size // world_size
        epoch, offset = divmod(k * self.batch_size, self.n_items)
        pending = self.permutation(epoch)[offset:]
        while True:
            while pending.numel() < self.batch_size:
                epoch += 1
                pending = torch.cat([pending, self.permutation(epoch)])
            yield pending[rank * share : (rank + 1) * share].tolist()
            pending = pending[self.batch_size :]


def rng_states() -> dict[str, Any]:
    """The global generators' states: torch as a uint8 tensor, numpy and python as ints/lists."""
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, internal, gauss = random.getstate()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": keys.tolist(), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Inverse of :func:`rng_states`."""
    torch.set_rng_state(states["torch"].cpu())
    n = states["numpy"]
    np.random.set_state((n["kind"], np.asarray(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    p = states["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in states["cuda"]])
