"""KDFasterRCNN: the teacher is frozen and hidden, the losses are the paper's on the right samples."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

import det_kd  # noqa: F401
from det_kd.models.distillation import MethodCallRecorder
from kd_fixtures import batch, build, kd_cfg, student_cfg

ZERO_DISTILL = dict(
    loss_hint=dict(loss_weight=0.0),
    rpn_cls=dict(mu=1.0), rpn_reg=dict(nu=0.0),
    rcn_cls=dict(mu=1.0), rcn_reg=dict(nu=0.0))


def test_teacher_is_outside_state_dict_parameters_and_stays_in_eval():
    model = build(kd_cfg())
    assert not any(k.startswith('teacher') for k in model.state_dict())
    teacher_params = {id(p) for p in model.teacher.parameters()}
    assert teacher_params.isdisjoint(id(p) for p in model.parameters())
    model.train()
    assert model.training and not model.teacher.training
    assert all(not m.training for m in model.teacher.modules())
    assert all(not p.requires_grad for p in model.teacher.parameters())
    model.to(torch.float64)
    assert next(model.teacher.parameters()).dtype == torch.float64


def test_moving_the_detector_moves_the_teachers_data_preprocessor_too():
    """mmengine records a data preprocessor's device apart from its tensors; the teacher's must follow the
    student's (on a GPU the teacher's val_step otherwise fed CPU images to CUDA weights)."""
    model = build(kd_cfg())
    model.to(torch.device('meta'))
    assert model.data_preprocessor.device == torch.device('meta')
    assert model.teacher.data_preprocessor.device == torch.device('meta')
    assert next(model.teacher.parameters()).device == torch.device('meta')


def test_all_distillation_weights_zero_equals_plain_student():
    from mmdet.registry import MODELS
    plain = MODELS.build(student_cfg())
    plain.init_weights()
    kd = build(kd_cfg(distill=ZERO_DISTILL))
    missing, unexpected = kd.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith('distill_terms.hint.adapters.') for k in missing)
    plain.train(), kd.train()

    inputs, samples = batch(plain)
    torch.manual_seed(1)
    plain_losses = plain.loss(inputs, copy.deepcopy(samples))
    torch.manual_seed(1)
    kd_losses = kd.loss(inputs, copy.deepcopy(samples))

    for key, value in plain_losses.items():
        expected = sum(value) if isinstance(value, list) else value
        got = sum(kd_losses[key]) if isinstance(kd_losses[key], list) else kd_losses[key]
        assert torch.allclose(expected, got), key
    for key in ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_bbox', 'loss_rcn_kd_cls', 'loss_rcn_kd_bbox'):
        assert float(kd_losses[key].detach()) == 0.0

    def total(losses):
        return sum(sum(v) if isinstance(v, list) else v for k, v in losses.items() if 'loss' in k)

    total(plain_losses).backward()
    total(kd_losses).backward()
    kd_params = dict(kd.named_parameters())
    for name, param in plain.named_parameters():
        assert torch.allclose(param.grad, kd_params[name].grad, atol=1e-6), name


def test_logged_losses_match_independent_computation():
    model = build(kd_cfg(distill=dict(rpn_reg=dict(margin=0.05), rcn_reg=dict(margin=0.05))))
    model.train()
    inputs, samples = batch(model)
    with MethodCallRecorder(model.rpn_head, 'get_targets') as rpn_targets, \
            MethodCallRecorder(model.roi_head.bbox_head, 'loss_and_target') as rcn_call:
        losses = model.loss(inputs, samples)

    # --- independent recomputation from the recorded samples ---
    with torch.no_grad():
        s_feats = model.extract_feat(inputs)
        t_feats = model.teacher.extract_feat(inputs)
        s_rpn_cls, s_rpn_reg = model.rpn_head(s_feats)
        t_rpn_cls, t_rpn_reg = model.teacher.rpn_head(t_feats)
        rois = rcn_call.kwargs['rois']
        t_rcn = model.teacher.roi_head._bbox_forward(t_feats, rois)

    labels, label_weights, bbox_targets, bbox_weights, avg_factor = rpn_targets.result
    s_logit = s_rpn_cls[0].permute(0, 2, 3, 1).reshape(-1)
    t_logit = t_rpn_cls[0].permute(0, 2, 3, 1).reshape(-1)
    sampled = label_weights[0].reshape(-1) > 0
    expected_rpn_cls = 0.0
    for s, t in zip(s_logit[sampled].tolist(), t_logit[sampled].tolist()):
        p_t, p_s = 1 / (1 + math.exp(-t)), 1 / (1 + math.exp(-s))
        expected_rpn_cls += -(p_t * math.log(p_s) + 1.5 * (1 - p_t) * math.log(1 - p_s))
    expected_rpn_cls *= 0.5 / avg_factor
    assert float(losses['loss_rpn_kd_cls']) == pytest.approx(expected_rpn_cls, rel=1e-4)

    pos = bbox_weights[0].reshape(-1, 4)[:, 0] > 0
    s_d = s_rpn_reg[0].permute(0, 2, 3, 1).reshape(-1, 4)[pos]
    t_d = t_rpn_reg[0].permute(0, 2, 3, 1).reshape(-1, 4)[pos]
    y = bbox_targets[0].reshape(-1, 4)[pos]
    expected_rpn_reg = 0.0
    for s_row, t_row, y_row in zip(s_d.tolist(), t_d.tolist(), y.tolist()):
        s_err = sum((a - b)**2 for a, b in zip(s_row, y_row))
        t_err = sum((a - b)**2 for a, b in zip(t_row, y_row))
        expected_rpn_reg += s_err if s_err + 0.05 > t_err else 0.0
    assert pos.any() and expected_rpn_reg > 0
    assert float(losses['loss_rpn_kd_bbox']) == pytest.approx(0.5 * expected_rpn_reg / avg_factor, rel=1e-4)

    r_labels, r_weights, r_targets, r_bbox_weights = rcn_call.result['bbox_targets']
    s_cls, s_reg = rcn_call.kwargs['cls_score'].detach(), rcn_call.kwargs['bbox_pred'].detach()
    t_cls, t_reg = t_rcn['cls_score'], t_rcn['bbox_pred']
    weights = torch.tensor([1.0] * 3 + [1.5])  # background is the last of C + 1 = 4 logits
    soft = -(weights * F.softmax(t_cls, 1) * F.log_softmax(s_cls, 1)).sum(1)
    expected_rcn_cls = 0.5 * (soft * r_weights).sum() / (r_weights > 0).sum()
    assert float(losses['loss_rcn_kd_cls']) == pytest.approx(float(expected_rcn_cls), rel=1e-4)

    expected_rcn_reg = 0.0
    for i in torch.nonzero(r_labels < 3).flatten().tolist():
        c = int(r_labels[i])
        s_row, t_row = s_reg[i, 4 * c:4 * c + 4], t_reg[i, 4 * c:4 * c + 4]  # ground-truth class deltas
        s_err = float(((s_row - r_targets[i])**2).sum())
        t_err = float(((t_row - r_targets[i])**2).sum())
        expected_rcn_reg += s_err if s_err + 0.05 > t_err else 0.0
    assert expected_rcn_reg > 0
    assert float(losses['loss_rcn_kd_bbox']) == pytest.approx(
        0.5 * expected_rcn_reg / r_labels.numel(), rel=1e-4, abs=1e-8)

    # hard classification losses are scaled by mu = 0.5
    with torch.no_grad():
        hard = model.roi_head.bbox_head.loss_cls(s_cls, r_labels, r_weights, avg_factor=(r_weights > 0).sum())
    assert float(losses['loss_cls']) == pytest.approx(0.5 * float(hard), rel=1e-4)

    adapted = model.distill_terms['hint'].adapters[0](s_feats[0], t_feats[0].shape[-2:])
    assert float(losses['loss_hint']) == pytest.approx(0.5 * float(((adapted - t_feats[0])**2).mean()), rel=1e-4)


def test_training_steps_leave_teacher_untouched_and_without_gradients():
    model = build(kd_cfg())
    model.train()
    before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for seed in range(2):
        inputs, samples = batch(model, seed=seed)
        losses = model.loss(inputs, samples)
        total = sum(sum(v) if isinstance(v, list) else v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    assert all(p.grad is None for p in model.teacher.parameters())
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, before[key]), f'teacher {key} changed'
    assert any(k.endswith('running_mean') for k in before)
    assert model.distill_terms['hint'].adapters[0].conv.weight.grad is not None


def test_teacher_sees_its_own_normalisation_and_scale():
    from mmdet.testing import demo_mm_inputs
    cfg = kd_cfg(input_scale=2.0, distill=dict(rpn_align='resample',
                                               hints=[dict(student=0, teacher=0, align='resample')]))
    cfg.teacher.config.model.data_preprocessor.update(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0],
                                                      bgr_to_rgb=False)
    cfg.teacher.config.model.rpn_head.anchor_generator.scales = [2, 4, 8, 16]  # the same boxes at 2x
    model = build(cfg)
    torch.manual_seed(0)
    data = demo_mm_inputs(batch_size=1, image_shapes=[(3, 90, 120)], num_items=[2], num_classes=3)
    raw = data['inputs'][0].float()  # BGR uint8 image as loaded
    processed = model.data_preprocessor(data, True)
    inputs, samples = processed['inputs'], processed['data_samples']

    teacher_inputs = model.distiller.teacher.inputs(inputs, samples)

    expected = F.interpolate(F.pad(raw / 255.0, (0, inputs.shape[-1] - 120, 0, inputs.shape[-2] - 90))[None],
                             scale_factor=2.0, mode='bilinear', align_corners=False)
    assert teacher_inputs.shape[-2:] == (2 * inputs.shape[-2], 2 * inputs.shape[-1])
    assert torch.allclose(teacher_inputs, expected, atol=1e-4)
    losses = model.loss(inputs, samples)
    assert all(torch.isfinite(sum(v) if isinstance(v, list) else v).all() for v in losses.values())


def test_rpn_grid_alignment_crops_teacher_and_masks_uncovered_anchors():
    model = build(kd_cfg())
    anchors = model.rpn_head.num_base_priors
    student_cls = [torch.zeros(2, anchors, 4, 5)]
    teacher_cls = torch.arange(2 * anchors * 5 * 4, dtype=torch.float32).reshape(2, anchors, 5, 4)
    teacher_reg = torch.randn(2, anchors * 4, 5, 4)

    teacher = model.distiller.teacher
    aligned_cls, aligned_reg, valid = teacher.on_student_grid(([teacher_cls], [teacher_reg]), student_cls)

    assert aligned_cls[0].shape == (2, anchors, 4, 5)
    assert torch.equal(aligned_cls[0][..., :4, :4], teacher_cls[..., :4, :4])  # same (i, j) -> same anchors
    assert torch.equal(aligned_reg[0][..., :4, :4], teacher_reg[..., :4, :4])
    covered = valid[0].reshape(2, 4, 5, anchors)  # (B, H, W, A): the order of the anchor targets
    assert covered[:, :, :4].all() and not covered[:, :, 4].any()


def test_switched_off_distillation_skips_the_teacher_and_keeps_adapters_in_the_graph():
    model = build(kd_cfg())
    model.train()
    model.distill_scale = 0.0
    inputs, samples = batch(model)
    with MethodCallRecorder(model.teacher, 'extract_feat') as teacher_call:
        losses = model.loss(inputs, samples)
    assert not teacher_call.called
    for key in ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_bbox', 'loss_rcn_kd_cls', 'loss_rcn_kd_bbox'):
        assert float(losses[key].detach()) == 0.0
    losses['loss_hint'].backward()
    assert model.distill_terms['hint'].adapters[0].conv.weight.grad is not None


def test_a_checkpoint_saved_before_the_terms_were_modules_loads_its_hint_adapters():
    model = build(kd_cfg())
    state = {k.replace('distill_terms.hint.adapters.', 'distill_adapters.'): v.clone() + 1.0
             for k, v in model.state_dict().items()}
    assert 'distill_adapters.0.conv.weight' in state
    fresh = build(kd_cfg())
    fresh.load_state_dict(state, strict=True)
    assert torch.equal(fresh.distill_terms['hint'].adapters[0].conv.weight, state['distill_adapters.0.conv.weight'])
    