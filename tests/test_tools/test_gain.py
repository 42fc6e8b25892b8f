"""Paired gains over seeds: the Student-t interval, the verdict words and the summary, on hand-made numbers."""
import math

import pytest

from det_kd.experiments.gain import (format_interval, format_plus_minus, gain_markdown, gain_summary, gap_closed,
                                     interval_verdict, paired_gains, paired_seed_interval, summary_line)


def test_paired_seed_interval_is_the_student_t_interval_of_the_mean():
    deltas = [1.0, 2.0, 4.0]
    mean, std = 7 / 3, math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2)
    half = 4.302652729911275 * std / math.sqrt(3)  # t_{0.975, 2}
    got = paired_seed_interval(deltas)
    assert got['mean'] == pytest.approx(mean) and got['std'] == pytest.approx(std) and got['n'] == 3
    assert got['low'] == pytest.approx(mean - half) and got['high'] == pytest.approx(mean + half)
    one = paired_seed_interval([0.7])
    assert one['low'] is None and one['high'] is None and one['mean'] == 0.7
    with pytest.raises(ValueError, match='no paired difference'):
        paired_seed_interval([])


def test_verdicts_and_formatting():
    assert interval_verdict(0.2, 1.5) == 'the interval excludes 0: the gain is positive'
    assert interval_verdict(-2.0, -0.1) == 'the interval excludes 0: the gain is negative'
    assert interval_verdict(-0.5, 1.5) == 'the interval includes 0: the gain is not resolved'
    assert 'one seed is an anecdote' in interval_verdict(None, None)
    assert format_interval(1.3, 0.4, 2.2) == '+1.3 [+0.4, +2.2]'
    assert format_interval(-0.5, None, None) == '-0.5'
    assert format_plus_minus(1.3, 0.4, 2.4) == '+1.3 ± 1.0'  # ± half the interval's width
    assert format_plus_minus(-0.5, -1.5, 0.3) == '-0.5 ± 0.9'
    assert format_plus_minus(0.7, None, None) == '+0.7'
    assert gap_closed(25.0, 12.0, 15.25) == pytest.approx(0.25)
    assert gap_closed(10.0, 12.0, 13.0) is None  # the teacher is not better: nothing to close


def test_pairs_are_matched_by_seed():
    assert paired_gains({0: 10.0, 1: 12.0, 2: 9.0}, {1: 13.0, 2: 11.0, 5: 1.0}) == {1: 1.0, 2: 2.0}
    with pytest.raises(ValueError, match='no seed has both'):
        paired_gains({0: 1.0}, {1: 2.0})


def test_gain_summary_and_markdown():
    base = {'pascal_voc/mAP': {0: 10.0, 1: 12.0, 2: 11.0}, 'coco/bbox_mAP': {0: 4.0, 1: 5.0, 2: 4.5}}
    dist = {'pascal_voc/mAP': {0: 13.0, 1: 14.0, 2: 14.0}, 'coco/bbox_mAP': {0: 3.0, 1: 6.0, 2: 4.5}}
    boot = {0: dict(gain=3.0, low=1.0, high=5.0, num_images=500, num_samples=1000)}
    summary = gain_summary(base, dist, teacher={'pascal_voc/mAP': 23.0}, bootstrap=boot)
    voc = summary['metrics']['pascal_voc/mAP']
    assert voc['gains'] == {0: 3.0, 1: 2.0, 2: 3.0} and voc['mean'] == pytest.approx(8 / 3)
    assert voc['gap_closed'] == pytest.approx((8 / 3) / 12.0)  # teacher 23 - baseline 11
    assert voc['verdict'].endswith('positive') and summary['metrics']['coco/bbox_mAP']['verdict'].endswith('resolved')
    assert 'coco/bbox_mAP_75' not in summary['metrics']  # not reported: left out
    text = gain_markdown(summary)
    assert '| VOC07 mAP@0.5 | 11.0 | 13.7 | +2.7 [' in text and '| +3.0, +2.0, +3.0 | 22 % |' in text
    assert 'Bootstrap over the 500 validation images (1000 paired resamples' in text and 'seed 0: +3.0 [+1.0, +5.0]' in text
    half = voc['high'] - voc['mean']
    assert text.splitlines()[-1] == summary_line(summary)
    assert summary_line(summary).startswith(
        f'Over 3 paired seeds (gain ± half its 95% CI over seeds): VOC07 mAP@0.5 +2.7 ± {half:.1f}, the interval '
        'excludes 0: the gain is positive; COCO mAP@[.5,.95] +0.0 ± ')
    # the folds pair fold x seed runs: the table and the line name them
    runs = gain_markdown(gain_summary(base, dist), unit='run')
    assert '| gain, mean [95% CI over runs] | per run |' in runs
    assert 'Over 3 paired runs (gain ± half its 95% CI over runs)' in runs


def test_one_seed_summary_line_is_signed_with_the_bootstrap_interval():
    base = {'pascal_voc/mAP': {0: 12.0}, 'coco/bbox_mAP': {0: 5.0}}
    dist = {'pascal_voc/mAP': {0: 10.7}, 'coco/bbox_mAP': {0: 5.6}}
    boot = {0: dict(gain=-1.3, low=-3.4, high=0.6, num_images=500, num_samples=1000)}
    assert summary_line(gain_summary(base, dist, bootstrap=boot)) == (
        'Over 1 paired seed (gain ± half its 95% bootstrap interval over the 500 validation images; one seed '
        'is an anecdote: run several seeds): VOC07 mAP@0.5 -1.3 ± 2.0; COCO mAP@[.5,.95] +0.6 (no interval).')
    assert summary_line(gain_summary(base, dist)) == (
        'Over 1 paired seed (one seed is an anecdote: run several seeds): VOC07 mAP@0.5 -1.3 (no interval); '
        'COCO mAP@[.5,.95] +0.6 (no interval).')


def test_paired_comparison_pairs_two_arms_runs_by_seed():
    """Two arms' test metrics (fractions, as tools/test.py reports them) give the gain in points per seed."""
    from det_kd.experiments.comparison import paired_comparison

    reference = {0: {'pascal_voc/mAP': 0.10, 'coco/bbox_mAP': 0.04}, 1: {'pascal_voc/mAP': 0.12, 'coco/bbox_mAP': 0.05}}
    other = {1: {'pascal_voc/mAP': 0.15, 'coco/bbox_mAP': 0.05}, 0: {'pascal_voc/mAP': 0.11, 'coco/bbox_mAP': 0.06}}
    summary = paired_comparison('unused.py', reference, other, bootstrap=0)
    voc = summary['metrics']['pascal_voc/mAP']
    assert voc['gains'] == pytest.approx({0: 1.0, 1: 3.0}) and voc['mean'] == pytest.approx(2.0)
    assert summary['metrics']['coco/bbox_mAP']['gains'] == pytest.approx({0: 2.0, 1: 0.0})
    assert summary['bootstrap'] == {} and 'coco/bbox_mAP_75' not in summary['metrics']


def test_the_smallest_resolvable_gain_by_hand():
    from det_kd.experiments.gain import resolvable_gain
    # 5 seeds, 500 images: t(0.975, 4) = 2.776; 36 * 2.776 / sqrt(5) / sqrt(500) = 36 * 2.776 / 50
    low, high = resolvable_gain(5, 500)
    assert high == pytest.approx(36 * 2.7764 / 50, rel=1e-3) and low == pytest.approx(12 * 2.7764 / 50, rel=1e-3)
    assert resolvable_gain(1, 500) is None
    assert resolvable_gain(3, 72)[1] > resolvable_gain(10, 72)[1] > resolvable_gain(10, 500)[1]
