"""A fixed-seed distillation step gives the losses and gradients recorded in tests/data (see kd_step_cases)."""
import json

import pytest

from det_kd.models.detectors.kd_faster_rcnn import HINT_ADAPTER_PREFIX, LEGACY_ADAPTER_PREFIX
from kd_step_cases import CASES, REFERENCE, assert_step_equals, run_case


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
    assert_step_equals(run_case(name), reference[name], current_name)
