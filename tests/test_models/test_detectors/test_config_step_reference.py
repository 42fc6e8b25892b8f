"""One training step of each of the repository's distillation configs gives the losses and gradients recorded
in tests/data/config_step_reference.json (see config_step_cases)."""
import json

import pytest

from config_step_cases import CASES, REFERENCE, run_case
from kd_step_cases import assert_step_equals


@pytest.fixture(scope='module')
def reference():
    with open(REFERENCE) as file:
        return json.load(file)


@pytest.mark.parametrize('name', sorted(CASES))
def test_config_step_equals_the_recorded_step(name, reference):
    assert_step_equals(run_case(name), reference[name])
