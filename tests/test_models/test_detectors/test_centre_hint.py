"""KDFasterRCNN with align='centre': measured geometries, masked hint loss, overrides and errors."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmdet.testing import demo_mm_inputs

import det_kd  # noqa: F401
from kd_fixtures import NUM_CLASSES, REPO, build, kd_cfg

CENTRE_HINT = dict(hints=[dict(student=0, teacher=0, adapter='conv1x1', align='centre')])


def mixed_batch(model, seed=0):
    """A 96x128 and a 64x96 image in one batch (padded to 96x128)."""
    torch.manual_seed(seed)
    data = demo_mm_inputs(batch_size=2, image_shapes=[(3, 96, 128), (3, 64, 96)], num_items=[2, 2],
                          num_classes=NUM_CLASSES)
    data = model.data_preprocessor(data, True)
    return data['inputs'], data['data_samples']


def test_one_training_step_is_finite_and_reaches_the_adapter():
    model = build(kd_cfg(distill=CENTRE_HINT))
    adapter = model.distill_terms['hint'].adapters[0]
    assert (adapter.student_geometry, adapter.teacher_geometry) == ((16, 0), (16, 0))  # tiny ResNet-18
    model.train()
    inputs, samples = mixed_batch(model)
    losses = {k: sum(v) if isinstance(v, list) else v for k, v in model.loss(inputs, samples).items()}
    assert all(math.isfinite(float(v.detach())) for v in losses.values())
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert float(losses['loss_hint']) > 0
    total.backward()
    assert torch.isfinite(adapter.conv.weight.grad).all() and adapter.conv.weight.grad.abs().sum() > 0


def test_hint_loss_is_the_mean_over_teacher_cells_on_each_real_image():
    model = build(kd_cfg(distill=CENTRE_HINT))
    model.train()
    inputs, samples = mixed_batch(model)
    losses = model.loss(inputs, samples)
    with torch.no_grad():  # train mode: the same batch statistics as in loss()
        student = model.distill_terms['hint'].adapters[0].conv(model.extract_feat(inputs)[0])
        teacher = model.teacher.extract_feat(inputs)[0]
    assert student.shape[-2:] == teacher.shape[-2:] == (6, 8)  # same geometry: no resampling needed
    # teacher cells at 0, 16, .., 80 (rows) / 112 (columns); the 64x96 image keeps rows < 63.5, cols < 95.5
    mask = torch.ones(2, 1, 6, 8, dtype=torch.bool)
    mask[1, :, 4:] = False
    mask[1, :, :, 6:] = False
    squared = (student - teacher) ** 2 * mask
    expected = 0.5 * squared.sum() / (mask.sum() * teacher.shape[1])
    assert float(losses['loss_hint']) == pytest.approx(float(expected), rel=1e-5)


def test_pairs_at_other_strides_and_resolutions_and_given_geometries():
    model = build(kd_cfg(distill=dict(hints=[
        dict(student='backbone.layer2', teacher='backbone.layer3', align='centre'),
        dict(student=0, teacher=0, align='centre', student_geometry=(16, 8), teacher_geometry=[16, 0])])))
    first, second = model.distill_terms['hint'].adapters
    assert (first.student_geometry, first.teacher_geometry) == ((8, 0), (16, 0))
    assert (second.student_geometry, second.teacher_geometry) == ((16, 8), (16, 0))
    model.train()
    losses = model.loss(*mixed_batch(model))
    assert math.isfinite(float(losses['loss_hint'])) and float(losses['loss_hint']) > 0

    cfg = kd_cfg(distill=dict(rpn_cls=None, rpn_reg=None, **CENTRE_HINT))
    cfg.student_input_scale = 0.5
    half = build(cfg)
    # the student's (16, 0) on a half-size image is (32, 0.5) in the batch's pixels
    assert tuple(half.distill_terms['hint'].adapters[0].student_geometry) == (32, 0.5)
    half.train()
    inputs, samples = mixed_batch(half)
    assert math.isfinite(float(half.loss(inputs, samples)['loss_hint']))


def test_alexnet_student_and_vgg16_teacher_of_the_demo():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'kd_alexnet-w0.25-vgg16-w0.25_demo.py')).model
    cfg.teacher.allow_random_init = True
    cfg.distill = CENTRE_HINT
    model = build(cfg)
    adapter = model.distill_terms['hint'].adapters[0]
    assert (adapter.student_geometry, adapter.teacher_geometry) == ((16, 15), (16, 7.5))
    torch.manual_seed(0)
    data = model.data_preprocessor(demo_mm_inputs(batch_size=1, image_shapes=[(3, 192, 256)], num_items=[2],
                                                  num_classes=cfg.roi_head.bbox_head.num_classes), True)
    with torch.no_grad():
        student_size = model.extract_feat(data['inputs'])[0].shape[-2:]
        teacher_size = model.teacher.extract_feat(data['inputs'])[0].shape[-2:]
    assert (student_size, teacher_size) == ((11, 15), (12, 16))
    # teacher cell n sits at student index n - 15/32: the first row / column and the last beyond the student
    mask = adapter.valid_mask(student_size, teacher_size, [s.img_shape for s in data['data_samples']])
    assert mask[0, 0, 1:11, 1:15].all() and mask.sum() == 10 * 14
    model.train()
    assert math.isfinite(float(model.loss(data['inputs'], data['data_samples'])['loss_hint'].detach()))


def test_configuration_errors_name_the_valid_settings():
    with pytest.raises(ValueError, match=r"align must be one of \('pad', 'resample', 'strict', 'centre'\), "
                                         r"got 'center'"):
        build(kd_cfg(distill=dict(hints=[dict(student=0, teacher=0, align='center')])))
    with pytest.raises(ValueError, match="teacher_geometry is only used with align='centre'"):
        build(kd_cfg(distill=dict(hints=[dict(student=0, teacher=0, teacher_geometry=(16, 0))])))
    with pytest.raises(ValueError, match=r'student_geometry must be a pair \(stride, offset\)'):
        build(kd_cfg(distill=dict(hints=[dict(student=0, teacher=0, align='centre', student_geometry=16)])))
    with pytest.raises(KeyError, match=r"unknown keys \['student_geom'\]"):
        build(kd_cfg(distill=dict(hints=[dict(student=0, teacher=0, align='centre', student_geom=(16, 0))])))
