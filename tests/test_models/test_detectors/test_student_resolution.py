"""Table 2 setting: the teacher sees the pipeline's image, the student the same batch at half resolution."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.testing import demo_mm_inputs

import det_kd  # noqa: F401
from det_kd.models.distillation import MethodCallRecorder, rescale_batch
from kd_fixtures import NUM_CLASSES, build, kd_cfg, student_cfg

HALF = 0.5
RESAMPLED_HINT = dict(hints=[dict(student=0, teacher=0, adapter='conv1x1', align='resample')])


def half_resolution_kd_cfg(**distill):
    """KD config: student at half the teacher's resolution, teacher anchors twice the student's."""
    cfg = kd_cfg(distill=dict(RESAMPLED_HINT, **distill))
    cfg.student_input_scale = HALF
    anchors = cfg.teacher.config.model.rpn_head.anchor_generator
    anchors.scales = [2 * s for s in anchors.scales]
    return cfg


def half_and_full_batches(preprocessor, seed=0):
    """A 64x96 batch and the same images at 128x192 (each pixel a 2x2 block, boxes doubled).

    Downscaling the full batch bilinearly by 1/2 gives the half batch exactly, so the two are the same
    data at two resolutions, made independently of :func:`rescale_batch`.
    """
    torch.manual_seed(seed)
    half = demo_mm_inputs(batch_size=2, image_shapes=[(3, 64, 96)] * 2, num_items=[2, 3], num_classes=NUM_CLASSES)
    full = copy.deepcopy(half)
    for index, image in enumerate(full['inputs']):
        full['inputs'][index] = image.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)
        sample = full['data_samples'][index]
        sample.gt_instances.bboxes = sample.gt_instances.bboxes * 2
        sample.set_metainfo(dict(img_shape=(128, 192), ori_shape=(128, 192), pad_shape=(128, 192)))
    half = preprocessor(half, True)
    full = preprocessor(full, True)
    return (half['inputs'], half['data_samples']), (full['inputs'], full['data_samples'])


def test_rescale_batch_averages_blocks_and_describes_the_new_batch():
    inputs = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    data = demo_mm_inputs(batch_size=2, image_shapes=[(3, 4, 6)] * 2, num_items=[1, 1], num_classes=NUM_CLASSES)
    samples = data['data_samples']
    for sample in samples:
        sample.set_metainfo(dict(img_shape=(4, 6), pad_shape=(4, 6), batch_input_shape=(4, 6),
                                 scale_factor=(2.0, 2.0)))
        sample.gt_instances.bboxes = torch.tensor([[1.0, 2.0, 5.0, 4.0]])
    resized, resized_samples = rescale_batch(inputs, samples, HALF)

    expected = inputs.reshape(2, 3, 2, 2, 3, 2).mean(dim=(3, 5))  # the mean of every 2x2 block
    assert torch.allclose(resized, expected)
    meta = resized_samples[0].metainfo
    assert meta['img_shape'] == (2, 3) and meta['pad_shape'] == (2, 3) and meta['batch_input_shape'] == (2, 3)
    assert meta['scale_factor'] == (1.0, 1.0)
    assert torch.equal(resized_samples[0].gt_instances.bboxes, torch.tensor([[0.5, 1.0, 2.5, 2.0]]))
    assert torch.equal(samples[0].gt_instances.bboxes, torch.tensor([[1.0, 2.0, 5.0, 4.0]]))  # not modified
    assert samples[0].metainfo['img_shape'] == (4, 6)
    assert rescale_batch(inputs, samples, 1.0) == (inputs, samples)
    samples[1].gt_instances.bboxes = HorizontalBoxes(torch.tensor([[2.0, 2.0, 6.0, 4.0]]))  # mmdet's box type
    resized_boxes = rescale_batch(inputs, samples, HALF)[1][1].gt_instances.bboxes
    assert torch.equal(resized_boxes.tensor, torch.tensor([[1.0, 1.0, 3.0, 2.0]]))
    assert torch.equal(samples[1].gt_instances.bboxes.tensor, torch.tensor([[2.0, 2.0, 6.0, 4.0]]))
    with pytest.raises(ValueError, match='scale must be > 0'):
        rescale_batch(inputs, samples, 0.0)


def test_student_losses_at_half_resolution_equal_the_plain_student_on_half_images():
    plain = MODELS.build(student_cfg())
    plain.init_weights()
    kd = build(half_resolution_kd_cfg(loss_hint=dict(loss_weight=0.0), rpn_cls=dict(mu=1.0), rpn_reg=dict(nu=0.0),
                                      rcn_cls=dict(mu=1.0), rcn_reg=dict(nu=0.0)))
    kd.load_state_dict(plain.state_dict(), strict=False)
    plain.train(), kd.train()
    (half_inputs, half_samples), (full_inputs, full_samples) = half_and_full_batches(plain.data_preprocessor)
    assert full_inputs.shape[-2:] == (128, 192) and half_inputs.shape[-2:] == (64, 96)

    torch.manual_seed(1)
    expected = plain.loss(half_inputs, half_samples)
    torch.manual_seed(1)
    with MethodCallRecorder(kd.teacher, 'extract_feat') as teacher_call:
        got = kd.loss(full_inputs, full_samples)

    for key, value in expected.items():
        value = sum(value) if isinstance(value, list) else value
        got_value = sum(got[key]) if isinstance(got[key], list) else got[key]
        assert torch.allclose(value, got_value, atol=1e-5), key
    assert teacher_call.args[0].shape[-2:] == (128, 192)  # the teacher sees the full-resolution batch
    assert full_samples[0].metainfo['img_shape'] == (128, 192)  # the caller's samples are untouched


def test_teacher_roi_head_gets_the_students_rois_at_its_resolution():
    kd = build(half_resolution_kd_cfg())
    kd.train()
    _, (inputs, samples) = half_and_full_batches(kd.data_preprocessor)
    with MethodCallRecorder(kd.roi_head.bbox_head, 'loss_and_target') as student_rcn, \
            MethodCallRecorder(kd.teacher.roi_head, '_bbox_forward') as teacher_rcn:
        losses = kd.loss(inputs, samples)
    student_rois = student_rcn.kwargs['rois']
    teacher_rois = teacher_rcn.args[1]
    assert torch.equal(teacher_rois[:, 0], student_rois[:, 0])
    assert torch.allclose(teacher_rois[:, 1:], 2 * student_rois[:, 1:])
    assert all(torch.isfinite(sum(v) if isinstance(v, list) else v).all() for v in losses.values())


def test_rpn_grid_pairs_student_anchors_with_every_second_teacher_position():
    kd = build(half_resolution_kd_cfg())
    anchors = kd.rpn_head.num_base_priors
    student_cls = [torch.zeros(1, anchors, 3, 4)]
    teacher_cls = torch.randn(1, anchors, 6, 8)
    teacher_reg = torch.randn(1, anchors * 4, 6, 8)
    aligned_cls, aligned_reg, valid = kd.distiller.teacher.on_student_grid(([teacher_cls], [teacher_reg]), student_cls)
    assert torch.equal(aligned_cls[0], teacher_cls[..., ::2, ::2]) and valid is None
    assert torch.equal(aligned_reg[0], teacher_reg[..., ::2, ::2])
    # the student's anchor (i, j, a) is the teacher's (2i, 2j, a) halved: the same box of the scene
    student_anchors = kd.rpn_head.prior_generator.grid_priors([(3, 4)], device='cpu')[0].reshape(3, 4, -1, 4)
    teacher_anchors = kd.teacher.rpn_head.prior_generator.grid_priors([(6, 8)], device='cpu')[0].reshape(6, 8, -1, 4)
    assert torch.allclose(student_anchors, teacher_anchors[::2, ::2] / 2)


def test_resolution_ratio_errors_name_the_setting():
    cfg = half_resolution_kd_cfg()
    cfg.teacher.config.model.rpn_head.anchor_generator.scales = [1, 2, 4, 8]  # not scaled with the image
    with pytest.raises(ValueError, match='divided by the resolution ratio 2 differs'):
        build(cfg)
    cfg = half_resolution_kd_cfg()
    cfg.student_input_scale = 0.4
    with pytest.raises(ValueError, match=r"image 2.5x the student's size; rpn_align='grid'"):
        build(cfg)
    cfg = half_resolution_kd_cfg(hints=[dict(student=0, teacher=0, align='pad')])
    with pytest.raises(ValueError, match="needs align='resample'"):
        build(cfg)
    cfg = half_resolution_kd_cfg()
    cfg.student_input_scale = 0.0
    with pytest.raises(ValueError, match='KDFasterRCNN.student_input_scale must be a number > 0, got 0.0'):
        build(cfg)


def test_predictions_come_back_in_original_image_coordinates():
    plain = MODELS.build(student_cfg())
    plain.init_weights()
    kd = build(half_resolution_kd_cfg())
    kd.load_state_dict(plain.state_dict(), strict=False)
    plain.eval(), kd.eval()
    (half_inputs, half_samples), (full_inputs, full_samples) = half_and_full_batches(plain.data_preprocessor)
    with torch.no_grad():
        expected = plain.predict(half_inputs, half_samples)
        got = kd.predict(full_inputs, full_samples)
        raw = kd._forward(full_inputs, full_samples)
        plain_raw = plain._forward(half_inputs, half_samples)
    for want, have in zip(expected, got):
        assert len(want.pred_instances) == len(have.pred_instances) > 0
        assert torch.allclose(have.pred_instances.scores, want.pred_instances.scores, atol=1e-5)
        assert torch.allclose(have.pred_instances.bboxes, 2 * want.pred_instances.bboxes, atol=1e-3)
    assert torch.allclose(raw[0][0][0], plain_raw[0][0][0], atol=1e-5)  # RPN scores at the student's scale
