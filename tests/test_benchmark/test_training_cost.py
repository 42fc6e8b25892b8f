"""Config plumbing and the overhead arithmetic of the training-cost benchmark (no model is trained)."""
import pytest
from mmengine.config import Config, ConfigDict

from det_kd.benchmark.training_cost import (STEPS, TEACHER_FORWARD_SECTION, distiller_model_config,
                                            find_train_pipeline, overhead_breakdown, overhead_ratios,
                                            set_train_input_size, student_model_config, timed_sections,
                                            train_input_size)


def test_pipeline_through_wrapper_datasets():
    pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(1000, 600), keep_ratio=True)]
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='RepeatDataset',
                    dataset=dict(type='ConcatDataset', datasets=[dict(type='VOCDataset', pipeline=pipeline)
                                                                 ])))))
    found = find_train_pipeline(cfg)
    assert train_input_size(found) == (600, 1000)
    set_train_input_size(found, 240, 320)
    assert train_input_size(find_train_pipeline(cfg)) == (240, 320)
    with pytest.raises(KeyError, match='pipeline'):
        find_train_pipeline(Config(dict(train_dataloader=dict(dataset=dict(type='X')))))


def test_student_and_distiller_configs():
    kd_model = ConfigDict(
        type='KDFasterRCNN',
        backbone=dict(type='B'),
        teacher=dict(config='t.py', checkpoint='t.pth'),
        distill=dict(rpn_cls=None))
    student = student_model_config(kd_model)
    assert student == dict(type='FasterRCNN', backbone=dict(type='B'))
    distiller = distiller_model_config(kd_model, student, ConfigDict(type='T'), random_teacher=True)
    assert distiller.type == 'KDFasterRCNN' and distiller.backbone == dict(type='B')
    assert distiller.teacher == dict(config=dict(type='T'), checkpoint=None, allow_random_init=True)
    assert distiller.distill == dict(rpn_cls=None)
    assert kd_model.teacher.checkpoint == 't.pth'  # inputs untouched


def test_overhead_split_adds_up():
    loss, update = 'forward + losses (loss)', 'backward + optimizer step (update_params)'
    student = {'total': 100.0, 'data preprocessor': 2.0, loss: 60.0, update: 38.0}
    teacher = {'total': 50.0, TEACHER_FORWARD_SECTION: 50.0}
    distill = {
        'total': 170.0,
        'data preprocessor': 2.0,
        loss: 126.0,
        update: 40.0,
        TEACHER_FORWARD_SECTION: 52.0,
        '  term hint (HintTerm)': 5.0,
        '  term rpn_cls (RPNSoftClassTerm)': 2.0,
        '  term rpn_reg (RPNBoundedRegressionTerm)': 1.0,
        '  term rcn_cls (RCNSoftClassTerm)': 2.0
    }
    parts = overhead_breakdown(dict(zip(STEPS, (student, teacher, distill))))
    assert parts['total'] == pytest.approx(20.0)
    assert parts['teacher forward'] == pytest.approx(2.0)
    assert parts['distillation terms'] == pytest.approx(10.0)
    assert parts['student forward + losses'] == pytest.approx(126 - 52 - 10 - 60)
    assert parts['backward + optimizer step'] == pytest.approx(2.0)
    assert sum(v for k, v in parts.items() if k != 'total') == pytest.approx(parts['total'])


def test_overhead_ratios():
    times = dict(zip(STEPS, ([1.0, 1.0, 4.0], [0.5, 0.5, 0.5], [1.5, 1.65, 2.0])))
    ratios = overhead_ratios(times)
    assert ratios['median'] == pytest.approx(1.65 / 1.5)
    assert ratios['mean'] == pytest.approx((5.15 / 3) / (6 / 3 + 0.5))
    assert ratios['paired'] == pytest.approx(1.0)  # median of 1.0, 1.1, 0.444
    assert ratios['kd_over_student'] == pytest.approx(1.65) and 'cached_kd_over_student' not in ratios
    times['cached_distillation_step'] = [1.2, 1.1, 2.0]
    ratios = overhead_ratios(times)
    assert ratios['cached_kd_over_student'] == pytest.approx(1.2)
    assert ratios['cached_kd_over_student_paired'] == pytest.approx(1.1)  # median of 1.2, 1.1, 0.5


def test_timed_sections_restore_attributes():

    class Thing:

        def work(self, x):
            return x + 1

    thing = Thing()
    with timed_sections({'work': (thing, 'work')}) as calls:
        assert thing.work(1) == 2
        assert thing.work(2) == 3
    assert len(calls['work']) == 2 and all(seconds >= 0 for seconds in calls['work'])
    assert 'work' not in vars(thing)  # the class's method is back
