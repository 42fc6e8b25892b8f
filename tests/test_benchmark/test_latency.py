"""The latency harness with a fake clock: warm-up exclusion, FPS, interleaving, CUDA synchronisation."""
import contextlib
from unittest import mock

import pytest
import torch
from torch import nn

from det_kd.benchmark.latency import (LatencySummary, device_synchronizer, make_test_step, precision_context,
                                      speedups, synthetic_test_batch, time_interleaved, timed_call)


class FakeClock:
    """A clock that only moves when a fake model runs; logs every event."""

    def __init__(self):
        self.now = 0.0
        self.events = []

    def __call__(self):
        self.events.append('clock')
        return self.now

    def model(self, name, durations):
        """A fake model call that takes ``durations[i]`` seconds on its i-th call."""
        calls = iter(durations)

        def run():
            self.events.append(name)
            self.now += next(calls)

        return run


def test_warmup_excluded_and_fps():
    clock = FakeClock()
    durations = [100.0, 50.0, 1.0, 2.0, 3.0, 4.0]  # two slow warm-up calls, then four timed ones
    times = time_interleaved({'m': clock.model('m', durations)},
                             warmup=2,
                             runs=4,
                             clock=clock,
                             progress=False)
    assert times == {'m': [1.0, 2.0, 3.0, 4.0]}
    summary = LatencySummary.from_times(times['m'])
    n, warmup = len(durations), 2
    assert summary.fps == pytest.approx((n - warmup) / sum(durations[warmup:]))
    assert summary.mean_ms == pytest.approx(1e3 / summary.fps)
    assert summary.runs == 4


def test_models_interleaved_round_robin():
    clock = FakeClock()
    fns = {name: clock.model(name, [1.0] * 3) for name in ('teacher', 'student', 'tiny')}
    time_interleaved(fns, warmup=1, runs=2, clock=clock, progress=False)
    calls = [event for event in clock.events if event != 'clock']
    assert calls == ['teacher', 'student', 'tiny'] * 3


def test_percentile_math():
    summary = LatencySummary.from_times([float(s) for s in range(1, 11)])  # 1..10 s
    assert summary.median_ms == pytest.approx(5500.0)
    assert summary.p90_ms == pytest.approx(9100.0)  # linear interpolation: 9 + 0.1 * (10 - 9)
    assert summary.p10_ms == pytest.approx(1900.0)  # 1 + 0.9 * (2 - 1)
    assert summary.mean_ms == pytest.approx(5500.0)
    assert summary.fps == pytest.approx(10 / 55)
    one = LatencySummary.from_times([2.0])
    assert one.p10_ms == one.median_ms == one.p90_ms == pytest.approx(2000.0)
    with pytest.raises(ValueError, match='no timed runs'):
        LatencySummary.from_times([])


def test_synchronize_before_each_timestamp_on_cuda():
    clock = FakeClock()
    with mock.patch('torch.cuda.synchronize', side_effect=lambda *a: clock.events.append('sync')) as sync:
        synchronize = device_synchronizer('cuda:0')
        time_interleaved({'m': clock.model('m', [1.0, 1.0])},
                         warmup=1,
                         runs=1,
                         clock=clock,
                         synchronize=synchronize,
                         progress=False)
    assert clock.events == ['sync', 'clock', 'm', 'sync', 'clock'] * 2
    assert all(call.args[0].type == 'cuda' for call in sync.call_args_list)


def test_cpu_has_no_synchronize():
    assert device_synchronizer('cpu') is None
    with pytest.raises(ValueError, match='unsupported device'):
        device_synchronizer('meta')


def test_timed_call_and_speedups():
    clock = FakeClock()
    assert timed_call(clock.model('m', [0.25]), clock) == 0.25
    ratios = speedups({'teacher': [4.0, 8.0, 6.0], 'student': [1.0, 2.0, 3.0]}, 'teacher')
    assert ratios['teacher'] == dict(median_ratio=1.0, paired_ratio=1.0)
    assert ratios['student']['median_ratio'] == pytest.approx(6.0 / 2.0)
    assert ratios['student']['paired_ratio'] == pytest.approx(4.0)  # median of 4, 4, 2
    with pytest.raises(KeyError, match='reference'):
        speedups({'a': [1.0]}, 'b')


def test_invalid_counts():
    with pytest.raises(ValueError, match='runs >= 1'):
        time_interleaved({'a': lambda: None}, warmup=0, runs=0, progress=False)


def test_synthetic_test_batch_is_one_unscaled_image():
    batch = synthetic_test_batch(48, 64)
    assert len(batch['inputs']) == len(batch['data_samples']) == 1  # batch 1, no dataloader
    image, sample = batch['inputs'][0], batch['data_samples'][0]
    assert image.dtype == torch.uint8 and tuple(image.shape) == (3, 48, 64)
    assert sample.img_shape == sample.ori_shape == (48, 64) and sample.scale_factor == (1.0, 1.0)


def test_fp16_needs_cuda_and_fp32_runs_as_is():
    assert isinstance(precision_context('cpu', 'fp32'), contextlib.nullcontext)
    with pytest.raises(ValueError, match='fp16 needs a CUDA device'):
        precision_context('cpu', 'fp16')
    with pytest.raises(ValueError, match="precision must be one of"):
        precision_context('cuda', 'bf16')
    with pytest.raises(ValueError, match='fp16 needs a CUDA device'):
        make_test_step(nn.Identity(), {}, 'cpu', 'fp16')
    context = precision_context('cuda:0', 'fp16')
    assert isinstance(context, torch.autocast) and context.fast_dtype == torch.float16
