"""Fixed-seed distillation training steps whose losses and gradients are pinned by a stored reference.

``tests/data/kd_step_reference.json`` holds, per case, every loss and a digest of every parameter's gradient
(:func:`digest`: sum, sum of absolute values, sum of squares and the first 8 elements) of one training step,
recorded before the distillation terms became pluggable modules; the refactor (and any later change that must
not change behaviour) is checked against it. The full tensors were compared bit for bit at the refactor; the
digest keeps the file small and is compared to the rounding of another CPU (:func:`digest_mismatches`). Regenerate
only for an intended change of behaviour: ``python tests/test_models/test_detectors/kd_step_cases.py [CASE ...]``.
"""
import contextlib
import copy
import json
import math
import os.path as osp
import sys
from typing import Callable, Iterable, Iterator

import torch

import det_kd  # noqa: F401  (registers KDFasterRCNN)

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from kd_fixtures import REPO, batch, build, kd_cfg  # noqa: E402

REFERENCE = osp.join(REPO, 'tests', 'data', 'kd_step_reference.json')


def _half_resolution():
    cfg = kd_cfg(distill=dict(hints=[dict(student=0, teacher=0, align='resample')]))
    cfg.student_input_scale = 0.5
    anchors = cfg.teacher.config.model.rpn_head.anchor_generator
    anchors.scales = [2 * s for s in anchors.scales]
    return cfg


#: name -> (config factory, distill_scale)
CASES = {
    'paper_defaults': (lambda: kd_cfg(), 1.0),
    'centre_hint_margins': (lambda: kd_cfg(distill=dict(
        hints=[dict(student=0, teacher=0, adapter='conv3x3', align='centre'),
               dict(student='backbone.layer3', teacher='backbone.layer3', adapter='conv1x1', align='pad')],
        loss_hint=dict(loss_weight=3.0), rpn_cls=dict(bg_weight=1.0, T=2.0),
        rpn_reg=dict(margin=0.05), rcn_reg=dict(margin=0.05, mode='l2'))), 1.0),
    'half_resolution_scheduled': (_half_resolution, 0.5),
    'heads_only': (lambda: kd_cfg(distill=dict(loss_hint=None, rpn_reg=None)), 1.0),
}


def run_case(name: str) -> dict:
    """Losses (summed per key) and gradients of one training step of case ``name``, at one thread."""
    factory, scale = CASES[name]
    with one_thread():
        torch.manual_seed(0)
        model = build(factory())
        model.train()
        model.distill_scale = scale
        inputs, samples = batch(model, seed=1)
        return training_step(model, inputs, copy.deepcopy(samples))


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Within the block torch computes on one thread (the recorded steps' reductions run in one order)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def training_step(model: torch.nn.Module, inputs: torch.Tensor, samples: list) -> dict:
    """Losses (summed per key) and gradients of one ``model.loss`` (its random sampling seeded with 2)."""
    torch.manual_seed(2)
    losses = model.loss(inputs, samples)
    losses = {k: (sum(v) if isinstance(v, (list, tuple)) else v) for k, v in losses.items() if 'loss' in k}
    sum(losses.values()).backward()
    grads = {k: p.grad.detach().clone() for k, p in model.named_parameters() if p.grad is not None}
    return dict(losses={k: v.detach().clone() for k, v in losses.items()}, grads=grads)


def digest(tensor: torch.Tensor) -> torch.Tensor:
    """``(sum, sum |x|, sum x^2, x[0], ..., x[7])`` of ``tensor`` in float64 (fewer heads if it is smaller)."""
    flat = tensor.detach().double().flatten()
    return torch.cat([torch.stack([flat.sum(), flat.abs().sum(), (flat * flat).sum()]), flat[:8]])


def summarize(step: dict) -> dict:
    """What a reference file stores of a recorded step."""
    return dict(losses={k: float(v) for k, v in step['losses'].items()},
                grads={k: digest(g).tolist() for k, g in step['grads'].items()})


#: relative tolerances of the comparison: another CPU rounds float32 differently (vector widths, fused
#: multiply-adds), and the differences grow through a network's backward pass. Measured between two x86 CPUs
#: (12 config cases): losses 4e-5 apart, gradient elements 5e-3 of their parameter's rms; a changed term moves a
#: loss by far more than 1e-3.
LOSS_RTOL = 1e-3
GRAD_RTOL = 2e-2
#: a parameter whose gradient is zero in exact arithmetic (a conv bias before a BatchNorm) holds rounding noise
#: only: its scale is at least this share of the largest gradient rms of the step
GRAD_FLOOR = 1e-3


def digest_mismatches(step: dict, expected: dict, rename: Callable[[str], str] = lambda key: key) -> list:
    """What of ``step`` differs from the recorded ``expected`` beyond rounding on another CPU: a loss by more
    than ``LOSS_RTOL``; a gradient digest entry by more than ``GRAD_RTOL`` of its parameter's gradient scale
    (the recorded rms, at least ``GRAD_FLOOR`` of the step's largest): per element for the first elements,
    times the element count for the sums. Names and counts must match exactly."""
    problems = []
    if sorted(step['losses']) != sorted(expected['losses']):
        return [f'losses {sorted(step["losses"])} != recorded {sorted(expected["losses"])}']
    for key, value in expected['losses'].items():
        got = float(step['losses'][key])
        if not math.isfinite(got) or abs(got - value) > LOSS_RTOL * max(abs(value), 1e-6):
            problems.append(f'{key}: {got!r} != recorded {value!r}')
    grads = {rename(key): torch.tensor(value, dtype=torch.float64) for key, value in expected['grads'].items()}
    if sorted(step['grads']) != sorted(grads):
        return problems + [f'gradients of {sorted(set(step["grads"]) ^ set(grads))} on one side only']

    def rms(key: str) -> float:
        return math.sqrt(float(grads[key][2]) / step['grads'][key].numel())
    floor = GRAD_FLOOR * max(rms(key) for key in grads)
    for key, recorded in grads.items():
        count = step['grads'][key].numel()
        scale = max(rms(key), floor)
        got = digest(step['grads'][key])
        limits = torch.tensor([count * scale, count * scale, 2 * count * scale * scale]
                              + [scale] * (len(recorded) - 3), dtype=torch.float64) * GRAD_RTOL
        if len(got) != len(recorded) or not bool(((got - recorded).abs() <= limits).all()):
            worst = float(((got - recorded).abs() / limits).max()) * GRAD_RTOL if len(got) == len(recorded) else None
            problems.append(f'gradient of {key}: digest {got.tolist()} != recorded {recorded.tolist()} '
                            f'(worst {worst} of the scale {scale:.3g})')
    return problems


def assert_step_equals(step: dict, expected: dict, rename: Callable[[str], str] = lambda key: key) -> None:
    """Every loss and gradient digest of ``step`` equals the recorded ``expected`` to rounding on another CPU
    (:func:`digest_mismatches`; parameter names of the record through ``rename``)."""
    problems = digest_mismatches(step, expected, rename)
    assert not problems, '\n'.join(problems)


def write_reference(path: str, cases: Iterable[str], run: Callable[[str], dict]) -> None:
    """Records ``run(name)`` of every case in ``cases`` into ``path``, keeping its other cases' records (only for
    an intended change of behaviour)."""
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    records = {}
    if osp.exists(path):
        with open(path) as file:
            records = json.load(file)
    records.update({name: summarize(run(name)) for name in cases})
    with open(path, 'w') as file:
        json.dump(records, file, indent=1)
    print(f'wrote {", ".join(cases)} into {path}')


if __name__ == '__main__':
    unknown = sorted(set(sys.argv[1:]) - set(CASES))
    if unknown:
        sys.exit(f'unknown cases {unknown}; the cases: {sorted(CASES)}')
    write_reference(REFERENCE, sys.argv[1:] or list(CASES), run_case)
