"""Every registered attack honours the contract of ``attacks/base.py``: adversarial inputs inside
the bounds, the caller's inputs unchanged, the model left as it was found (state_dict bit for bit — batch-norm statistics
included —, ``training`` flag, no ``.grad``), usable under ``torch.no_grad`` and
``torch.inference_mode``; impossible settings and out-of-range inputs are one-line errors."""

import contextlib

import pytest
import torch
from attack_models import SmallCNN

from genlab.classifiers.attacks.registry import ATTACKS
from genlab.errors import ConfigError, GenlabError

#: a quick setting of each attack
SETTINGS = {
    "fgsm": {"eps": 0.1},
    "bim": {"eps": 0.1, "steps": 3},
    "pgd": {"eps": 0.1, "steps": 3, "restarts": 2},
    "least_likely": {"eps": 0.1},
    "iterative_least_likely": {"eps": 0.1, "steps": 3},
    "cw_l2": {"steps": 5, "binary_search_steps": 2, "c": 1.0},
    "universal": {"xi": 0.2, "max_passes": 2, "deepfool_steps": 3, "batch_size": 4},
    "one_pixel": {"population": 8, "generations": 2},
    "transfer": {"attack": {"name": "pgd", "eps": 0.1, "steps": 2}},
}
CONTEXTS = {"plain": contextlib.nullcontext, "no_grad": torch.no_grad, "inference_mode": torch.inference_mode}


def build(name, surrogate=None):
    injected = {"surrogate": surrogate or SmallCNN(seed=1)} if name == "transfer" else {}
    return ATTACKS.build({"name": name, **SETTINGS[name]}, **injected)


def run(attack, model, x, y, **kwargs):
    if hasattr(attack, "fit"):
        attack.fit(model, x, generator=torch.Generator().manual_seed(0), **kwargs)
    return attack(model, x, y, generator=torch.Generator().manual_seed(0), **kwargs)


def snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_every_attack_is_registered():
    assert set(ATTACKS.names()) == set(SETTINGS)


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", SETTINGS)
def test_attack_leaves_the_model_untouched_and_stays_in_bounds(name, training, context):
    model = SmallCNN().train(training)
    surrogate = SmallCNN(seed=1).train(training)
    with torch.no_grad():  # running statistics that differ from the defaults, so a reset would show
        model(torch.rand(16, 1, 8, 8))
        surrogate(torch.rand(16, 1, 8, 8))
    before, surrogate_before = snapshot(model), snapshot(surrogate)
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(6, 1, 8, 8, generator=g), torch.randint(0, 10, (6,), generator=g)
    x_before, y_before = x.clone(), y.clone()
    attack = build(name, surrogate)

    with CONTEXTS[context]():
        x_adv = run(attack, model, x, y)

    assert torch.equal(x, x_before) and torch.equal(y, y_before)  # the caller's tensors untouched

    for m, state in [(model, before), (surrogate, surrogate_before)]:
        after = m.state_dict()
        assert all(torch.equal(after[k], v) for k, v in state.items())
        assert m.training is training and all(mod.training is training for mod in m.modules())
        assert all(p.grad is None for p in m.parameters())
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype
    assert 0 <= float(x_adv.min()) and float(x_adv.max()) <= 1
    assert not x_adv.is_inference() and not x_adv.requires_grad
    (x_adv.requires_grad_() * 2).sum().backward()  # usable by autograd outside inference mode


@pytest.mark.parametrize("name", SETTINGS)
def test_inputs_outside_the_models_range_are_a_one_line_error(name):
    model = SmallCNN().eval()
    x = torch.rand(4, 1, 8, 8) + 0.5
    with pytest.raises(GenlabError, match="outside the attack's range") as error:
        run(build(name), model, x, torch.zeros(4, dtype=torch.long))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name, key, value", [
    ("fgsm", "eps", -0.1),
    ("pgd", "steps", 0),
    ("pgd", "norm", "l1"),
    ("pgd", "restarts", 0),
    ("bim", "alpha", -1.0),
    ("iterative_least_likely", "steps", 0),
    ("least_likely", "eps", float("nan")),
    ("cw_l2", "c", 0.0),
    ("cw_l2", "kappa", -1.0),
    ("cw_l2", "binary_search_steps", 0),
    ("cw_l2", "lr", 0.0),
    ("universal", "xi", -1.0),
    ("universal", "delta", 1.5),
    ("universal", "max_passes", 0),
    ("universal", "norm", "l1"),
    ("one_pixel", "population", 4),
    ("one_pixel", "generations", 0),
    ("one_pixel", "mutation", 0.0),
])
def test_impossible_values_are_refused_with_their_key(name, key, value):
    with pytest.raises(ConfigError, match=f"key 'attack.{key}'"):
        ATTACKS.build({"name": name, key: value})


def test_unknown_names_and_keys_are_one_line_config_errors():
    with pytest.raises(ConfigError, match="unknown attack 'deepfool'; known: bim, cw_l2") as error:
        ATTACKS.build({"name": "deepfool"})
    assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="key 'attack.epsilon': unknown key"):
        ATTACKS.build({"name": "pgd", "epsilon": 0.1})
    with pytest.raises(ConfigError, match="key 'attack.name'"):
        ATTACKS.build({"name": "transfer", "attack": "nope"}, surrogate=SmallCNN())


def test_attacks_that_cannot_run_say_why():
    model = SmallCNN().eval()
    x, y = torch.rand(2, 1, 8, 8), torch.zeros(2, dtype=torch.long)
    with pytest.raises(GenlabError, match="not fitted"):
        build("universal")(model, x, y)
    with pytest.raises(GenlabError, match="needs bounds"):
        build("one_pixel")(model, x, y, bounds=None)
    with pytest.raises(GenlabError, match="declares no input_range"):
        build("fgsm")(lambda inputs: model(inputs), x, y)
    with pytest.raises(GenlabError, match="surrogate's input range"):
        build("transfer")(model, x, y, bounds=(0.0, 2.0))
