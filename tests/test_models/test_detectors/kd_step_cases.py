"""Fixed-seed distillation training steps whose losses and gradients are pinned by a stored reference.

``tests/data/kd_step_reference.json`` holds, per case, every loss and a digest of every parameter's gradient
(:func:`digest`: sum, sum of absolute values, sum of squares and the first 8 elements) of one training step,
recorded before the distillation terms became pluggable modules; the refactor (and any later change that must
not change behaviour) is checked against it. The full tensors were compared bit for bit at the refactor; the
digest keeps the file small and is compared to float32 rounding, so that another CPU passes too. Regenerate
only for an intended change of behaviour: ``python tests/test_models/test_detectors/kd_step_cases.py``.
"""
import copy
import json
import os.path as osp
import sys

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
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        model = build(factory())
        model.train()
        model.distill_scale = scale
        inputs, samples = batch(model, seed=1)
        torch.manual_seed(2)
        losses = model.loss(inputs, copy.deepcopy(samples))
        losses = {k: (sum(v) if isinstance(v, (list, tuple)) else v) for k, v in losses.items() if 'loss' in k}
        sum(losses.values()).backward()
        grads = {k: p.grad.detach().clone() for k, p in model.named_parameters() if p.grad is not None}
    finally:
        torch.set_num_threads(threads)
    return dict(losses={k: v.detach().clone() for k, v in losses.items()}, grads=grads)


def digest(tensor: torch.Tensor) -> torch.Tensor:
    """``(sum, sum |x|, sum x^2, x[0], ..., x[7])`` of ``tensor`` in float64 (fewer heads if it is smaller)."""
    flat = tensor.detach().double().flatten()
    return torch.cat([torch.stack([flat.sum(), flat.abs().sum(), (flat * flat).sum()]), flat[:8]])


def summarize(step: dict) -> dict:
    """What the reference file stores of :func:`run_case`'s output."""
    return dict(losses={k: float(v) for k, v in step['losses'].items()},
                grads={k: digest(g).tolist() for k, g in step['grads'].items()})


if __name__ == '__main__':
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    with open(REFERENCE, 'w') as file:
        json.dump({name: summarize(run_case(name)) for name in CASES}, file, indent=1)
    print(f'wrote {REFERENCE}')
