"""The federated pieces: sample-weighted averaging, messages, Gaussian mixtures, DualAdapt's client
and server updates, FedAvg-MCD's round."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from genlab.build import build_family_from_modality
from genlab.classifiers.adaptation.aggregation import weighted_average
from genlab.classifiers.adaptation.dualadapt.client import nearest_client
from genlab.classifiers.adaptation.dualadapt.gmm import FeatureGMM, batch_weights, log_domain_posterior
from genlab.classifiers.adaptation.federated import Optimisation, batches, pack, payload_bytes, unpack
from genlab.errors import ConfigError
from genlab.modalities.images import ImagesModality

MODALITY = ImagesModality(channels=3, height=32, width=32)
NETWORK = {"features": {"name": "mcd_features", "variant": "usps"},
           "classifier": {"name": "mcd_classifier", "variant": "usps"}}
SETTINGS = Optimisation(batch_size=16, lr=1e-3)


def build(family: dict):
    torch.manual_seed(0)
    return build_family_from_modality({"family": family, "network": NETWORK}, MODALITY)


def images(n: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    return (torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1 + shift).clamp(-1, 1)


# --- aggregation and messages -------------------------------------------------------------------


def test_sample_weighted_averaging_is_the_closed_form_and_identical_models_come_back_unchanged():
    a = {"w": torch.tensor([1.0, 2.0]), "b": torch.tensor(4.0), "n": torch.tensor(7)}
    b = {"w": torch.tensor([5.0, -2.0]), "b": torch.tensor(0.0), "n": torch.tensor(9)}
    out = weighted_average([a, b], [100, 300])  # shares 1/4 and 3/4
    assert torch.equal(out["w"], torch.tensor([4.0, -1.0])) and torch.equal(out["b"], torch.tensor(1.0))
    assert torch.equal(out["n"], torch.tensor(7)) and out["n"].dtype == torch.int64  # counts: the first client's
    model = build({"name": "fedavg_mcd", "clients": 3})
    state = model.state_dict()
    again = weighted_average([state, copy.deepcopy(state), copy.deepcopy(state)], [5, 1, 17])
    assert all(torch.equal(again[k], state[k]) for k in state)
    with pytest.raises(ValueError, match="num_examples"):
        weighted_average([a, b], [1, 0])


def test_messages_round_trip_and_count_their_bytes():
    model = build({"name": "dualadapt", "clients": 2, "gmm_dim": 4, "gmm_components": 2})
    arrays = pack(features=model.features, source_gmm=model.source_gmm)
    assert unpack(arrays, "features").keys() == model.features.state_dict().keys()
    assert all(torch.equal(v, model.source_gmm.state_dict()[k]) for k, v in unpack(arrays, "source_gmm").items())
    expected = sum(t.numel() * t.element_size() for t in list(model.features.state_dict().values())
                   + list(model.source_gmm.state_dict().values()))
    assert payload_bytes(arrays) == expected


def test_batches_pass_over_every_item_before_repeating_one():
    drawn = torch.cat(list(batches(10, 4, 5, torch.Generator().manual_seed(0))))  # 20 indices: two passes
    assert sorted(drawn[:10].tolist()) == list(range(10)) and sorted(drawn[10:].tolist()) == list(range(10))


# --- Gaussian mixtures ------------------------------------------------------------------------


def test_the_mixture_recovers_well_separated_means_and_matches_scipys_density():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 5.0]])
    h = torch.cat([c + 0.5 * torch.randn(400, 3, generator=g) for c in centres]).double()
    gmm = FeatureGMM(3, 3, 3).double().fit(h, seed=0)
    found = gmm.means @ gmm.projection + gmm.centre  # back from the principal axes: (3, 3)
    for c in centres.double():
        assert (found - c).norm(dim=1).min() < 0.15
    assert torch.allclose(gmm.log_weights.exp(), torch.full((3,), 1 / 3, dtype=torch.float64), atol=1e-3)
    # log W(h) against scipy's mixture density in the projected coordinates
    z = gmm.reduce(h[:5]).numpy()
    density = sum(w * multivariate_normal(m, np.diag(v)).pdf(z) for w, m, v in
                  zip(gmm.log_weights.exp().numpy(), gmm.means.numpy(), gmm.variances.numpy()))
    assert np.allclose(gmm.log_likelihood(h[:5]).numpy(), np.log(density), rtol=1e-10)


def test_domain_posterior_is_a_half_for_one_mixture_and_weights_sum_to_one():
    h = torch.randn(50, 6, generator=torch.Generator().manual_seed(1))
    gmm = FeatureGMM(6, 2, 2).fit(h, seed=0)
    assert torch.allclose(log_domain_posterior(h, gmm, gmm).exp(), torch.full((50,), 0.5))
    w = batch_weights(torch.tensor([-1000.0, -1001.0, -2000.0]))  # underflowing weights, still a mean
    assert torch.allclose(w, torch.tensor([1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1)), 0.0]).float())


def test_a_joining_client_picks_the_client_whose_mixture_was_fitted_on_features_like_its_own():
    g = torch.Generator().manual_seed(2)
    near, far = torch.randn(200, 4, generator=g) + 5, torch.randn(200, 4, generator=g) - 5
    source = FeatureGMM(4, 4, 1).fit(torch.cat([near, far]), seed=0)
    candidates = {0: FeatureGMM(4, 4, 2).fit(far, 0, projection_from=source),
                  1: FeatureGMM(4, 4, 2).fit(near, 0, projection_from=source)}
    assert nearest_client(candidates, near + 0.1) == 1 and nearest_client(candidates, far) == 0


# --- DualAdapt ----------------------------------------------------------------------------------


def dualadapt(**family):
    return build({"name": "dualadapt", "clients": 2, "client_steps": 3, "server_steps": 2, "num_k": 1,
                  "gmm_dim": 4, "gmm_components": 2, "gmm_images": 20, **family})


def pretrained(model):
    model.pretrain(images(40, 0), torch.arange(40) % 10, SETTINGS, 2, torch.Generator().manual_seed(0))
    return model


def test_the_client_update_is_a_function_of_its_inputs_and_uploads_only_its_own_models():
    model = pretrained(dualadapt())
    before = copy.deepcopy(model.state_dict())
    message = model.broadcast(0, 1)
    assert {k.split(".")[0] for k in message} == {"features", "global_classifier", "source_gmm"}
    target = images(30, 3, shift=0.5)
    first = model.client_update(message, 0, target, None, SETTINGS, seed=7)
    again = model.client_update(message, 0, target, None, SETTINGS, seed=7)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())  # the template is untouched
    assert {k.split(".")[0] for k in first.arrays} == {"local_classifier", "target_gmm", "client_norm"}
    assert all(torch.equal(first.arrays[k], again.arrays[k]) for k in first.arrays)  # same seed, same result
    assert first.num_examples == 30
    changed = [k for k, v in unpack(first.arrays, "local_classifier").items()
               if v.is_floating_point() and not torch.equal(v, model.global_classifier.state_dict()[k])]
    assert changed  # F_l left F_g


def test_the_server_installs_the_uploads_then_moves_only_g_and_f_g_before_the_next_broadcast():
    model = pretrained(dualadapt())
    source = (images(40, 0), torch.arange(40) % 10)
    assert model.server_prepare(1, *source, SETTINGS, seed=0) == {}  # round 1: nothing to adapt to yet
    results = {i: model.client_update(model.broadcast(i, 1), i, images(30, 10 + i, shift=0.3 * i), None,
                                      SETTINGS, seed=i) for i in range(2)}
    features = copy.deepcopy(model.features.state_dict())
    global_classifier = copy.deepcopy(model.global_classifier.state_dict())
    model.server_update(results, *source, SETTINGS, seed=0)
    assert all(torch.equal(v, model.features.state_dict()[k]) for k, v in features.items())  # G waits
    for i, result in results.items():
        local = model.local_classifiers[i].state_dict()
        assert all(torch.equal(local[k], v) for k, v in unpack(result.arrays, "local_classifier").items())
        norms = model.client_norms[i].state_dict()
        assert all(torch.equal(norms[k], v) for k, v in unpack(result.arrays, "client_norm").items())
    locals_before = copy.deepcopy(model.local_classifiers.state_dict())
    metrics = model.server_prepare(2, *source, SETTINGS, seed=0)
    assert set(metrics) == {"server_discrepancy", "source_accuracy"}
    assert any(not torch.equal(v, model.features.state_dict()[k]) for k, v in features.items())
    assert any(not torch.equal(v, model.global_classifier.state_dict()[k]) for k, v in global_classifier.items())
    assert all(torch.equal(v, model.local_classifiers.state_dict()[k]) for k, v in locals_before.items())


def test_a_target_is_predicted_by_the_mean_of_the_global_and_its_local_classifier():
    model = dualadapt(client_statistics=False).eval()
    x = model.inputs(images(6, 4))
    domain = torch.tensor([0, 1, 0, 1, 1, 0])
    with torch.no_grad():
        h = model.features(x)
        p_g = model.global_classifier(h).softmax(-1)
        p = model.target_probabilities(x, domain)
        for row, k in enumerate(domain.tolist()):
            expected = (p_g[row] + model.local_classifiers[k](h[row:row + 1])[0].softmax(-1)) / 2
            assert torch.allclose(p[row], expected, atol=1e-6)


def test_client_statistics_are_the_mean_and_variance_over_the_clients_images_and_used_for_its_target():
    from genlab.classifiers.adaptation.dualadapt.norm_statistics import ClientStatistics, estimate, norm_layers

    model = dualadapt().eval()
    g = copy.deepcopy(model.features)
    target = images(50, 8, shift=0.4)
    estimate(g, target, model.inputs, batch=50)  # one batch: the exact mean and unbiased variance
    with torch.no_grad():
        conv = g.layers[0](model.inputs(target).mean(1, keepdim=True))  # (50, 32, 28, 28) before the first BN
    first = norm_layers(g)["layers.1"]
    assert torch.allclose(first.running_mean, conv.mean((0, 2, 3)), atol=1e-5)
    assert torch.allclose(first.running_var, conv.var((0, 2, 3), unbiased=True), atol=1e-4)
    assert not g.training
    stats = ClientStatistics(g)
    before = copy.deepcopy(model.features.state_dict())
    model.client_norms[1].load_state_dict(stats.state_dict())
    x = model.inputs(target[:5])
    with torch.no_grad():
        expected = (model.global_classifier(g(x)).softmax(-1) + model.local_classifiers[1](g(x)).softmax(-1)) / 2
        assert torch.allclose(model.target_probabilities(x, torch.ones(5, dtype=torch.long)), expected, atol=1e-6)
    assert all(torch.equal(v, model.features.state_dict()[k]) for k, v in before.items())  # G's own restored


def test_a_joiner_is_left_out_until_its_round_and_then_gets_the_others_models():
    model = pretrained(dualadapt(clients=3, rounds=4, join_round=2))
    assert [model.active_clients(r) for r in (1, 2, 3, 4)] == [[0, 1], [0, 1], [0, 1, 2], [0, 1, 2]]
    first = model.broadcast(2, 3)
    assert {"candidate_0_classifier", "candidate_1_gmm"} <= {k.split(".")[0] for k in first}
    assert not any(k.startswith("candidate") for k in model.broadcast(2, 4))
    assert not any(k.startswith("candidate") for k in model.broadcast(1, 3))
    result = model.client_update(first, 2, images(20, 5), None, SETTINGS, seed=0)
    assert result.metrics["joined_from"] in (0.0, 1.0)
    plain = pretrained(dualadapt(clients=3, rounds=4, join_round=2, join_init="global"))
    assert not any(k.startswith("candidate") for k in plain.broadcast(2, 3))


def test_dualadapt_settings_are_checked_with_one_line_errors():
    for family, key in (({"rounds": 3, "join_round": 3}, "family.join_round"),
                        ({"clients": 1, "rounds": 3, "join_round": 1}, "family.join_round"),
                        ({"join_init": "random"}, "family.join_init"), ({"gmm_dim": 5000}, "family"),
                        ({"mixup_alpha": 0}, "family.mixup_alpha")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as info:
            build({"name": "dualadapt", "clients": 2, **family})
        assert "\n" not in str(info.value)


# --- FedAvg-MCD ---------------------------------------------------------------------------------


def test_fedavg_mcd_clients_run_mcd_and_the_server_averages_them_by_their_examples():
    model = build({"name": "fedavg_mcd", "clients": 2, "client_steps": 2, "num_k": 1})
    source = (images(24, 0), torch.arange(24) % 10)
    model.pretrain(*source, SETTINGS, 1, torch.Generator().manual_seed(0))
    results = {i: model.client_update(model.broadcast(i, 1), i, images(10 * (i + 1), 20 + i), source, SETTINGS, i)
               for i in range(2)}
    assert [results[i].num_examples for i in range(2)] == [10, 20]
    model.server_update(results, *source, SETTINGS, seed=0)
    states = [unpack(results[i].arrays, "mcd") for i in range(2)]
    for name, value in model.mcd.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, (states[0][name] + 2 * states[1][name]) / 3, atol=1e-6), name
    with pytest.raises(ValueError, match="source"):
        model.client_update(model.broadcast(0, 2), 0, images(4, 1), None, SETTINGS, 0)
