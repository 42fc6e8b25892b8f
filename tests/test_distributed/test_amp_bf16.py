"""Distillation under bfloat16 autocast on the CPU: float32 losses, bf16 features into the hint adapter.

MMEngine 0.10.7's ``AmpOptimWrapper`` (``--amp``) asserts that a GPU is present, so on the CPU the step
runs under ``torch.autocast('cpu', dtype=torch.bfloat16)``, the context that ``AmpOptimWrapper`` opens
around the forward pass. mmcv 2.1's CPU kernels of NMS and RoIAlign take float32 only (their CUDA kernels
take half), so here they run in float32: everything else, the teacher included, runs under autocast.
"""
import importlib
import os.path as osp

import pytest
import torch
from mmcv.ops import RoIAlign
from mmengine.config import Config
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs

import det_kd  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KD_CONFIG = osp.join(REPO, 'configs', 'kd', 'kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py')
DISTILLATION_LOSSES = ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_bbox', 'loss_rcn_kd_cls',
                       'loss_rcn_kd_bbox')


def in_float32(op):
    """``op`` run outside autocast on float32 copies of its floating-point tensor arguments."""

    def run(*args, **kwargs):
        args = [a.float() if torch.is_tensor(a) and a.is_floating_point() else a for a in args]
        with torch.autocast('cpu', enabled=False):
            return op(*args, **kwargs)

    return run


@pytest.fixture
def float32_mmcv_cpu_ops(monkeypatch):
    nms_module = importlib.import_module('mmcv.ops.nms')  # `mmcv.ops.nms` is also the function's name
    monkeypatch.setattr(nms_module, 'nms', in_float32(nms_module.nms))
    monkeypatch.setattr(RoIAlign, 'forward', in_float32(RoIAlign.forward))


def test_distillation_step_under_bf16_autocast(float32_mmcv_cpu_ops):
    cfg = Config.fromfile(KD_CONFIG).model
    cfg.teacher.update(checkpoint=None, allow_random_init=True)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    data = demo_mm_inputs(batch_size=2, image_shapes=[(3, 120, 160)] * 2, num_items=[2, 2], num_classes=5)
    data = model.data_preprocessor(data, True)
    adapter_dtypes = {}
    model.distill_terms['hint'].adapters[0].register_forward_hook(
        lambda module, args, output: adapter_dtypes.update(student=args[0].dtype, output=output.dtype))

    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(data['inputs'], data['data_samples'])

    assert adapter_dtypes == dict(student=torch.bfloat16, output=torch.bfloat16)
    assert set(DISTILLATION_LOSSES) <= set(losses)
    values = {key: value for key, value in losses.items() if key.startswith('loss')}
    for key, value in values.items():
        for term in value if isinstance(value, (list, tuple)) else [value]:
            assert term.dtype == torch.float32, key
            assert torch.isfinite(term), key
    sum(sum(v) if isinstance(v, (list, tuple)) else v for v in values.values()).backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert all(torch.isfinite(g).all() for g in grads.values())
    assert grads['distill_terms.hint.adapters.0.conv.weight'].abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
