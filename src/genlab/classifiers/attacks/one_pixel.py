"""The one-pixel attack (Su, Vargas & Sakurai 2019, "One pixel attack for fooling deep neural
networks", §3), untargeted.

For each image (C, H, W) with label y, differential evolution searches candidates
p = (row, col, v_1, ..., v_C) — a position and a value per channel inside the box — minimising
the model's probability of y for the image with that one pixel set:

    min_p  softmax(Z(x ⊕ p))_y,     x ⊕ p = x with pixel (⌊row⌋, ⌊col⌋) set to (v_1, ..., v_C).

As in the paper: DE/rand/1 with scale F (``mutation``) and no crossover (every trial is the
mutant: recombination 1), a population of ``population`` candidates drawn uniformly over the
search box, at most ``generations`` generations, no polishing, and an early stop once a candidate
is misclassified. The returned image is the best candidate seen (the first misclassified one, or
the one of lowest probability of y), so it differs from x in at most one pixel.

Batch-wise in the model: SciPy's ``differential_evolution`` runs with ``vectorized=True`` and
``updating='deferred'``, so each generation's whole population is one model call.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import differential_evolution
from torch import Tensor

from genlab.classifiers.attacks.base import Attack, Model
from genlab.errors import GenlabError
from genlab.utils import checks


class OnePixel(Attack):
    """``OnePixel(population, generations, mutation)``."""

    def __init__(self, population: int = 400, generations: int = 100, mutation: float = 0.5) -> None:
        checks.at_least("population", population, 5)  # DE/rand/1 draws three others per member
        checks.at_least("generations", generations, 1)
        checks.positive("mutation", mutation)
        checks.at_most("mutation", mutation, 2)
        self.population, self.generations, self.mutation = population, generations, mutation

    def perturb(self, model: Model, x: Tensor, y: Tensor, bounds, generator) -> Tensor:
        if bounds is None:
            raise GenlabError("the one-pixel attack searches pixel values inside the box; it needs bounds")
        if x.ndim != 4:
            raise GenlabError(f"the one-pixel attack needs images (B, C, H, W), got inputs of shape {tuple(x.shape)}")
        dev = "cpu" if generator is None else generator.device
        rng = np.random.default_rng(int(torch.randint(2**31 - 1, (1,), generator=generator, device=dev)))
        return torch.stack([self._attack_one(model, image, int(label), bounds, rng)
                            for image, label in zip(x, y)])

    def _attack_one(self, model: Model, image: Tensor, label: int, bounds, rng: np.random.Generator) -> Tensor:
        c, h, w = image.shape
        search_box = [(0.0, float(h)), (0.0, float(w))] + [tuple(map(float, bounds))] * c
        low, high = np.array(search_box).T  # (2 + C,) each
        start = low + (high - low) * rng.random((self.population, 2 + c))  # (P, 2 + C)
        # the best candidate seen, ranked by (misclassified, −probability of y)
        best = {"rank": (False, -np.inf), "image": image}

        def true_class_probability(p: np.ndarray) -> np.ndarray:  # p: (2 + C, S) -> (S,)
            p = torch.as_tensor(p.T, dtype=image.dtype, device=image.device)  # (S, 2 + C)
            candidates = with_one_pixel(image, p, bounds)  # (S, C, H, W)
            with torch.no_grad():
                logits = model(candidates)  # (S, K)
            probability = logits.softmax(1)[:, label]  # (S,)
            fooled = logits.argmax(1) != label  # (S,)
            i = int(probability.masked_fill(fooled, -1.0).argmin())
            rank = (bool(fooled[i]), -float(probability[i]))
            if rank > best["rank"]:
                best.update(rank=rank, image=candidates[i])
            return probability.double().cpu().numpy()

        differential_evolution(
            true_class_probability, search_box, strategy="rand1bin", maxiter=self.generations, init=start,
            mutation=self.mutation, recombination=1.0, tol=0.0, atol=0.0, polish=False,
            vectorized=True, updating="deferred", rng=rng, callback=lambda intermediate_result: best["rank"][0],
        )
        return best["image"]


def with_one_pixel(image: Tensor, p: Tensor, bounds) -> Tensor:
    """Copies of ``image`` (C, H, W), one per row of p (S, 2 + C), each with pixel (⌊row⌋, ⌊col⌋)
    set to p's values, (S, C, H, W)."""
    c, h, w = image.shape
    s = p.shape[0]
    rows = p[:, 0].floor().long().clamp(0, h - 1)  # (S,)
    cols = p[:, 1].floor().long().clamp(0, w - 1)  # (S,)
    candidates = image.expand(s, c, h, w).clone()
    candidates[torch.arange(s, device=image.device), :, rows, cols] = p[:, 2:].clamp(*bounds)  # (S, C)
    return candidates
