"""Distillation diagnostics: each quantity against an independent computation, no effect on the step, the
warnings on a bad teacher, and the hook's log / json in a real MMEngine run."""
import contextlib
import copy
import json
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

import det_kd  # noqa: F401
from det_kd.engine import DistillationDiagnosticsHook
from det_kd.engine.hooks import distillation_diagnostics_hook
from det_kd.models.distillation import DistillationProbe, MethodCallRecorder, diagnostic_warnings
from det_kd.models.distillation.diagnostics import hint_fit
from kd_fixtures import NUM_CLASSES, batch, build, kd_cfg

DISTILL_KEYS = ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_bbox', 'loss_rcn_kd_cls', 'loss_rcn_kd_bbox')


def _scalar(value):
    return sum(value) if isinstance(value, list) else value


def _grad_norm(params):
    return math.sqrt(sum(float((p.grad.double()**2).sum()) for p in params if p.grad is not None))


def _measured_step(model, inputs, samples):
    """One loss() call under a probe, with recorders of what the independent computations need."""
    with DistillationProbe(model) as probe, \
            MethodCallRecorder(model.rpn_head, 'get_targets') as rpn_targets, \
            MethodCallRecorder(model.roi_head.bbox_head, 'loss_and_target') as rcn_call, \
            MethodCallRecorder(model.teacher.roi_head, '_bbox_forward') as teacher_rcn, \
            MethodCallRecorder(model.distill_terms['hint'].loss, 'forward') as hint_call:
        losses = model.loss(inputs, samples)
    return losses, probe.result, SimpleNamespace(rpn_targets=rpn_targets.result, rcn_call=rcn_call,
                                                 teacher_rcn=teacher_rcn.result, hint_args=hint_call.args,
                                                 hint_kwargs=hint_call.kwargs)


@pytest.fixture(scope='module')
def measured():
    torch.manual_seed(0)
    model = build(kd_cfg(distill=dict(rpn_reg=dict(margin=0.05), rcn_reg=dict(margin=0.05))))
    model.train()
    inputs, samples = batch(model)
    losses, result, rec = _measured_step(model, inputs, samples)
    return SimpleNamespace(model=model, inputs=inputs, losses=losses, result=result, rec=rec)


def test_gradient_norms_match_backward_per_term_and_their_sum_is_the_total(measured):
    model, losses, result = measured.model, measured.losses, measured.result
    heads = [p for m in (model.rpn_head, model.roi_head) for p in m.parameters() if p.requires_grad]
    groups = {'backbone': [p for p in model.backbone.parameters() if p.requires_grad], 'heads': heads}
    terms = {'hard': sum(_scalar(v) for k, v in losses.items() if 'loss' in k and k not in DISTILL_KEYS)}
    terms.update({key[len('loss_'):]: losses[key] for key in DISTILL_KEYS})
    summed = {name: [torch.zeros_like(p) for p in params] for name, params in groups.items()}
    for term, value in terms.items():
        model.zero_grad()
        value.backward(retain_graph=True)
        for group, params in groups.items():
            expected = _grad_norm(params)
            assert result[f'grad/{term}/{group}_norm'] == pytest.approx(expected, rel=1e-5, abs=1e-12)
            for acc, p in zip(summed[group], params):
                if p.grad is not None:
                    acc += p.grad
    assert result['grad/hint/heads_norm'] == 0.0  # the hint reaches the backbone only
    model.zero_grad()
    total, _ = model.parse_losses(losses)
    total.backward()
    for group, params in groups.items():
        norm = _grad_norm(params)
        assert norm > 0
        summed_norm = math.sqrt(sum(float((g.double()**2).sum()) for g in summed[group]))
        assert summed_norm == pytest.approx(norm, rel=1e-5)
        assert result[f'grad/total/{group}_norm'] == pytest.approx(norm, rel=1e-5)
        for term in terms:
            share = result[f'grad/{term}/{group}_norm'] / result[f'grad/total/{group}_norm']
            assert result[f'grad/{term}/{group}_share'] == pytest.approx(share)
    model.zero_grad()


def test_rcn_accuracy_and_correct_probability_match_a_direct_softmax(measured):
    result, rec = measured.result, measured.rec
    labels, weights = rec.rcn_call.result['bbox_targets'][:2]
    scores = (('student', rec.rcn_call.kwargs['cls_score']), ('teacher', rec.teacher_rcn['cls_score']))
    for who, logits in scores:
        pos, neg = [], []
        for row, label, weight in zip(logits.tolist(), labels.tolist(), weights.tolist()):
            exps = [math.exp(z - max(row)) for z in row]
            probs = [e / sum(exps) for e in exps]
            (pos if label < NUM_CLASSES else neg).append((probs, label))
            assert weight > 0
        assert pos and neg
        assert result[f'rcn/{who}/pos_acc'] == pytest.approx(
            sum(max(range(len(p)), key=p.__getitem__) == y for p, y in pos) / len(pos))
        assert result[f'rcn/{who}/pos_correct_prob'] == pytest.approx(sum(p[y] for p, y in pos) / len(pos))
        assert result[f'rcn/{who}/neg_acc'] == pytest.approx(
            sum(max(range(len(p)), key=p.__getitem__) == NUM_CLASSES for p, _ in neg) / len(neg))
        neg_bg = sum(p[NUM_CLASSES] for p, _ in neg) / len(neg)
        assert result[f'rcn/{who}/neg_bg_prob'] == pytest.approx(neg_bg)
    assert result['rcn/pos_count'] == len(pos) and result['rcn/neg_count'] == len(neg)


def _recomputed_rpn(model, inputs):
    with torch.no_grad():
        student = model.rpn_head(model.extract_feat(inputs))
        teacher = model.teacher.rpn_head(model.teacher.extract_feat(inputs))
    return student, teacher


def test_rpn_foreground_probability_matches_recomputed_outputs(measured):
    model, result = measured.model, measured.result
    (s_cls, _), (t_cls, _) = _recomputed_rpn(model, measured.inputs)
    labels, label_weights = measured.rec.rpn_targets[:2]
    sampled = label_weights[0].reshape(-1) > 0
    positive = sampled & (labels[0].reshape(-1) == 0)
    for who, cls in (('student', s_cls), ('teacher', t_cls)):
        logits = cls[0].permute(0, 2, 3, 1).reshape(-1)
        fg = [1 / (1 + math.exp(-z)) for z in logits[positive].tolist()]
        bg = [1 - 1 / (1 + math.exp(-z)) for z in logits[sampled & ~positive].tolist()]
        assert result[f'rpn/{who}/pos_fg_prob'] == pytest.approx(sum(fg) / len(fg), rel=1e-5)
        assert result[f'rpn/{who}/neg_bg_prob'] == pytest.approx(sum(bg) / len(bg), rel=1e-5)
    assert result['rpn/pos_count'] == int(positive.sum())


def _hand_gate(student_rows, teacher_rows, target_rows, margin):
    active = 0
    for s_row, t_row, y_row in zip(student_rows, teacher_rows, target_rows):
        s_err = sum((a - b)**2 for a, b in zip(s_row, y_row))
        t_err = sum((a - b)**2 for a, b in zip(t_row, y_row))
        active += s_err + margin > t_err
    return active, len(target_rows)


def test_gate_rates_match_a_hand_count_from_the_deltas(measured):
    model, result, rec = measured.model, measured.result, measured.rec
    # RCN: the ground-truth class's deltas of the student's positive RoIs.
    labels, _, targets, _ = rec.rcn_call.result['bbox_targets']
    s_reg, t_reg = rec.rcn_call.kwargs['bbox_pred'], rec.teacher_rcn['bbox_pred']
    rows = [(s_reg[i, 4 * c:4 * c + 4].tolist(), t_reg[i, 4 * c:4 * c + 4].tolist(), targets[i].tolist())
            for i, c in enumerate(labels.tolist()) if c < NUM_CLASSES]
    active, count = _hand_gate(*zip(*rows), margin=0.05)
    assert 0 < active < count  # the tiny batch has both cases
    assert result['gate/rcn_count'] == count and result['gate/rcn_rate'] == pytest.approx(active / count)
    # RPN: recomputed deltas of the positive anchors.
    (_, s_rpn_reg), (_, t_rpn_reg) = _recomputed_rpn(model, measured.inputs)
    _, _, rpn_targets, rpn_weights, _ = rec.rpn_targets
    pos = rpn_weights[0].reshape(-1, 4)[:, 0] > 0
    flat = [reg[0].permute(0, 2, 3, 1).reshape(-1, 4)[pos].tolist() for reg in (s_rpn_reg, t_rpn_reg)]
    active, count = _hand_gate(*flat, rpn_targets[0].reshape(-1, 4)[pos].tolist(), margin=0.05)
    assert count > 0
    assert result['gate/rpn_count'] == count and result['gate/rpn_rate'] == pytest.approx(active / count)


def test_hint_fit_matches_the_direct_formula(measured):
    adapted, teacher = (t.detach().double() for t in measured.rec.hint_args[:2])
    assert measured.rec.hint_kwargs.get('mask') is None  # align='pad': every element
    expected = 1 - float(((adapted - teacher)**2).mean()) / float(((teacher - teacher.mean())**2).mean())
    assert measured.result['hint/0/fit'] == pytest.approx(expected, rel=1e-6)
    target = torch.randn(2, 4, 5, 6, generator=torch.Generator().manual_seed(0))
    assert hint_fit(target, target) == 1.0
    assert hint_fit(torch.full_like(target, float(target.mean())), target) == pytest.approx(0.0, abs=1e-12)
    assert hint_fit(target + 0.5 * torch.randn_like(target), target) == pytest.approx(
        1 - 0.25 / float(target.var(unbiased=False)), abs=0.1)
    mask = torch.zeros(2, 1, 5, 6, dtype=torch.bool)
    mask[:, :, 1:4, 2:] = True  # a masked hint loss (align='centre') compares these cells only
    student = torch.where(mask, target, torch.zeros_like(target))
    assert hint_fit(student, target, mask) == 1.0 and hint_fit(student, target) < 1.0
    kept = target[mask.expand_as(target)]
    noisy = target + 0.3
    assert hint_fit(noisy, target, mask) == pytest.approx(1 - 0.09 / float(kept.var(unbiased=False)))


def test_measuring_changes_neither_losses_nor_gradients_nor_the_random_stream():
    model = build(kd_cfg())
    model.train()
    inputs, samples = batch(model)

    def step(measure):
        torch.manual_seed(1)
        model.zero_grad()
        with DistillationProbe(model) if measure else contextlib.nullcontext() as probe:
            losses = model.loss(inputs, copy.deepcopy(samples))
        loss, log_vars = model.parse_losses(losses)
        loss.backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
        return probe, log_vars, grads, torch.get_rng_state()

    probe, measured_logs, measured_grads, measured_rng = step(True)
    _, plain_logs, plain_grads, plain_rng = step(False)
    assert probe.result and model.diagnostics_probe is None
    assert not any(h for m in model.modules() for h in m._forward_hooks.values())  # the probe's are gone
    assert measured_logs == plain_logs
    assert measured_grads.keys() == plain_grads.keys()
    for name, grad in plain_grads.items():
        assert torch.equal(measured_grads[name], grad), name
    assert torch.equal(measured_rng, plain_rng)


def test_switched_off_distillation_records_nothing():
    model = build(kd_cfg())
    model.train()
    model.distill_scale = 0.0
    with DistillationProbe(model) as probe:
        model.loss(*batch(model))
    assert probe.result is None


def test_hook_and_probe_reject_a_plain_detector(tmp_path):
    with pytest.raises(TypeError, match='needs a distillation detector'):
        DistillationDiagnosticsHook().before_train(fake_runner(torch.nn.Linear(1, 1), tmp_path))
    with pytest.raises(TypeError, match='needs a distillation detector'):
        DistillationProbe(torch.nn.Linear(1, 1))
    with pytest.raises(ValueError, match='interval'):
        DistillationDiagnosticsHook(interval=0)


def fake_runner(model, work_dir, iteration=0):
    return SimpleNamespace(iter=iteration, max_iters=10, model=model, work_dir=str(work_dir), visualizer=None,
                           message_hub=MessageHub.get_instance('distillation_diagnostics_test'))


def test_hook_warns_about_a_bad_teacher_and_writes_the_json(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr(distillation_diagnostics_hook, 'print_log',
                        lambda msg, logger=None, level=None: logged.append((level, msg)))
    # A random teacher that calls every RoI background; an RPN bbox term with no weight; an RCN bound
    # that never opens (margin -1e6: not a valid setting, so set after the build).
    model = build(kd_cfg(distill=dict(rpn_reg=dict(nu=1e-7))))
    model.distill_terms['rcn_reg'].loss.margin = -1e6
    with torch.no_grad():
        model.teacher.roi_head.bbox_head.fc_cls.bias[-1] = 20.0
    model.train()
    inputs, samples = batch(model)
    runner = fake_runner(model, tmp_path)
    hook = DistillationDiagnosticsHook(interval=2, warmup_iters=0, min_samples=1)
    hook.before_train(runner)
    for iteration in range(3):
        runner.iter = iteration
        hook.before_train_iter(runner, iteration)
        loss, _ = model.parse_losses(model.loss(inputs, copy.deepcopy(samples)))
        loss.backward()
        hook.after_train_iter(runner, iteration)
    hook.after_train(runner)

    assert [m['iter'] for m in hook.measurements] == [1, 2]  # the first iteration, then every 2
    fired = {w['key'] for w in hook.warnings if w['iter'] == 1}
    assert {'teacher/rcn', 'hint/0', 'share/rpn_kd_bbox', 'gate/rcn_low'} <= fired
    warning_lines = [msg for level, msg in logged if level is not None]
    assert any('the teacher is no better than the student on positive RoIs' in msg for msg in warning_lines)
    assert any('hint fit of pair 0' in msg for msg in warning_lines)
    assert any('loss_rpn_kd_bbox carries' in msg and 'almost no effect' in msg for msg in warning_lines)
    firings = [m for m in warning_lines if m.startswith('distillation diagnostics: the teacher is no better')]
    assert len(firings) == 1  # logged when it fires, not again while it stays active
    assert any(m.startswith('distillation diagnostics, active at the last') for m in warning_lines)
    assert runner.message_hub.get_scalar('diag/rcn/teacher/pos_correct_prob').current() < 0.01
    assert any('over 2 measurements' in msg for _, msg in logged)

    saved = json.load(open(tmp_path / 'distillation_diagnostics.json'))
    assert len(saved['measurements']) == 2 and saved['interval'] == 2
    assert saved['summary']['rcn/teacher/pos_correct_prob']['count'] == 2
    assert {w['key'] for w in saved['warnings']} >= fired

    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    resumed = DistillationDiagnosticsHook(interval=2)
    resumed.after_load_checkpoint(runner, checkpoint)
    resumed.before_train(fake_runner(model, tmp_path, iteration=1))
    assert [m['iter'] for m in resumed.measurements] == [1]  # what the run had measured in its 1 iteration


def test_warning_rules_on_hand_made_measurements():
    good = {'rcn/teacher/pos_correct_prob': 0.8, 'rcn/student/pos_correct_prob': 0.3, 'rcn/pos_count': 30,
            'hint/0/fit': 0.05, 'gate/rpn_rate': 0.99, 'gate/rpn_count': 50, 'gate/rcn_rate': 0.5,
            'gate/rcn_count': 50, 'grad/hint/backbone_share': 0.2}
    assert diagnostic_warnings(good, iteration=10, warmup_iters=100) == {}  # fit and gate judged later
    later = diagnostic_warnings(good, iteration=100, warmup_iters=100)
    assert set(later) == {'hint/0', 'gate/rpn_high'}
    assert 'after 100 iterations' in later['hint/0']
    bad = dict(good, **{'rcn/teacher/pos_correct_prob': 0.15, 'grad/rcn_kd_cls/backbone_share': 0.005,
                        'gate/rcn_rate': 0.0})
    warnings = diagnostic_warnings(bad, iteration=0)
    assert set(warnings) == {'teacher/rcn', 'share/rcn_kd_cls', 'gate/rcn_low'}
    assert '(teacher correct-class p 0.15 vs student 0.30)' in warnings['teacher/rcn']
    assert 'less than 1%' in warnings['share/rcn_kd_cls']
    few = dict(bad, **{'rcn/pos_count': 3, 'gate/rcn_count': 3})  # 3 positive RoIs say little
    assert set(diagnostic_warnings(few, iteration=0)) == {'share/rcn_kd_cls'}


def test_hook_writes_the_json_at_the_end_of_a_real_runner_training(tmp_path):
    from mmdet.testing import demo_mm_inputs
    from mmengine.dataset import pseudo_collate
    from mmengine.runner import Runner

    torch.manual_seed(0)
    data = demo_mm_inputs(batch_size=4, image_shapes=[(3, 96, 128)] * 4, num_items=[2] * 4,
                          num_classes=NUM_CLASSES)
    items = [{'inputs': data['inputs'][i], 'data_samples': data['data_samples'][i]} for i in range(4)]
    loader = torch.utils.data.DataLoader(items, batch_size=2,
                                         collate_fn=lambda b: pseudo_collate(copy.deepcopy(b)))
    runner = Runner(
        model=kd_cfg(), work_dir=str(tmp_path), train_dataloader=loader,
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=3),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.001, momentum=0.9)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)),
        custom_hooks=[dict(type='DistillationScheduleHook'),
                      dict(type='DistillationDiagnosticsHook', interval=2)],
        default_scope='mmdet', experiment_name='distillation_diagnostics_runner_test', log_level='INFO')
    runner.train()

    saved = json.load(open(tmp_path / 'distillation_diagnostics.json'))
    assert [m['iter'] for m in saved['measurements']] == [1, 2]
    assert {'grad/total/backbone_norm', 'rcn/teacher/pos_correct_prob', 'gate/rcn_rate', 'hint/0/fit'} <= set(
        saved['summary'])
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert 'distillation diagnostics (iter 1): backbone grad share hard' in log
    assert 'distillation diagnostics over 2 measurements' in log
    scalars = [json.loads(line) for line in open(osp.join(runner.log_dir, 'vis_data', 'scalars.json'))]
    assert any('diag/gate/rcn_rate' in row and row['step'] == 2 for row in scalars)
    checkpoint = torch.load(tmp_path / 'iter_2.pth', map_location='cpu', weights_only=True)
    assert len(checkpoint['distillation_diagnostics']['measurements']) == 2
