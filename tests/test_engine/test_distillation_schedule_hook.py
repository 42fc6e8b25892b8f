"""The distillation-weight schedule is a pure function of the iteration, so resume reproduces it."""
import math
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub

from det_kd.engine import DistillationScheduleHook, distillation_scale


def test_warmup_then_constant():
    values = [distillation_scale(i, 100, warmup_iters=4) for i in range(6)]
    assert values == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def test_linear_and_cosine_decay_reach_min_scale():
    assert distillation_scale(0, 11, decay='linear') == pytest.approx(1.0)
    assert distillation_scale(5, 11, decay='linear') == pytest.approx(1 - 5 / 11)
    assert distillation_scale(11, 11, decay='linear', min_scale=0.2) == pytest.approx(0.2)
    assert distillation_scale(5, 10, decay='cosine') == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert distillation_scale(12, 12, warmup_iters=2, decay="cosine") == pytest.approx(0.0, abs=1e-12)
    assert distillation_scale(7, 12, warmup_iters=2, decay="cosine") == pytest.approx(0.5)


def test_early_stop_switches_distillation_off():
    assert distillation_scale(49, 100, stop_iter=50) == 1.0
    assert distillation_scale(50, 100, stop_iter=50) == 0.0
    assert distillation_scale(25, 100, decay='linear', stop_iter=50) == pytest.approx(0.5)


def test_bad_arguments_fail_at_build():
    with pytest.raises(ValueError, match='decay must be'):
        DistillationScheduleHook(decay='step')
    with pytest.raises(ValueError, match='not both stop_iter and stop_epoch'):
        DistillationScheduleHook(stop_iter=3, stop_epoch=1)
    with pytest.raises(ValueError, match='not both stop_epoch and stop_fraction'):
        DistillationScheduleHook(stop_epoch=1, stop_fraction=0.5)
    with pytest.raises(ValueError, match=r'stop_fraction must be a number in \(0'):
        DistillationScheduleHook(stop_fraction=0)
    with pytest.raises(ValueError, match='stop_fraction'):
        DistillationScheduleHook(stop_fraction=1.5)


def fake_runner(iteration, model):
    return SimpleNamespace(iter=iteration, max_iters=20, model=model, train_dataloader=[0] * 5,
                           message_hub=MessageHub.get_instance('schedule_test'))


def test_hook_sets_scale_from_runner_iteration_after_resume():
    model = SimpleNamespace(distill_scale=1.0)
    hook = DistillationScheduleHook(warmup_iters=2, decay='linear', stop_epoch=3)
    hook.before_train(fake_runner(0, model))
    assert hook.stop_iter == 15
    uninterrupted = []
    for i in range(20):
        hook.before_train_iter(fake_runner(i, model), i)
        uninterrupted.append(model.distill_scale)
    resumed_hook = DistillationScheduleHook(warmup_iters=2, decay='linear', stop_epoch=3)
    resumed_hook.before_train(fake_runner(10, model))
    resumed = []
    for i in range(10, 20):
        resumed_hook.before_train_iter(fake_runner(i, model), i)
        resumed.append(model.distill_scale)
    assert resumed == uninterrupted[10:]
    assert uninterrupted[15:] == [0.0] * 5 and uninterrupted[0] == 0.5


def test_hook_rejects_a_plain_detector():
    with pytest.raises(TypeError, match='needs a distillation detector'):
        DistillationScheduleHook().before_train(fake_runner(0, SimpleNamespace()))


def test_stop_fraction_stops_distillation_after_that_share_of_the_iterations():
    model = SimpleNamespace(distill_scale=1.0)
    for fraction, stop in ((0.25, 5), (0.5, 10), (0.33, 7), (1.0, 20)):  # the fake runner trains 20 iterations
        hook = DistillationScheduleHook(stop_fraction=fraction)
        hook.before_train(fake_runner(0, model))
        scales = []
        for i in range(20):
            hook.before_train_iter(fake_runner(i, model), i)
            scales.append(model.distill_scale)
        assert scales == [1.0] * stop + [0.0] * (20 - stop)
