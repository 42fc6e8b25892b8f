"""What a student learns from unlabeled images: "soft only" (no ground truth, hard losses leave them out, the
distillation terms keep them) and "pseudo-labels only" (no distillation term: the teacher only labels)."""
import copy

import pytest
import torch
from mmengine.structures import InstanceData

import det_kd  # noqa: F401
from det_kd.models.distillation.hard_loss_mask import HardLossMask

from kd_fixtures import batch, build, kd_cfg, student_cfg

HARD_KEYS = ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox')
PAPER_TERMS = ('loss_hint', 'rpn_cls', 'rpn_reg', 'rcn_cls', 'rcn_reg')


def _every_sample(cfg):
    """Samplers that take every anchor and every proposal: the losses no longer depend on random draws."""
    cfg.train_cfg.rpn.sampler.num = 100000
    cfg.train_cfg.rcnn.sampler.num = 100000
    return cfg


def _total(value):
    return sum(value) if isinstance(value, (list, tuple)) else value


def _hard(losses, keys=HARD_KEYS):
    return {key: _total(losses[key]).detach() for key in keys}


def test_masked_images_leave_the_hard_losses_as_if_they_were_not_in_the_batch():
    """With image 1 masked, every hard loss (normalisers included) equals the loss of image 0 alone; the
    masked batch's RPN and RoI targets, as a recorder sees them, still cover image 1."""
    torch.manual_seed(0)
    student = build(_every_sample(student_cfg()))
    student.eval()  # BatchNorm on running statistics: image 0's features do not depend on the batch
    inputs, samples = batch(student)
    logged = (*HARD_KEYS, 'acc')  # the RoI head's logged accuracy too
    with torch.no_grad():
        alone = _hard(student.loss(inputs[:1], copy.deepcopy(samples[:1])), logged)
        with HardLossMask(student, [1]):
            masked = _hard(student.loss(inputs, copy.deepcopy(samples)), logged)
        whole = _hard(student.loss(inputs, copy.deepcopy(samples)), logged)
    for key in logged:
        assert torch.allclose(masked[key], alone[key], rtol=1e-6, atol=1e-8), key
    for key in HARD_KEYS:
        assert not torch.allclose(whole[key], alone[key], rtol=1e-4), key  # image 1 matters without the mask
    assert 'get_targets' not in vars(student.rpn_head) and 'loss' not in vars(student.roi_head.bbox_head)


def _unlabeled_batch(model):
    inputs, samples = batch(model)
    samples[1].set_metainfo(dict(unlabeled=True))
    samples[1].gt_instances = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    return inputs, samples


def test_soft_only_keeps_the_distillation_terms_and_drops_the_hard_losses_of_unlabeled_images():
    """pseudo_label_thr=None: the unlabeled image gets no pseudo boxes and adds nothing to the hard losses
    (they equal the labeled image's alone), while every distillation term is the one computed with the
    unlabeled image treated as an annotated image without objects."""
    cfg = _every_sample(kd_cfg())
    cfg.pseudo_label_thr = None
    torch.manual_seed(0)
    model = build(cfg)
    model.eval()
    inputs, samples = _unlabeled_batch(model)
    with torch.no_grad():
        soft_only = model.loss(inputs, copy.deepcopy(samples))
        as_empty = copy.deepcopy(samples)
        as_empty[1].set_metainfo(dict(unlabeled=False))
        reference = model.loss(inputs, as_empty)
        hard_alone = _hard(model.loss(inputs[:1], copy.deepcopy(samples[:1])))
    distill_keys = [key for key in soft_only if key.startswith('loss_') and key not in HARD_KEYS]
    assert {'loss_hint', 'loss_rpn_kd_cls', 'loss_rcn_kd_cls'} <= set(distill_keys)
    for key in distill_keys:
        assert torch.equal(_total(soft_only[key]), _total(reference[key])), key
    for key in HARD_KEYS:
        assert torch.allclose(_total(soft_only[key]), hard_alone[key], rtol=1e-6, atol=1e-8), key
    # unmasked, the empty image counts (random weights score every anchor near 0.5, so not every key moves)
    assert any(not torch.allclose(_total(reference[key]), hard_alone[key], rtol=1e-4) for key in HARD_KEYS)
    assert model.distiller.step(inputs, samples, 1.0).samples is samples  # no teacher detections as ground truth


def test_pseudo_labels_only_trains_the_plain_student_on_the_teachers_boxes():
    """All paper terms off: the loss is the plain student's on the pseudo-labelled batch, and the teacher runs
    only to label the unlabeled image."""
    cfg = kd_cfg(distill={key: None for key in PAPER_TERMS})
    cfg.pseudo_label_thr = 0.0  # a random teacher scores low
    torch.manual_seed(0)
    model = build(cfg)
    inputs, samples = _unlabeled_batch(model)
    labelled = model.distiller.step(inputs, samples, 1.0).samples
    assert len(labelled[1].gt_instances) > 0
    torch.manual_seed(0)
    plain = build(student_cfg())
    plain.load_state_dict(model.state_dict())
    calls = []
    model.teacher.register_forward_pre_hook(lambda *args: calls.append('forward'))
    original_extract = model.teacher.extract_feat
    model.teacher.extract_feat = lambda *a, **k: calls.append('extract_feat') or original_extract(*a, **k)
    model.train(), plain.train()
    torch.manual_seed(1)
    losses = model.loss(inputs, copy.deepcopy(samples))
    extract_calls = calls.count('extract_feat')
    torch.manual_seed(1)
    expected = plain.loss(inputs, copy.deepcopy(labelled))
    assert set(losses) == set(expected)
    for key in expected:
        assert torch.equal(_total(losses[key]), _total(expected[key])), key
    assert extract_calls == 1  # the pseudo-labelling prediction only
    model.teacher.extract_feat = original_extract


@pytest.mark.parametrize('thr', [-0.1, 1.5, 'high'])
def test_a_bad_pseudo_label_threshold_is_named(thr):
    with pytest.raises((ValueError, TypeError), match='pseudo_label_thr'):
        build(dict(kd_cfg(), pseudo_label_thr=thr))
