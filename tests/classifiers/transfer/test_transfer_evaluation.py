"""The episode evaluation on features whose answer is known: linearly separable classes give
100 %, features that carry no class information give chance, and the interval is 1.96 std/√n."""

from __future__ import annotations

import numpy as np
import pytest

from genlab.errors import ConfigError
from genlab.evaluation.few_shot_transfer import FewShotRequest, episode_accuracy, few_shot_accuracy


def separable(n_classes: int = 12, per_class: int = 20, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class c around 10 × its own unit vector (classes ≥ dim share none), noise of std 0.1."""
    rng = np.random.default_rng(seed)
    classes = np.repeat(np.arange(n_classes), per_class)
    centres = 10 * np.eye(max(n_classes, dim))[:n_classes, :dim]  # (C, dim)
    return centres[classes] + 0.1 * rng.standard_normal((len(classes), dim)), classes


@pytest.mark.parametrize("k_shot", [1, 5])
def test_separable_features_give_every_query_right(k_shot):
    features, classes = separable()
    score = few_shot_accuracy(features, classes, k_shot, FewShotRequest(episodes=50))
    assert score.accuracy == 1.0 and score.ci95 == 0.0 and score.per_episode == [1.0] * 50
    assert (score.n_way, score.k_shot, score.q_query, score.episodes) == (5, k_shot, 15, 50)


def test_features_without_class_information_give_chance():
    rng = np.random.default_rng(1)
    classes = np.repeat(np.arange(30), 20)
    score = few_shot_accuracy(rng.standard_normal((600, 8)), classes, 5, FewShotRequest(episodes=200))
    assert 0.15 < score.accuracy < 0.25  # chance is 1/5
    per_episode = np.array(score.per_episode)
    assert score.ci95 == pytest.approx(1.96 * per_episode.std() / np.sqrt(200), rel=1e-12)
    assert score.accuracy == pytest.approx(per_episode.mean(), rel=1e-12)


def test_one_episode_by_hand():
    support = np.array([[0.0, 1.0], [1.0, 0.0]])
    query = np.array([[0.1, 0.9], [0.9, 0.2], [0.8, 0.1]])
    assert episode_accuracy(support, np.array([0, 1]), query, np.array([0, 1, 0])) == pytest.approx(2 / 3)


def test_the_same_seed_draws_the_same_episodes():
    features, classes = np.random.default_rng(2).standard_normal((240, 4)), np.repeat(np.arange(12), 20)
    a = few_shot_accuracy(features, classes, 1, FewShotRequest(episodes=30, seed=3))
    assert a == few_shot_accuracy(features, classes, 1, FewShotRequest(episodes=30, seed=3))
    assert a.per_episode != few_shot_accuracy(features, classes, 1, FewShotRequest(episodes=30, seed=4)).per_episode


@pytest.mark.parametrize("keys,argument", [({"n_way": 1}, "n_way"), ({"episodes": 0}, "episodes"),
                                           ({"shots": (0,)}, "shots"), ({"C": 0.0}, "C")])
def test_impossible_requests_name_the_argument(keys, argument):
    with pytest.raises(ConfigError) as info:
        FewShotRequest(**keys)
    assert info.value.key == argument
