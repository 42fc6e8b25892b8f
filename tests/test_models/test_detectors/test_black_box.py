"""A teacher known only by its detections: the results file, pseudo ground truth, the soft term, refusals."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

import det_kd  # noqa: F401
from det_kd.models.distillation.recorders import MethodCallRecorder
from det_kd.models.distillation.unlabeled import with_pseudo_labels
from det_kd.models.distillation.teacher_results import TeacherResults, write_teacher_results
from kd_fixtures import NUM_CLASSES, batch, student_cfg

CLASSES = ('a', 'b', 'c')


def _results(tmp_path, detections, file_name='img.png', name='results.json'):
    path = str(tmp_path / name)
    write_teacher_results(path, CLASSES, [dict(id=7, file_name=file_name, width=128, height=96)], detections)
    return path


def _det(box, label, score, probs):
    x1, y1, x2, y2 = box
    return dict(image_id=7, bbox=[x1, y1, x2 - x1, y2 - y1], category_id=label + 1, score=score, class_probs=probs)


def _model(results, **teacher):
    cfg = student_cfg()
    cfg.type = 'BlackBoxKDFasterRCNN'
    cfg.teacher = dict(results=results, **teacher)
    return MODELS.build(cfg)


def _sample(unlabeled, flip=False, scale=1.0, path='/data/train/img.png'):
    """A sample as the train pipeline packs it: 128x96 image resized by ``scale`` and maybe flipped."""
    width, height = round(128 * scale), round(96 * scale)
    matrix = np.array([[scale, 0, 0], [0, scale, 0], [0, 0, 1]], dtype=np.float32)
    if flip:
        matrix = np.array([[-1, 0, width], [0, 1, 0], [0, 0, 1]], dtype=np.float32) @ matrix
    sample = DetDataSample(metainfo=dict(img_path=path, img_shape=(height, width), ori_shape=(96, 128),
                                         scale_factor=(scale, scale), homography_matrix=matrix,
                                         pad_shape=(height, width), batch_input_shape=(height, width),
                                         **(dict(unlabeled=True) if unlabeled else {})))
    sample.gt_instances = InstanceData(bboxes=torch.zeros((0, 4)), labels=torch.zeros((0, ), dtype=torch.long))
    return sample


PROBS = [[0.7, 0.1, 0.1, 0.1], [0.05, 0.8, 0.05, 0.1], [0.2, 0.2, 0.2, 0.4]]
BOXES = [[10., 10., 50., 40.], [60., 20., 100., 80.], [0., 0., 20., 20.]]


def test_results_file_round_trip_and_field_errors(tmp_path):
    path = _results(tmp_path, [_det(box, label, score, probs) for box, label, score, probs in
                               zip(BOXES, [0, 1, 2], [0.9, 0.6, 0.3], PROBS)], file_name='train/img.png')
    results = TeacherResults(path)
    found = results.get('/somewhere/data/train/img.png')
    assert np.allclose(found.boxes, BOXES) and found.labels.tolist() == [0, 1, 2]
    assert np.allclose(found.class_probs, PROBS) and np.allclose(found.scores, [0.9, 0.6, 0.3])
    with pytest.raises(KeyError, match="no entry for image 'other.png'"):
        results.get('other.png')
    bad = json.loads(open(path).read())
    bad['detections'][1]['class_probs'] = [0.5, 0.5]
    (tmp_path / 'bad.json').write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"detections\[1\]: class_probs must be 4 probabilities"):
        TeacherResults(str(tmp_path / 'bad.json'))
    bad['detections'][1].update(class_probs=PROBS[1], category_id=9)
    (tmp_path / 'bad.json').write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"detections\[1\]: category_id 9 is not in `categories`"):
        TeacherResults(str(tmp_path / 'bad.json'))


def test_no_teacher_module_is_built_and_the_checkpoint_is_the_plain_students(tmp_path, monkeypatch):
    import det_kd.models.distillation.teachers.network as network_module
    monkeypatch.setattr(network_module, 'build_teacher', lambda *a, **k: pytest.fail('a teacher was built'))
    model = _model(_results(tmp_path, [_det(BOXES[0], 0, 0.9, PROBS[0])]))
    plain = MODELS.build(student_cfg())
    assert list(model.state_dict()) == list(plain.state_dict())
    assert model.teachers == [] and model.teacher is None


def test_unlabeled_images_get_the_teachers_boxes_above_the_threshold_in_the_augmented_frame(tmp_path):
    model = _model(_results(tmp_path, [_det(box, label, score, probs) for box, label, score, probs in
                                       zip(BOXES, [0, 1, 2], [0.9, 0.6, 0.3], PROBS)]), pseudo_label_thr=0.5)
    labeled, unlabeled = _sample(False), _sample(True, flip=True, scale=0.5)
    distiller = model.distiller
    out_labeled, out_unlabeled = with_pseudo_labels(distiller.teacher, torch.zeros(2, 3, 1, 1), [labeled, unlabeled],
                                                    distiller.pseudo_label_thr)
    assert out_labeled is labeled and len(out_labeled.gt_instances) == 0  # labeled: its own (empty) ground truth
    boxes = out_unlabeled.gt_instances.bboxes
    # scaled by 0.5 into a 64x48 image, then flipped: x -> 64 - x
    expected = torch.tensor([[64 - 25., 5., 64 - 5., 20.], [64 - 50., 10., 64 - 30., 40.]])
    assert torch.allclose(boxes, expected) and out_unlabeled.gt_instances.labels.tolist() == [0, 1]
    assert len(unlabeled.gt_instances) == 0  # the input sample is not modified


def test_soft_term_matches_an_independent_computation(tmp_path):
    """Only RoIs overlapping a detection by >= iou_thr get the soft term, against that detection's vector."""
    model = _model(_results(tmp_path, [_det(box, label, 0.9, probs) for box, label, probs in
                                       zip(BOXES, [0, 1, 2], PROBS)], file_name='img.png'), iou_thr=0.5)
    sample = _sample(False)
    rois = torch.tensor([[0, 10., 10., 50., 40.],    # = detection 0
                         [0, 62., 22., 100., 80.],   # IoU ~0.9 with detection 1
                         [0, 100., 60., 127., 95.]])  # overlaps nothing
    probs, matched = model.distiller.teacher.match(rois, [sample])
    assert matched.tolist() == [True, True, False]
    assert torch.allclose(probs[:2], torch.tensor(PROBS[:2]))
    # the loss on these RoIs, recomputed by hand: -sum_c w_c p_c log q_c, w_bg = 1.5, (1 - mu) = 0.5
    torch.manual_seed(0)
    student = torch.randn(3, NUM_CLASSES + 1)
    T = model.distill_terms['rcn_cls'].loss.T
    teacher_logits = T * torch.log(probs.clamp_min(torch.finfo(probs.dtype).tiny))
    weights = torch.ones(3) * matched.float()
    got = model.distill_terms['rcn_cls'].loss(student, teacher_logits, weights, 3.0, 1.0)
    class_weight = torch.tensor([1., 1., 1., 1.5])
    per_roi = -(class_weight * probs * F.log_softmax(student, dim=1)).sum(dim=1)
    assert torch.allclose(got, 0.5 * (per_roi * weights).sum() / 3.0, atol=1e-6)


@pytest.mark.parametrize('mu', [0.5, 0.0])
def test_a_training_step_adds_the_soft_term_and_weighs_mu_on_the_hard_loss_of_matched_rois(tmp_path, mu):
    """At mu = 0 the matched RoIs' hard loss is 0 but they stay in its normaliser (every sampled RoI)."""
    inputs, samples = batch(MODELS.build(student_cfg()), batch_size=1)
    samples[0].set_metainfo(dict(img_path='/x/img.png', homography_matrix=np.eye(3, dtype=np.float32)))
    # the teacher detected the ground-truth boxes (which the RoI sampler adds to the proposals)
    gt = samples[0].gt_instances
    model = _model(_results(tmp_path, [_det(box, int(label), 0.9, PROBS[index]) for index, (box, label) in
                                       enumerate(zip(gt.bboxes.tolist(), gt.labels.tolist()))], file_name='img.png'))
    model.train()
    model.distill_terms['rcn_cls'].loss.mu = mu
    torch.manual_seed(0)
    losses = model.loss(inputs, samples)
    assert torch.isfinite(losses['loss_rcn_kd_cls']) and losses['loss_rcn_kd_cls'] > 0
    model.distill_scale = 0.0
    torch.manual_seed(0)
    off = model.loss(inputs, samples)
    assert float(off['loss_rcn_kd_cls']) == 0.0
    plain = MODELS.build(student_cfg())
    plain.load_state_dict(model.state_dict())
    plain.train()
    torch.manual_seed(0)
    with MethodCallRecorder(plain.roi_head.bbox_head, 'loss_and_target') as call:
        expected = plain.loss(inputs, samples)
    assert torch.allclose(off['loss_cls'], expected['loss_cls'])  # at scale 0 the hard loss is the plain one
    # at full distillation: per RoI, cross-entropy x (mu if it overlaps a teacher detection, else 1)
    labels, label_weights = call.result['bbox_targets'][:2]
    _, matched = model.distiller.teacher.match(call.kwargs['rois'], samples)
    assert matched.any() and (~matched & (label_weights > 0)).any()
    per_roi = F.cross_entropy(call.kwargs['cls_score'], labels, reduction='none') * label_weights
    by_hand = (torch.where(matched, mu, 1.0) * per_roi).sum() / (label_weights > 0).sum()
    assert torch.allclose(losses['loss_cls'], by_hand, atol=1e-6)
    assert 'loss' not in vars(model.roi_head.bbox_head)  # the weighting is undone after the step


def test_terms_that_need_the_teachers_network_are_refused(tmp_path):
    path = _results(tmp_path, [])
    for key in ('loss_hint', 'rpn_cls', 'rpn_reg', 'rcn_reg'):
        cfg = student_cfg()
        cfg.update(type='BlackBoxKDFasterRCNN', teacher=dict(results=path), distill={key: dict(type='X')})
        with pytest.raises(ValueError, match=f'BlackBoxKDFasterRCNN.distill.{key}: the teacher is known only by'):
            MODELS.build(cfg)
    cfg = student_cfg()
    cfg.update(type='BlackBoxKDFasterRCNN', teacher=dict(config='t.py', checkpoint='t.pth'))
    with pytest.raises(KeyError, match='is a results file'):
        MODELS.build(cfg)
    other = str(tmp_path / 'two.json')
    write_teacher_results(other, ('a', 'b'), [], [])
    with pytest.raises(ValueError, match='the file has 2 classes'):
        _model(other)
    without_matrix = DetDataSample(metainfo=dict(img_path='/x/img.png', img_shape=(96, 128)))
    with pytest.raises(KeyError, match="no 'homography_matrix'"):
        _model(path).distiller.teacher.match(torch.tensor([[0, 1., 1., 5., 5.]]), [without_matrix])
