"""A fixed-seed distillation step gives the losses and gradients recorded in tests/data (see kd_step_cases)."""
import json

import pytest
import torch

from det_kd.models.detectors.kd_faster_rcnn import HINT_ADAPTER_PREFIX, LEGACY_ADAPTER_PREFIX
from kd_step_cases import CASES, REFERENCE, digest, run_case


def current_name(name):
    """The reference was recorded when the hint adapters were ``distill_adapters.*``."""
    if name.startswith(LEGACY_ADAPTER_PREFIX):
        return HINT_ADAPTER_PREFIX + name[len(LEGACY_ADAPTER_PREFIX):]
    return name


@pytest.fixture(scope='module')
def reference():
    with open(REFERENCE) as file:
        return json.load(file)


@pytest.mark.parametrize('name', sorted(CASES))
def test_losses_and_gradients_equal_the_recorded_step(name, reference):
    expected = reference[name]
    step = run_case(name)
    assert sorted(step['losses']) == sorted(expected['losses'])
    for key, value in expected['losses'].items():
        assert float(step['losses'][key]) == pytest.approx(value, rel=1e-5, abs=1e-7), key
    grads = {current_name(key): value for key, value in expected['grads'].items()}
    assert sorted(step['grads']) == sorted(grads)
    for key, value in grads.items():
        got = digest(step['grads'][key])
        assert torch.allclose(got, torch.tensor(value, dtype=torch.float64), rtol=1e-4, atol=1e-7), key
