"""Several teachers: the ensemble's soft targets and deltas, a list of one, two copies of one teacher, errors."""
import copy

import pytest
import torch
import torch.nn.functional as F

import det_kd  # noqa: F401
from det_kd.models.distillation.teachers.combination import (best_deltas, check_weights, ensemble_rcn_deltas,
                                                         ensemble_rpn_deltas, ensemble_rpn_scores,
                                                         mean_probability_logits, mean_sigmoid_logits)
from kd_fixtures import batch, build, kd_cfg, student_cfg, teacher_cfg

LOSS_KEYS = ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_bbox', 'loss_rcn_kd_cls', 'loss_rcn_kd_bbox')


# ------------------------------------------------------------------ the combination, on hand-made tensors
def test_mean_probability_logits_reproduce_the_mean_of_tempered_probabilities():
    torch.manual_seed(0)
    a, b = torch.randn(5, 4) * 3, torch.randn(5, 4) * 3
    T = 2.0
    logits = mean_probability_logits([a, b], (0.25, 0.75), T)
    expected = 0.25 * F.softmax(a / T, dim=1) + 0.75 * F.softmax(b / T, dim=1)
    assert torch.allclose(F.softmax(logits / T, dim=1), expected, atol=1e-6)
    sigmoid = mean_sigmoid_logits([a, b], (0.25, 0.75), T)
    assert torch.allclose(torch.sigmoid(sigmoid / T), 0.25 * torch.sigmoid(a / T) + 0.75 * torch.sigmoid(b / T),
                          atol=1e-6)
    assert mean_probability_logits([a], (1.0, ), T) is a  # one teacher: untouched


def test_softmax_rpn_scores_are_combined_per_anchor():
    """(B, A * 2, H, W) maps: channels 2a, 2a + 1 are anchor a's two classes (MMDetection's order)."""
    torch.manual_seed(0)
    maps = [[torch.randn(1, 6, 2, 3)], [torch.randn(1, 6, 2, 3)]]
    combined = ensemble_rpn_scores(maps, (0.5, 0.5), 1.0, cls_out_channels=2)[0]
    for anchor in range(3):
        pair = slice(2 * anchor, 2 * anchor + 2)
        expected = 0.5 * F.softmax(maps[0][0][:, pair], dim=1) + 0.5 * F.softmax(maps[1][0][:, pair], dim=1)
        assert torch.allclose(F.softmax(combined[:, pair], dim=1), expected, atol=1e-6)


def test_best_deltas_take_per_box_the_teacher_closest_to_the_target():
    targets = torch.tensor([[0., 0., 0., 0.], [1., 1., 1., 1.]])
    near_first = torch.tensor([[0.1, 0., 0., 0.], [0., 0., 0., 0.]])
    near_second = torch.tensor([[0.5, 0., 0., 0.], [1., 1., 1., 0.9]])
    chosen = best_deltas([near_first, near_second], targets)
    assert torch.equal(chosen, torch.stack([near_first[0], near_second[1]]))
    # RPN maps (B, A * 4, H, W) with per-level targets in MMDetection's (B * H * W * A, 4) order
    maps = [[near_first.reshape(1, 2, 1, 4).permute(0, 3, 1, 2)], [near_second.reshape(1, 2, 1, 4).permute(0, 3, 1, 2)]]
    rpn = ensemble_rpn_deltas(maps, (0.5, 0.5), 'best', [targets.reshape(1, 2, 4)])[0]
    assert torch.equal(rpn.permute(0, 2, 3, 1).reshape(-1, 4), chosen)
    mean = ensemble_rpn_deltas(maps, (0.25, 0.75), 'mean', [targets])[0]
    assert torch.allclose(mean, 0.25 * maps[0][0] + 0.75 * maps[1][0])


def test_best_rcn_deltas_compare_the_ground_truth_class_and_leave_background_rois():
    # 3 RoIs, 2 classes (4 deltas each): RoI 0 class 1, RoI 1 class 0, RoI 2 background (label 2)
    labels = torch.tensor([1, 0, 2])
    targets = torch.tensor([[1., 1., 1., 1.], [2., 2., 2., 2.], [0., 0., 0., 0.]])
    first = torch.zeros(3, 8)
    second = torch.zeros(3, 8)
    second[0, 4:] = 1.0   # class-1 deltas of RoI 0 hit the target: the second teacher wins RoI 0
    first[1, :4] = 2.0    # class-0 deltas of RoI 1 hit the target: the first teacher wins RoI 1
    second[2] = 5.0       # background RoI: the first teacher's row is kept
    chosen = ensemble_rcn_deltas([first, second], (0.5, 0.5), 'best', labels, targets, 2, False)
    assert torch.equal(chosen, torch.stack([second[0], first[1], first[2]]))


def test_weights_are_normalised_and_checked():
    assert check_weights([1, 3], 'w') == (0.25, 0.75)
    with pytest.raises(ValueError, match=r'w\[1\].weight must be a finite number >= 0'):
        check_weights([1, -1], 'w')
    with pytest.raises(ValueError, match='sum to 0'):
        check_weights([0, 0], 'w')


# ------------------------------------------------------------------ the detector
def _losses_and_grads(model, seed=1):
    model.train()
    inputs, samples = batch(model)
    torch.manual_seed(seed)
    losses = model.loss(inputs, copy.deepcopy(samples))
    total = sum(sum(v) if isinstance(v, list) else v for k, v in losses.items() if 'loss' in k)
    model.zero_grad()
    total.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return {k: (sum(v) if isinstance(v, list) else v).detach() for k, v in losses.items()}, grads


def _ensemble_cfg(teachers, **distill):
    cfg = kd_cfg(distill=distill or None)
    cfg.teacher = teachers
    return cfg


def _teacher(**kwargs):
    return dict(config=dict(model=teacher_cfg()), checkpoint=None, allow_random_init=True, **kwargs)


def test_a_list_of_one_teacher_is_the_single_teacher_bit_for_bit():
    torch.manual_seed(0)
    single = build(kd_cfg())
    torch.manual_seed(0)
    listed = build(_ensemble_cfg([_teacher()]))
    assert list(single.state_dict()) == list(listed.state_dict())
    single_losses, single_grads = _losses_and_grads(single)
    listed_losses, listed_grads = _losses_and_grads(listed)
    assert single_losses.keys() == listed_losses.keys()
    for key in single_losses:
        assert torch.equal(single_losses[key], listed_losses[key]), key
    for name in single_grads:
        assert torch.equal(single_grads[name], listed_grads[name]), name


def test_two_copies_of_one_teacher_equal_that_teacher_alone():
    """Weights 0.5 / 0.5 on two identical teachers (a random teacher is built from the same random state
    each time) with the second copy's adapters set to the first's: losses and gradients of the single
    teacher, for every term and for both regression modes."""
    for mode in ('mean', 'best'):
        torch.manual_seed(0)
        single = build(kd_cfg(distill=dict(ensemble_reg=mode)))
        torch.manual_seed(0)
        double = build(_ensemble_cfg([_teacher(weight=0.5), _teacher(weight=0.5)], ensemble_reg=mode))
        for first, second in zip(double.teachers[0].state_dict().values(), double.teachers[1].state_dict().values()):
            assert torch.equal(first, second)
        assert set(double.distill_terms) == {'hint', 'rpn_cls', 'rpn_reg', 'rcn_cls', 'rcn_reg', 'hint_teacher1'}
        double.distill_terms['hint_teacher1'].load_state_dict(double.distill_terms['hint'].state_dict())
        single_losses, single_grads = _losses_and_grads(single)
        double_losses, double_grads = _losses_and_grads(double)
        assert single_losses.keys() == double_losses.keys()
        for key in LOSS_KEYS:
            assert torch.allclose(single_losses[key], double_losses[key], rtol=1e-5, atol=1e-7), (mode, key)
        for name, grad in single_grads.items():
            # the single teacher's adapter gradient is split over the two copies
            other = double_grads[name]
            if name.startswith('distill_terms.hint.'):
                other = other + double_grads[name.replace('distill_terms.hint.', 'distill_terms.hint_teacher1.')]
            assert torch.allclose(grad, other, rtol=1e-4, atol=1e-6), (mode, name)


def test_two_different_teachers_give_the_weighted_hint_and_the_ensemble_soft_targets():
    wide = _teacher(weight=3.0)
    narrow_cfg = student_cfg(base_channels=4)  # 16 channels: its own 32 -> 16 adapter
    narrow = dict(config=dict(model=narrow_cfg), allow_random_init=True, weight=1.0,
                  hints=[dict(student=0, teacher=0, adapter='conv1x1')])
    model = build(_ensemble_cfg([wide, narrow]))
    assert model.distiller.teacher.weights == (0.75, 0.25)
    assert model.distill_terms['hint_teacher1'].adapters[0].conv.out_channels == 16
    model.train()
    inputs, samples = batch(model)
    hint, hint1 = model.distill_terms['hint'], model.distill_terms['hint_teacher1']
    with torch.no_grad():
        losses = model.loss(inputs, copy.deepcopy(samples))
        student_map = model.extract_feat(inputs)[0]
        teacher_maps = [m.network.extract_feat(m.inputs(inputs, samples))[0] for m in model.distiller.teacher.members]
    expected_hint = sum(weight * term.loss(term.adapters[0](student_map, maps.shape[-2:]), maps)
                        for weight, term, maps in zip((0.75, 0.25), (hint, hint1), teacher_maps))
    assert torch.allclose(losses['loss_hint'], expected_hint, rtol=1e-5)
    assert all(torch.isfinite(losses[key]) for key in LOSS_KEYS)


def test_a_teacher_with_no_hints_teaches_through_the_heads_only():
    """``hints=[]`` on the second teacher: no hint copy for it, the hint is the first teacher's at full weight
    (its weight renormalised over the teachers the hint compares with), the head terms still see both."""
    other = dict(config=dict(model=student_cfg(base_channels=4)), allow_random_init=True, hints=[])
    torch.manual_seed(0)
    model = build(_ensemble_cfg([_teacher(weight=3.0), dict(other, weight=1.0)]))
    assert 'hint_teacher1' not in model.distill_terms
    assert model.distiller.teacher.weights == (0.75, 0.25) and model.distiller.teacher.feature_weights == (1.0, 0.0)
    model.train()
    inputs, samples = batch(model)
    hint = model.distill_terms['hint']
    with torch.no_grad():
        torch.manual_seed(1)  # the same sampled anchors and RoIs as the comparison below
        losses = model.loss(inputs, copy.deepcopy(samples))
        student_map = model.extract_feat(inputs)[0]
        teacher_map = model.teachers[0].extract_feat(model.distiller.teacher.members[0].inputs(inputs, samples))[0]
    expected_hint = hint.loss(hint.adapters[0](student_map, teacher_map.shape[-2:]), teacher_map)
    assert torch.allclose(losses['loss_hint'], expected_hint, rtol=1e-5)
    assert all(torch.isfinite(losses[key]) for key in LOSS_KEYS)
    # the head terms are the ensemble's: not those of the first teacher alone (weight 0 on the other)
    torch.manual_seed(0)
    first_alone = build(_ensemble_cfg([_teacher(weight=1.0), dict(other, weight=0.0)]))
    first_alone.load_state_dict(model.state_dict())
    first_alone.train()
    with torch.no_grad():
        torch.manual_seed(1)
        alone = first_alone.loss(inputs, copy.deepcopy(samples))
    for key in ('loss_hint', 'loss_cls', 'loss_bbox'):  # the student's own losses too: same sampled RoIs
        assert torch.allclose(alone[key], losses[key], rtol=1e-5), key
    assert not torch.allclose(alone['loss_rcn_kd_cls'], losses['loss_rcn_kd_cls'])


def test_teacher_errors_name_the_teacher():
    with pytest.raises(FileNotFoundError, match=r'KDFasterRCNN.teacher\[1\]: teacher.checkpoint'):
        build(_ensemble_cfg([_teacher(), dict(config=dict(model=teacher_cfg()), checkpoint='/no/such.pth')]))
    with pytest.raises(KeyError, match=r'KDFasterRCNN.teacher\[1\] needs `config`.*unknown keys: \[.wieght.\]'):
        build(_ensemble_cfg([_teacher(), _teacher(wieght=1.0)]))
    with pytest.raises(ValueError, match=r'teacher\[1\].weight must be a finite number'):
        build(_ensemble_cfg([_teacher(), _teacher(weight=-1)]))
    with pytest.raises(ValueError, match=r"teacher\[0\].hints: the first teacher's pairs are distill.hints"):
        build(_ensemble_cfg([_teacher(hints=[dict(student=0, teacher=0)]), _teacher()]))
    other_classes = teacher_cfg()
    other_classes.roi_head.bbox_head.num_classes = 5
    with pytest.raises(ValueError, match=r'KDFasterRCNN.teacher\[1\]: .*class'):
        build(_ensemble_cfg([_teacher(), dict(config=dict(model=other_classes), allow_random_init=True)]))
    with pytest.raises(ValueError, match='ensemble_reg must be one of'):
        build(_ensemble_cfg([_teacher(), _teacher()], ensemble_reg='median'))


def test_the_ensemble_moves_and_stays_frozen_with_the_student():
    model = build(_ensemble_cfg([_teacher(), _teacher()]))
    model.train()
    assert all(not t.training for t in model.teachers)
    model.to(torch.float64)
    assert all(next(t.parameters()).dtype == torch.float64 for t in model.teachers)
    assert not any(key.startswith('teacher') for key in model.state_dict())


def test_single_teacher_tools_refuse_an_ensemble_by_name():
    from det_kd.models.distillation.teacher import single_teacher
    assert single_teacher(dict(teacher=[dict(config='a.py')]), 'tool') == dict(config='a.py')
    with pytest.raises(ValueError, match='tools/ablation.py handles one teacher; .* an ensemble of 2'):
        single_teacher(dict(teacher=[dict(config='a.py'), dict(config='b.py')]), 'tools/ablation.py')


def test_unlabeled_images_get_the_teachers_detections_above_the_threshold():
    """KDFasterRCNN with a teacher network: an ``unlabeled`` sample's ground truth is the teacher's prediction
    on the batch scoring >= pseudo_label_thr; labeled samples keep theirs; two copies of one teacher at 0.5 / 0.5
    give the single teacher's pseudo labels (NMS merges the duplicates)."""
    cfg = kd_cfg()
    cfg.pseudo_label_thr = 0.0  # a random teacher scores low; keep whatever it detects
    torch.manual_seed(0)  # the same random state builds the same random teachers
    single = build(cfg)
    torch.manual_seed(0)
    double = build(dict(_ensemble_cfg([_teacher(weight=0.5), _teacher(weight=0.5)]), pseudo_label_thr=0.0))
    inputs, samples = batch(single)
    samples[1].set_metainfo(dict(unlabeled=True))
    with torch.no_grad():
        expected = single.teacher.predict(inputs[1:], [samples[1].clone()], rescale=False)[0].pred_instances
    out = single.distiller.step(inputs, samples, 1.0).samples
    assert out[0] is samples[0]
    assert len(expected) > 0 and torch.equal(out[1].gt_instances.bboxes, expected.bboxes)
    assert torch.equal(out[1].gt_instances.labels, expected.labels)
    merged = double.distiller.step(inputs, samples, 1.0).samples[1].gt_instances
    order = lambda boxes: boxes[torch.argsort(boxes[:, 0] * 1e4 + boxes[:, 1])]  # noqa: E731
    assert torch.allclose(order(merged.bboxes), order(expected.bboxes))
    single.pseudo_label_thr = 1.0
    assert len(single.distiller.step(inputs, samples, 1.0).samples[1].gt_instances) == 0
    single.train()
    losses = single.loss(inputs, samples)  # a step with the unlabeled sample trains
    assert all(torch.isfinite(losses[key]) for key in LOSS_KEYS)
