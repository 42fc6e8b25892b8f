"""Is the distilled student better? Paired gains over seeds and over validation images, with intervals.

Two intervals answer two questions:

- **over seeds** (:func:`paired_seed_interval`): baseline and distilled student trained with the same data
  and seed form a pair; the Student-t interval of the mean paired difference says whether distillation
  helps beyond training noise;
- **over validation images** (:func:`bootstrap_gain_from_predictions`): for one pair, the paired bootstrap
  over images says whether the validation set is large enough to measure that pair's difference.
"""
import math
import statistics
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from .predictions import check_recomputed_map, per_class_ap, test_set_records
from .results import metric_percent, metrics_in_all


def paired_seed_interval(deltas: Sequence[float], confidence: float = 0.95) -> dict:
    """Mean of paired differences and its Student-t confidence interval.

    Args:
        deltas (Sequence[float]): ``distilled - baseline`` per seed.
        confidence (float): Coverage. Defaults to 0.95.

    Returns:
        dict: ``mean``, ``low``, ``high`` (None with fewer than 2 seeds), ``std``, ``n``.
    """
    from scipy import stats

    deltas = [float(d) for d in deltas]
    n = len(deltas)
    if n == 0:
        raise ValueError('paired_seed_interval: no paired difference given')
    mean = statistics.fmean(deltas)
    if n < 2:
        return dict(mean=mean, low=None, high=None, std=0.0, n=n)
    std = statistics.stdev(deltas)
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)
    return dict(mean=mean, low=mean - half, high=mean + half, std=std, n=n)


def interval_verdict(low: Optional[float], high: Optional[float], what: str = 'the gain') -> str:
    """Plain words for an interval of a gain: above 0, below 0, or not resolved."""
    if low is None or high is None:
        return f'{what} has no interval (one seed is an anecdote: run several seeds)'
    if low > 0:
        return f'the interval excludes 0: {what} is positive'
    if high < 0:
        return f'the interval excludes 0: {what} is negative'
    return f'the interval includes 0: {what} is not resolved'


#: The spread (standard deviation, VOC07 mAP@0.5 points) of one seed's paired gain times the square root of
#: the validation images, as measured: 36 on the synthetic demo (5 seeds, 500 images: per-seed gains +1.4 to
#: +5.7), 12 on BCCD (5 seeds, 72 images: +5.6 to +9.2), 23 on a set of web photos (3 seeds, about 40 images:
#: +1.8 to +8.4; issue #31). The range, not a law: the spread depends on the data and the pair.
PER_SEED_SPREAD = (12.0, 36.0)


def resolvable_gain(num_runs: int, num_images: int, confidence: float = 0.95) -> Optional[Tuple[float, float]]:
    """The range of the smallest mean gain whose interval over ``num_runs`` paired runs (seeds, or seeds x
    folds) would exclude 0, for ``num_images`` validation images per run: ``t * sd / sqrt(num_runs)`` with the
    per-run spread ``sd = PER_SEED_SPREAD / sqrt(num_images)``. None for one run (no interval over runs)."""
    from scipy import stats

    if num_runs < 2 or num_images < 1:
        return None
    factor = stats.t.ppf(0.5 + confidence / 2, num_runs - 1) / math.sqrt(num_runs) / math.sqrt(num_images)
    return PER_SEED_SPREAD[0] * factor, PER_SEED_SPREAD[1] * factor


def format_interval(mean: float, low: Optional[float], high: Optional[float], digits: int = 1) -> str:
    """``+1.3 [+0.4, +2.2]`` (signed), or the signed mean alone without an interval."""
    if low is None or high is None:
        return f'{mean:+.{digits}f}'
    return f'{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]'


def format_per_seed(gains: Mapping) -> str:
    """``+1.2, -0.3, +2.0``: a gain record's per-seed gains, signed, in seed order."""
    return ', '.join(f'{gain:+.1f}' for gain in gains.values())


def format_gap_closed(fraction: Optional[float], missing: str = '-') -> str:
    """``42 %``: the share of the teacher-baseline gap closed, or ``missing`` (no teacher, or none better)."""
    return f'{100 * fraction:.0f} %' if fraction is not None else missing


def format_plus_minus(mean: float, low: Optional[float], high: Optional[float], digits: int = 1) -> str:
    """``+1.3 ± 0.9`` (the signed mean ± half the interval's width), or the signed mean alone without an
    interval."""
    if low is None or high is None:
        return f'{mean:+.{digits}f}'
    return f'{mean:+.{digits}f} ± {(high - low) / 2:.{digits}f}'


def gap_closed(teacher: float, baseline: float, distilled: float) -> Optional[float]:
    """Fraction of the teacher-baseline gap the distilled student closes (None if the teacher is not better)."""
    gap = teacher - baseline
    return (distilled - baseline) / gap if gap > 0 else None


def bootstrap_gain_from_predictions(config: str, baseline_predictions: str, distilled_predictions: str,
                                    num_samples: int = 1000, seed: int = 0, iou_thr: float = 0.5) -> dict:
    """Paired bootstrap (over the test images of ``config``) of distilled minus baseline VOC07 mAP, in points.

    Also returns each model's full-set mAP (``baseline``, ``distilled``) recomputed from the predictions and
    their per-class AP (``baseline_per_class``, ``distilled_per_class``).
    """
    from det_kd.evaluation.voc_bootstrap import paired_bootstrap_gain, weighted_voc_map

    (base, dist), classes = test_set_records(config, [baseline_predictions, distilled_predictions], iou_thr)
    result = paired_bootstrap_gain(base, dist, num_samples=num_samples, seed=seed)
    full = np.ones((1, len(base[0].num_gts)))
    result.update(baseline=100 * float(weighted_voc_map(base, full)[0]),
                  distilled=100 * float(weighted_voc_map(dist, full)[0]),
                  baseline_per_class=per_class_ap(base, classes), distilled_per_class=per_class_ap(dist, classes))
    return result


def checked_bootstrap_by_seed(config: str, baseline_predictions: Mapping[int, str],
                              distilled_predictions: Mapping[int, str], baseline_map: Mapping[int, float],
                              distilled_map: Mapping[int, float], num_samples: int,
                              names: Tuple[str, str] = ('baseline', 'distilled')) -> Dict[int, dict]:
    """:func:`bootstrap_gain_from_predictions` for every seed both models have (none when ``num_samples`` is
    0), its recomputed VOC07 mAPs checked (:func:`~det_kd.experiments.predictions.check_recomputed_map`)
    against the ones the test runs reported, ``baseline_map`` / ``distilled_map`` (percent by seed);
    ``names`` label the two in the error."""
    bootstrap = {}
    for seed in sorted(set(baseline_predictions) & set(distilled_predictions)) if num_samples > 0 else []:
        bootstrap[seed] = bootstrap_gain_from_predictions(config, baseline_predictions[seed],
                                                          distilled_predictions[seed], num_samples, seed=seed)
        for role, name, reported in (('baseline', names[0], baseline_map), ('distilled', names[1], distilled_map)):
            check_recomputed_map(bootstrap[seed][role], reported[seed], f'{name} (seed {seed})')
    return bootstrap


#: Metrics of the paired-gain summary: key of the test runs, title. mAP@0.75 shows localisation gains that
#: hide at IoU 0.5.
GAIN_METRICS = (('pascal_voc/mAP', 'VOC07 mAP@0.5'), ('coco/bbox_mAP', 'COCO mAP@[.5,.95]'),
                ('coco/bbox_mAP_75', 'COCO AP@0.75'))
#: The metric the bootstrap over validation images recomputes (:func:`bootstrap_gain_from_predictions`).
BOOTSTRAP_METRIC = 'pascal_voc/mAP'


def per_seed_percent_values(runs: Mapping[int, Mapping[str, float]],
                            metrics: Sequence[Tuple[str, str]] = None) -> Dict[str, Dict[int, float]]:
    """``{metric key: {seed: value in percent}}`` from test metrics per seed, for the keys of ``metrics``
    (default :data:`GAIN_METRICS`) that every seed's run reports."""
    keys = [key for key, _ in metrics_in_all(runs.values(), metrics or GAIN_METRICS)]
    return {key: {seed: metric_percent(key, run[key]) for seed, run in runs.items()} for key in keys}


def paired_gains(baseline: Dict[int, float], distilled: Dict[int, float]) -> Dict[int, float]:
    """``distilled[seed] - baseline[seed]`` for the seeds both have (the pairs), in seed order.

    Raises:
        ValueError: If no seed has both models.
    """
    seeds = sorted(set(baseline) & set(distilled))
    if not seeds:
        raise ValueError('paired_gains: no seed has both a baseline and a distilled result')
    return {seed: distilled[seed] - baseline[seed] for seed in seeds}


def gain_summary(baseline: Dict[str, Dict[int, float]], distilled: Dict[str, Dict[int, float]],
                 teacher: Optional[Dict[str, float]] = None, bootstrap: Optional[Dict[int, dict]] = None,
                 metrics: Sequence[Tuple[str, str]] = GAIN_METRICS, confidence: float = 0.95) -> dict:
    """The paired gain of distillation, per metric, as a JSON-ready record.

    Args:
        baseline, distilled (dict): ``{metric key: {seed: value in percent}}``.
        teacher (dict, optional): ``{metric key: teacher value in percent}`` (mean over its runs), for the
            fraction of the teacher-baseline gap closed.
        bootstrap (dict, optional): ``{seed: paired_bootstrap_gain(...) result}`` (VOC07 mAP@0.5).
        metrics (Sequence[tuple]): ``(key, title)`` pairs. Defaults to :data:`GAIN_METRICS`.
        confidence (float): Coverage of the interval over seeds. Defaults to 0.95.

    Returns:
        dict: ``{'metrics': {key: {title, baseline, distilled, gains, mean, low, high, std, n, verdict,
        gap_closed}}, 'bootstrap': {seed: ...}, 'confidence': confidence}``.
    """
    summary = {}
    for key, title in metrics:
        if key not in baseline or key not in distilled:
            continue
        gains = paired_gains(baseline[key], distilled[key])
        interval = paired_seed_interval(list(gains.values()), confidence)
        base_mean = statistics.fmean(baseline[key][s] for s in gains)
        dist_mean = statistics.fmean(distilled[key][s] for s in gains)
        closed = gap_closed(teacher[key], base_mean, dist_mean) if teacher and key in teacher else None
        summary[key] = dict(title=title, baseline=base_mean, distilled=dist_mean, gains=gains, **interval,
                            verdict=interval_verdict(interval['low'], interval['high']), gap_closed=closed)
    return dict(metrics=summary, bootstrap=dict(bootstrap or {}), confidence=confidence)


def gain_markdown(summary: dict, names: Tuple[str, str] = ('baseline', 'distilled'), unit: str = 'seed') -> str:
    """The :func:`gain_summary` record as a markdown table (``names``: the two models' column titles), the
    bootstrap per seed and a summary line; ``unit`` names what was paired (``'run'``: the folds' fold x seed)."""
    confidence = summary.get('confidence', 0.95)
    lines = [f'| metric | {names[0]} | {names[1]} | gain, mean [{confidence:.0%} CI over {unit}s] | per {unit} | '
             'gap to the teacher closed |', '|---|---|---|---|---|---|']
    for record in summary['metrics'].values():
        per_seed = format_per_seed(record['gains'])
        closed = format_gap_closed(record['gap_closed'], 'n/a')
        lines.append(f"| {record['title']} | {record['baseline']:.1f} | {record['distilled']:.1f} | "
                     f"{format_interval(record['mean'], record['low'], record['high'])} | {per_seed} | {closed} |")
    boot = summary['bootstrap']
    if boot:
        first = next(iter(boot.values()))
        cells = '; '.join(f"seed {seed}: {format_interval(b['gain'], b['low'], b['high'])}"
                          for seed, b in sorted(boot.items()))
        lines += ['', f"Bootstrap over the {first['num_images']} validation images ({first['num_samples']} paired "
                  f'resamples, VOC07 mAP@0.5, {confidence:.0%} interval): {cells}.']
    return '\n'.join(lines + ['', summary_line(summary, unit)])


def summary_line(summary: dict, unit: str = 'seed') -> str:
    """The :func:`gain_summary` record in one sentence: each metric's gain, signed, ± half its interval: over
    the paired seeds when there are several, else over the validation images (the bootstrap of the one seed,
    :data:`BOOTSTRAP_METRIC` only)."""
    confidence = summary.get('confidence', 0.95)
    records = summary['metrics']
    n = max((r['n'] for r in records.values()), default=0)
    if n > 1:
        cells = [f"{r['title']} {format_plus_minus(r['mean'], r['low'], r['high'])}, {r['verdict']}"
                 for r in records.values()]
        return f"Over {n} paired {unit}s (gain ± half its {confidence:.0%} CI over {unit}s): {'; '.join(cells)}."
    boot = next(iter(summary['bootstrap'].values()), None)  # of the one seed
    cells = [f"{r['title']} {format_plus_minus(r['mean'], boot['low'], boot['high'])}"
             if boot and key == BOOTSTRAP_METRIC else f"{r['title']} {r['mean']:+.1f} (no interval)"
             for key, r in records.items()]
    notes = ['one seed is an anecdote: run several seeds']
    if boot:
        notes.insert(0, f"gain ± half its {confidence:.0%} bootstrap interval over the {boot['num_images']} "
                        'validation images')
    return f"Over {n} paired seed ({'; '.join(notes)}): " + '; '.join(cells) + '.'
