"""DISTTerm inside KDFasterRCNN: its logged value against an independent recomputation from the recorded RoI
logits, 0 for a teacher equal to the student, a teacher known only by its detections, refusals and configs."""
import copy
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

import det_kd  # noqa: F401
import det_kd.models.distillation.terms.dist_term  # noqa: F401  (registers DISTTerm)
from det_kd.models.distillation.recorders import MethodCallRecorder
from det_kd.models.distillation.teacher_results import write_teacher_results
from det_kd.models.distillation.terms.base import DistillationInputs, RCNOutputs
from det_kd.models.distillation.terms.dist_term import DISTTerm
from kd_fixtures import NUM_CLASSES, REPO, batch, build, demo_step_losses, kd_cfg, student_cfg

HEADS_OFF = dict(loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None)


def dist_by_hand(student_probs, teacher_probs, tau=1.0, beta=1.0, gamma=1.0, eps=1e-8):
    """The DIST authors' formula on probability rows (already softmaxed at tau), in NumPy."""
    y_s, y_t = np.asarray(student_probs, np.float64), np.asarray(teacher_probs, np.float64)

    def mean_pearson(a, b):  # over rows
        a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
        return float(((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + eps)).mean())

    return tau * tau * (beta * (1 - mean_pearson(y_s, y_t)) + gamma * (1 - mean_pearson(y_s.T, y_t.T)))


def softmax(logits, tau=1.0):
    z = np.asarray(logits, np.float64) / tau
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def test_a_step_logs_dist_equal_to_an_independent_recomputation():
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=[dict(type='DISTTerm', loss_weight=2.0, tau=2.0,
                                                             intra_weight=0.5)])))
    model.train()
    assert list(model.distill_terms) == ['dist'] and model.distillation_loss_keys == ('loss_dist', )
    assert model.distiller.uses_rcn and not model.distiller.uses_rpn
    inputs, samples = batch(model)
    with MethodCallRecorder(model.roi_head.bbox_head, 'loss_and_target') as call:
        losses = model.loss(inputs, copy.deepcopy(samples))
    assert {'loss_cls', 'loss_bbox', 'loss_dist'} <= set(losses)
    assert not {'loss_hint', 'loss_rpn_kd_cls', 'loss_rcn_kd_cls'} & set(losses)
    with torch.no_grad():
        teacher = model.teacher.roi_head._bbox_forward(model.teacher.extract_feat(inputs), call.kwargs['rois'])
    label_weights = call.result['bbox_targets'][1]
    rows = (label_weights > 0).numpy()
    assert rows.sum() > 10
    student_logits = call.kwargs['cls_score'].detach().numpy()[rows]
    assert student_logits.shape[1] == NUM_CLASSES + 1
    expected = 2.0 * dist_by_hand(softmax(student_logits, 2.0), softmax(teacher['cls_score'].numpy()[rows], 2.0),
                                  tau=2.0, gamma=0.5)
    assert float(losses['loss_dist']) == pytest.approx(expected, rel=1e-5)
    losses['loss_dist'].backward()
    assert model.roi_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0
    assert model.roi_head.bbox_head.fc_reg.weight.grad is None  # DIST reads only the class scores
    assert all(p.grad is None for p in model.teacher.parameters())
    model.distill_scale = 0.0
    off = model.loss(inputs, copy.deepcopy(samples))
    assert float(off['loss_dist']) == 0.0


def test_dist_is_zero_when_the_teacher_equals_the_student():
    cfg = kd_cfg(distill=dict(HEADS_OFF, terms=[dict(type='DISTTerm')]))
    cfg.backbone.norm_eval = True  # the teacher runs BatchNorm in eval mode: the student too, to be equal
    teacher = student_cfg()
    teacher.backbone.norm_eval = True
    cfg.teacher['config'] = dict(model=teacher)
    model = build(cfg)
    with torch.no_grad():  # spread the initial logits (std 0.01): the Pearson eps 1e-8 is then negligible
        model.roi_head.bbox_head.fc_cls.weight.mul_(100.0)
    model.teacher.load_state_dict(model.state_dict())
    model.train()
    inputs, samples = batch(model)
    with MethodCallRecorder(model.roi_head.bbox_head, 'loss_and_target') as call:
        losses = model.loss(inputs, samples)
    with torch.no_grad():
        teacher_cls = model.teacher.roi_head._bbox_forward(model.teacher.extract_feat(inputs),
                                                           call.kwargs['rois'])['cls_score']
    assert torch.allclose(teacher_cls, call.kwargs['cls_score'].detach(), atol=1e-5)
    assert float(losses['loss_dist']) == pytest.approx(0.0, abs=1e-5)


def _rcn(student_cls, teacher_cls, label_weights, covered=None):
    labels = torch.zeros(student_cls.size(0), dtype=torch.long)
    return RCNOutputs(student_cls, torch.zeros(student_cls.size(0), 4 * NUM_CLASSES), teacher_cls, None,
                      (labels, label_weights, torch.zeros(student_cls.size(0), 4), torch.zeros(student_cls.size(0), 4)),
                      NUM_CLASSES, False, covered)


def test_the_term_keeps_the_sampled_and_covered_rois_and_weighs_by_the_schedule():
    torch.manual_seed(0)
    student, teacher = torch.randn(12, NUM_CLASSES + 1), torch.randn(12, NUM_CLASSES + 1)
    label_weights = torch.ones(12)
    label_weights[[0, 5]] = 0.0  # not sampled
    covered = torch.ones(12, dtype=torch.bool)
    covered[[1, 2, 9]] = False
    term = DISTTerm(loss_weight=3.0)
    assert term.loss_keys == ('loss_dist', ) and term.uses_rcn and not term.uses_rcn_deltas
    got = term(DistillationInputs(scale=0.5, rcn=_rcn(student, teacher, label_weights, covered)))['loss_dist']
    rows = ((label_weights > 0) & covered).numpy()
    expected = 1.5 * dist_by_hand(softmax(student.numpy()[rows]), softmax(teacher.numpy()[rows]))
    assert float(got) == pytest.approx(expected, rel=1e-5)
    same = term(DistillationInputs(scale=1.0, rcn=_rcn(student, student.clone(), label_weights)))['loss_dist']
    assert float(same) == pytest.approx(0.0, abs=1e-5)
    none = term(DistillationInputs(scale=1.0, rcn=_rcn(student.requires_grad_(), teacher, label_weights,
                                                       torch.zeros(12, dtype=torch.bool))))['loss_dist']
    assert float(none) == 0.0 and none.requires_grad  # no covered RoI: 0, in the graph
    named = DISTTerm(name='dist_roi')
    assert named.loss_keys == ('loss_dist_roi', )


@pytest.mark.parametrize('setting, value, words', [
    ('loss_weight', -1.0, 'DISTTerm.loss_weight'),
    ('tau', 0.0, 'DISTTerm.tau'),
    ('inter_weight', '1', 'DISTTerm.inter_weight'),
    ('intra_weight', float('nan'), 'DISTTerm.intra_weight'),
])
def test_bad_settings_name_the_setting(setting, value, words):
    with pytest.raises((TypeError, ValueError), match=words):
        build(kd_cfg(distill=dict(HEADS_OFF, terms=[dict(type='DISTTerm', **{setting: value})])))


def test_a_teacher_with_other_classes_is_refused():
    cfg = kd_cfg(distill=dict(HEADS_OFF, terms=[dict(type='DISTTerm')]))
    cfg.teacher['config']['model'].roi_head.bbox_head.num_classes = NUM_CLASSES + 1
    with pytest.raises(ValueError, match='num_classes differs'):
        build(cfg)


# --------------------------------------------------------------------------- a teacher known by its detections
#: No class with equal probabilities in both rows: a constant column's Pearson correlation is 0 in exact arithmetic
#: but float32 rounding of the equal entries makes it tiny / (tiny + eps), anything in [-1, 1].
PROBS = [[0.7, 0.1, 0.15, 0.05], [0.05, 0.8, 0.05, 0.1]]


def _black_box(tmp_path, boxes, labels):
    path = str(tmp_path / 'results.json')
    detections = [dict(image_id=7, bbox=[x1, y1, x2 - x1, y2 - y1], category_id=int(label) + 1, score=0.9,
                       class_probs=PROBS[index % 2])
                  for index, ((x1, y1, x2, y2), label) in enumerate(zip(boxes, labels))]
    write_teacher_results(path, ('a', 'b', 'c'), [dict(id=7, file_name='img.png', width=128, height=96)], detections)
    cfg = student_cfg()
    cfg.update(type='KDFasterRCNN', teacher=dict(results=path), distill=dict(HEADS_OFF, terms=[dict(type='DISTTerm')]))
    return MODELS.build(cfg)


def test_a_teacher_known_only_by_its_detections_teaches_dist_on_the_rois_it_covers(tmp_path):
    inputs, samples = batch(MODELS.build(student_cfg()), batch_size=1)
    samples[0].set_metainfo(dict(img_path='/x/img.png', homography_matrix=np.eye(3, dtype=np.float32)))
    gt = samples[0].gt_instances  # the teacher detected the ground-truth boxes (added to the proposals)
    model = _black_box(tmp_path, gt.bboxes.tolist(), gt.labels.tolist())
    assert model.teacher is None and list(model.distill_terms) == ['dist']
    model.train()
    with MethodCallRecorder(model.roi_head.bbox_head, 'loss_and_target') as call:
        losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['loss_dist']) and float(losses['loss_dist']) > 0
    probs, matched = model.distiller.teacher.match(call.kwargs['rois'], samples)
    rows = ((call.result['bbox_targets'][1] > 0) & matched).numpy()
    assert 1 < rows.sum() < len(rows)  # some RoIs covered, some not
    expected = dist_by_hand(softmax(call.kwargs['cls_score'].detach().numpy()[rows]), probs.numpy()[rows])
    assert float(losses['loss_dist']) == pytest.approx(expected, rel=1e-5)
    losses['loss_dist'].backward()
    assert model.roi_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0


def test_a_results_file_without_detections_gives_zero(tmp_path):
    inputs, samples = batch(MODELS.build(student_cfg()), batch_size=1)
    samples[0].set_metainfo(dict(img_path='/x/img.png', homography_matrix=np.eye(3, dtype=np.float32)))
    model = _black_box(tmp_path, [], [])
    model.train()
    losses = model.loss(inputs, samples)
    assert float(losses['loss_dist']) == 0.0 and math.isfinite(float(losses['loss_cls']))


# ---------------------------------------------------------------------------------------------------- configs
def test_the_dist_configs_build_and_the_synthetic_one_steps():
    full = Config.fromfile(osp.join(REPO, 'configs', 'kd', 'dist_r18-r50_fpn_1x_coco.py'))
    assert full.model.distill.terms == [dict(type='DISTTerm', loss_weight=1.0, tau=1.0, inter_weight=1.0,
                                             intra_weight=1.0)]
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'kd', 'dist_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py'))
    assert cfg.model.distill.terms == full.model.distill.terms
    cfg.model.teacher.update(checkpoint=None, allow_random_init=True)
    model = MODELS.build(cfg.model)
    assert list(model.distill_terms) == ['dist']
    losses = demo_step_losses(model)
    assert torch.isfinite(losses['loss_dist']) and float(losses['loss_dist']) > 0
    assert not {'loss_hint', 'loss_rpn_kd_cls', 'loss_rcn_kd_cls'} & set(losses)
