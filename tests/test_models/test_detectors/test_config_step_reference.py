"""One training step of each of the repository's distillation configs gives the losses and gradients recorded
in tests/data/config_step_reference.json (see config_step_cases)."""
import json

import pytest
import torch

from config_step_cases import CASES, REFERENCE, run_case
from kd_step_cases import digest


@pytest.fixture(scope='module')
def reference():
    with open(REFERENCE) as file:
        return json.load(file)


@pytest.mark.parametrize('name', sorted(CASES))
def test_config_step_equals_the_recorded_step(name, reference):
    expected = reference[name]
    step = run_case(name)
    assert sorted(step['losses']) == sorted(expected['losses'])
    for key, value in expected['losses'].items():
        assert float(step['losses'][key]) == pytest.approx(value, rel=1e-5, abs=1e-7), key
        assert torch.isfinite(step['losses'][key]), key
    assert sorted(step['grads']) == sorted(expected['grads'])
    for key, value in expected['grads'].items():
        got = digest(step['grads'][key])
        assert torch.allclose(got, torch.tensor(value, dtype=torch.float64), rtol=1e-4, atol=1e-7), key
