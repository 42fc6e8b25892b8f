"""Bad distillation settings fail when the model is built, with a message naming the setting.

Each case used to train to the end with exit code 0 and save a NaN, inverted or differently configured
model (a negative hint weight maximises the hint error; ``margin=nan`` never fires the bounded term; a
misspelled ``aling`` trained with the default alignment).
"""
import math
import re

import pytest
import torch
from mmdet.registry import HOOKS, MODELS

import det_kd  # noqa: F401
from det_kd.utils.settings import check_number
from kd_fixtures import build, kd_cfg, teacher_cfg

NAN = float('nan')

# (distill overrides, exception, words the message must contain)
BAD_DISTILL = {
    'T nan': (dict(rcn_cls=dict(T=NAN)), ValueError, ['distill.rcn_cls', 'temperature T', 'nan']),
    'T zero': (dict(rpn_cls=dict(T=0.0)), ValueError, ['distill.rpn_cls', 'temperature T', '> 0']),
    'hint weight negative': (dict(loss_hint=dict(loss_weight=-1.0)), ValueError,
                             ['distill.loss_hint', 'loss_weight', '>= 0', '-1.0']),
    'hint weight nan': (dict(loss_hint=dict(loss_weight=NAN)), ValueError, ['distill.loss_hint', 'loss_weight']),
    'hint weight inf': (dict(loss_hint=dict(loss_weight=float('inf'))), ValueError, ['loss_weight', 'inf']),
    'nu negative': (dict(rcn_reg=dict(nu=-1.0)), ValueError, ['distill.rcn_reg', 'nu', '-1.0']),
    'nu nan': (dict(rpn_reg=dict(nu=NAN)), ValueError, ['distill.rpn_reg', 'nu']),
    'bg_weight negative': (dict(rcn_cls=dict(bg_weight=-5)), ValueError, ['distill.rcn_cls', 'bg_weight', '> 0']),
    'margin nan': (dict(rcn_reg=dict(margin=NAN)), ValueError, ['distill.rcn_reg', 'margin']),
    'margin negative': (dict(rpn_reg=dict(margin=-0.1)), ValueError, ['distill.rpn_reg', 'margin']),
    'mu above 1': (dict(rcn_cls=dict(mu=1.5)), ValueError, ['distill.rcn_cls', 'mu', '[0, 1]']),
    'mu a string': (dict(rcn_cls=dict(mu='0.5')), TypeError, ['distill.rcn_cls', 'mu', "'0.5'", 'str']),
    'mu a bool': (dict(rpn_cls=dict(mu=True)), TypeError, ['distill.rpn_cls', 'mu', 'bool']),
    'loss not a dict': (dict(rcn_cls=0.5), TypeError, ['distill.rcn_cls', 'loss config dict']),
    'probe size zero': (dict(probe_size=0), ValueError, ['distill.probe_size', '[16, 4096]']),
    'probe size float': (dict(probe_size=64.5), TypeError, ['distill.probe_size', 'integer']),
    'hint key misspelled': (dict(hints=[dict(student=0, teacher=0, adapter='none', aling='strict')]), KeyError,
                            ['distill.hints[0]', "unknown keys ['aling']", 'align']),
    'hint student misspelled': (dict(hints=[dict(studnet=0, teacher=0)]), KeyError,
                                ['distill.hints[0]', "['studnet']"]),
    'hint student missing': (dict(hints=[dict(teacher=0)]), KeyError, ['distill.hints[0]', "missing ['student']"]),
    'hints a dict': (dict(hints=dict(student=0, teacher=0)), TypeError, ['distill.hints', 'must be a list', 'dict']),
    'hint pair a tuple': (dict(hints=[(0, 0)]), TypeError, ['distill.hints[0]', 'must be a dict']),
    'hints empty with hint loss': (dict(hints=[]), ValueError, ['distill.hints', 'empty', 'loss_hint']),
    'hint layer a float': (dict(hints=[dict(student=0.0, teacher=0)]), TypeError, ['distill.hints[0].student']),
    'hint adapter unknown': (dict(hints=[dict(student=0, teacher=0, adapter='conv5x5')]), ValueError,
                             ['distill.hints[0].adapter', 'conv5x5', 'conv1x1']),
}


@pytest.mark.parametrize('case', sorted(BAD_DISTILL))
def test_bad_distill_setting_is_refused_naming_it(case):
    distill, error, words = BAD_DISTILL[case]
    with pytest.raises(error) as raised:
        build(kd_cfg(distill=distill))
    message = str(raised.value)
    for word in words:
        assert word in message, (case, message)


def test_good_edge_values_build():
    """The boundaries themselves are valid: mu 0 and 1, weights 0, no hints without a hint loss."""
    build(kd_cfg(distill=dict(rcn_cls=dict(mu=0.0), rpn_cls=dict(mu=1.0), rcn_reg=dict(nu=0.0, margin=0.0),
                              loss_hint=dict(loss_weight=0.0))))
    model = build(kd_cfg(distill=dict(hints=[], loss_hint=None)))
    assert 'hint' not in model.distill_terms


@pytest.mark.parametrize('key,value,error', [('input_scale', NAN, ValueError), ('input_scale', 0.0, ValueError),
                                             ('input_scale', '2', TypeError)])
def test_bad_teacher_input_scale_is_refused_naming_it(key, value, error):
    with pytest.raises(error, match=re.escape(f'KDFasterRCNN.teacher.{key}')):
        build(kd_cfg(**{key: value}))


def test_teacher_checkpoint_with_non_finite_weights_names_the_tensors(tmp_path):
    teacher = MODELS.build(teacher_cfg())
    state = teacher.state_dict()
    first, second = [key for key, value in state.items() if value.is_floating_point()][:2]
    state[first].view(-1)[:3] = NAN
    state[second].view(-1)[0] = float('inf')
    path = str(tmp_path / 'nan_teacher.pth')
    torch.save({'state_dict': state, 'meta': {}}, path)
    with pytest.raises(ValueError) as raised:
        build(kd_cfg(teacher_checkpoint=path))
    message = str(raised.value)
    assert 'nan_teacher.pth' in message and 'non-finite' in message and '2 tensor(s)' in message
    assert f'{first} (3 of ' in message and f'{second} (1 of ' in message


@pytest.mark.parametrize('settings,words', [
    (dict(min_scale=5), ['min_scale', '[0, 1]', '5']),
    (dict(min_scale=NAN), ['min_scale']),
    (dict(warmup_iters=-3), ['warmup_iters', '>= 0']),
    (dict(warmup_iters=2.5), ['warmup_iters', 'integer']),
    (dict(stop_iter=-1), ['stop_iter']),
    (dict(stop_epoch=1.5), ['stop_epoch', 'integer']),
])
def test_bad_schedule_setting_is_refused_naming_it(settings, words):
    with pytest.raises((TypeError, ValueError)) as raised:
        HOOKS.build(dict(type='DistillationScheduleHook', **settings))
    for word in words:
        assert word in str(raised.value), str(raised.value)


def test_bad_diagnostics_interval_is_refused():
    with pytest.raises(ValueError, match='DistillationDiagnosticsHook.interval'):
        HOOKS.build(dict(type='DistillationDiagnosticsHook', interval=0))


def test_check_number_ranges_and_types():
    assert check_number(0, 'x', 0.0) == 0
    assert check_number(1.0, 'x', 0.0, 1.0) == 1.0
    assert math.isclose(check_number(0.5, 'x', 0.0, 1.0, low_open=True, high_open=True), 0.5)
    for value, error in ((0.0, ValueError), (1.0, ValueError), (NAN, ValueError), (None, TypeError),
                         ('0.5', TypeError), (False, TypeError)):
        with pytest.raises(error, match=r'^x must be a number in \(0, 1\), got '):
            check_number(value, 'x', 0.0, 1.0, low_open=True, high_open=True)
    with pytest.raises(TypeError, match='y must be an integer >= 1, got 2.0'):
        check_number(2.0, 'y', 1, integer=True)
