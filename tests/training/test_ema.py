"""EMA with warm-up: the averaging function follows d_n = min(decay, (1 + n) / (10 + n))."""

import pytest
import torch
from torch.optim.swa_utils import AveragedModel

from genlab.training.ema import WarmupEMA, warmup_decay


def test_warmup_decay_known_values():
    assert warmup_decay(0.999, 0) == pytest.approx(0.1)
    assert warmup_decay(0.999, 90) == pytest.approx(0.91)
    assert warmup_decay(0.999, 10**6) == 0.999
    assert float(warmup_decay(0.5, torch.tensor(100.0))) == 0.5


def test_average_of_a_parameter_sequence_equals_the_recursion():
    ema = WarmupEMA(decay=0.9)
    model = torch.nn.Linear(1, 1, bias=False)
    averaged = AveragedModel(model, avg_fn=ema._kwargs["avg_fn"], use_buffers=False)
    values = [3.0, -1.0, 4.0, 1.5, 9.0, 2.0]
    expected = None
    for n, v in enumerate(values):
        with torch.no_grad():
            model.weight.fill_(v)
        averaged.update_parameters(model)
        if expected is None:
            expected = v  # the first update copies the weights
        else:
            d = min(0.9, (1 + n) / (10 + n))  # n = updates averaged before this one
            expected = d * expected + (1 - d) * v
        assert float(averaged.module.weight) == pytest.approx(expected, rel=1e-6)


def test_decay_out_of_range_is_rejected():
    with pytest.raises(ValueError):
        WarmupEMA(decay=1.0)
