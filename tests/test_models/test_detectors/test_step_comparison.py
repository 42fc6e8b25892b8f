"""The comparison of a training step with its recorded reference (kd_step_cases.digest_mismatches) passes
rounding-size differences and fails on changes of behaviour."""
import copy
import json

import torch

from config_step_cases import REFERENCE, run_case
from kd_step_cases import GRAD_RTOL, digest_mismatches


def _step_and_record():
    with open(REFERENCE) as file:
        record = json.load(file)['paper']
    return run_case('paper'), record


def test_rounding_noise_passes_and_changes_fail():
    step, record = _step_and_record()
    assert digest_mismatches(step, record) == []

    noisy = copy.deepcopy(step)
    generator = torch.Generator().manual_seed(0)
    for key, grad in noisy['grads'].items():  # noise at a tenth of the tolerance of every element
        scale = grad.double().pow(2).mean().sqrt().item()
        grad.add_(0.1 * GRAD_RTOL * scale * torch.randn(grad.shape, generator=generator).clamp(-1, 1))
    assert digest_mismatches(noisy, record) == []

    changed = copy.deepcopy(step)
    changed['losses']['loss_hint'] = changed['losses']['loss_hint'] * 1.01
    assert [problem.split(':')[0] for problem in digest_mismatches(changed, record)] == ['loss_hint']

    key = 'backbone.features.0.weight'
    scaled = copy.deepcopy(step)
    scaled['grads'][key] *= 1.05
    problems = digest_mismatches(scaled, record)
    assert len(problems) == 1 and problems[0].startswith(f'gradient of {key}:')

    flipped = copy.deepcopy(step)
    flipped['grads'][key].view(-1)[3] *= -1  # one recorded element of 5808
    assert len(digest_mismatches(flipped, record)) == 1

    missing = copy.deepcopy(step)
    del missing['grads'][key]
    assert key in digest_mismatches(missing, record)[0]
