"""Is the distilled student better? Paired gains over seeds and over validation images, with intervals.

Two intervals answer two questions:

- **over seeds** (:func:`paired_seed_interval`): baseline and distilled student trained with the same data
  and seed form a pair; the Student-t interval of the mean paired difference says whether distillation
  helps beyond training noise;
- **over validation images** (:func:`bootstrap_gain_from_predictions`): for one pair, the paired bootstrap
  over images says whether the validation set is large enough to measure that pair's difference.
"""
import math
import os.path as osp
import statistics
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np


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


def format_interval(mean: float, low: Optional[float], high: Optional[float], digits: int = 1) -> str:
    """``+1.3 [+0.4, +2.2]`` (signed), or the signed mean alone without an interval."""
    if low is None or high is None:
        return f'{mean:+.{digits}f}'
    return f'{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]'


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


def test_set_annotations(config: str) -> Tuple[List[str], List[dict], List[str]]:
    """Image paths, ``VOCMetric``-style ground truth and class names of ``config``'s test dataset.

    Run from the folder the config's ``data_root`` is relative to. Instances with ``ignore_flag`` (COCO
    ``iscrowd``, VOC ``difficult``) go to ``bboxes_ignore``, as ``PackDetInputs`` sends them to
    ``ignored_instances`` for ``VOCMetric``. The boxes are the dataset's, not the test pipeline's: this
    assumes a test pipeline that loads the annotations after ``Resize`` and filters nothing (every det_kd
    config); the callers compare the recomputed mAP with the one the test run reported
    (:func:`check_recomputed_map`), which catches any other case.

    Raises:
        ValueError: If the test evaluator's ``VOCMetric`` is not the VOC07 one (11 points, IoU 0.5), the
            only metric the bootstrap recomputes.
    """
    from mmengine.config import Config
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(config)
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
    for evaluator in evaluators:
        if evaluator.get('type') in ('VOCMetric', 'mmdet.VOCMetric'):
            iou_thrs = evaluator.get('iou_thrs', 0.5)
            iou_thrs = list(iou_thrs) if isinstance(iou_thrs, (list, tuple)) else [iou_thrs]
            if evaluator.get('eval_mode', 'area') != '11points' or iou_thrs != [0.5]:
                raise ValueError(f"{config}: the bootstrap recomputes VOC07 mAP (eval_mode='11points', "
                                 f"iou_thrs=0.5) but the test evaluator is {dict(evaluator)}")
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    paths, annotations = [], []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        kept = [i for i in info['instances'] if not i.get('ignore_flag', 0)]
        ignored = [i for i in info['instances'] if i.get('ignore_flag', 0)]
        boxes = lambda items: np.array([i['bbox'] for i in items], dtype=np.float32).reshape(-1, 4)  # noqa: E731
        labels = lambda items: np.array([i['bbox_label'] for i in items], dtype=np.int64)  # noqa: E731
        paths.append(osp.normpath(info['img_path']))
        annotations.append(dict(bboxes=boxes(kept), labels=labels(kept), bboxes_ignore=boxes(ignored),
                                labels_ignore=labels(ignored)))
    return paths, annotations, list(dataset.metainfo['classes'])


def load_predictions(predictions: str, image_paths: Sequence[str], num_classes: int) -> List[List[np.ndarray]]:
    """Per image (in ``image_paths`` order), per class, ``(K, 5)`` boxes + scores from a ``tools/test.py --out``
    file.

    Raises:
        ValueError: Naming the file, if its images are not exactly the test set's (missing, extra or repeated
            images) or a label is not one of the ``num_classes`` classes.
    """
    from mmengine.fileio import load

    samples = load(predictions)
    by_path: Dict[str, dict] = {osp.normpath(sample['img_path']): sample['pred_instances'] for sample in samples}
    missing = [path for path in image_paths if path not in by_path]
    if missing or len(samples) != len(image_paths) or len(by_path) != len(samples):
        raise ValueError(f'{predictions}: {len(samples)} predictions ({len(by_path)} distinct images) for a test '
                         f'set of {len(image_paths)} images, {len(missing)} of them without a prediction (e.g. '
                         f'{missing[:1]}): was it written by tools/test.py --out on this test set?')
    detections = []
    for path in image_paths:
        pred = by_path[path]
        boxes, scores, labels = (np.asarray(pred[key]) for key in ('bboxes', 'scores', 'labels'))
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f'{predictions}: image {path} has labels outside 0..{num_classes - 1}')
        detections.append([np.hstack([boxes[labels == c], scores[labels == c, None]]).astype(np.float32)
                           for c in range(num_classes)])
    return detections


def check_recomputed_map(recomputed: float, reported: float, what: str, tolerance: float = 0.05) -> None:
    """Raises if the VOC07 mAP recomputed from a run's predictions (percent) is not the one its test run
    reported: then the bootstrap would measure something else (stale predictions, another test set).

    Raises:
        ValueError: Naming ``what`` and both values.
    """
    if not abs(recomputed - reported) <= tolerance:
        raise ValueError(f'{what}: VOC07 mAP recomputed from the predictions is {recomputed:.3f} but the test run '
                         f'reported {reported:.3f}: the predictions file does not belong to this test run or '
                         'test set')


def test_set_records(config: str, predictions: Sequence[str], iou_thr: float = 0.5) -> Tuple[list, List[str]]:
    """VOC matching records (:func:`det_kd.evaluation.voc_bootstrap.voc_records`) of each predictions file on
    ``config``'s test set, and the class names."""
    from det_kd.evaluation.voc_bootstrap import voc_records

    paths, annotations, classes = test_set_annotations(config)
    return [voc_records(annotations, load_predictions(path, paths, len(classes)), iou_thr, classes)
            for path in predictions], classes


def per_class_ap(records: list, classes: Sequence[str]) -> Dict[str, float]:
    """VOC07 AP in percent of each class with ground truth, on the full test set."""
    from det_kd.evaluation.voc_bootstrap import weighted_voc_ap

    full = np.ones((1, len(records[0].num_gts)))
    aps = {}
    for name, cls_records in zip(classes, records):
        ap, num_gts = weighted_voc_ap(cls_records, full)
        if num_gts[0] > 0:
            aps[name] = 100 * float(ap[0])
    return aps


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
    0), its recomputed VOC07 mAPs checked (:func:`check_recomputed_map`) against the ones the test runs
    reported, ``baseline_map`` / ``distilled_map`` (percent by seed); ``names`` label the two in the error."""
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
    from .results import metric_percent, metrics_in_all

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


def gain_markdown(summary: dict) -> str:
    """The :func:`gain_summary` record as a markdown table, the bootstrap per seed and a summary line."""
    confidence = summary.get('confidence', 0.95)
    lines = [f'| metric | baseline | distilled | gain, mean [{confidence:.0%} CI over seeds] | per seed | '
             'gap to the teacher closed |', '|---|---|---|---|---|---|']
    for record in summary['metrics'].values():
        per_seed = ', '.join(f'{g:+.1f}' for g in record['gains'].values())
        closed = f"{100 * record['gap_closed']:.0f} %" if record['gap_closed'] is not None else 'n/a'
        lines.append(f"| {record['title']} | {record['baseline']:.1f} | {record['distilled']:.1f} | "
                     f"{format_interval(record['mean'], record['low'], record['high'])} | {per_seed} | {closed} |")
    boot = summary['bootstrap']
    if boot:
        first = next(iter(boot.values()))
        cells = '; '.join(f"seed {seed}: {format_interval(b['gain'], b['low'], b['high'])}"
                          for seed, b in sorted(boot.items()))
        lines += ['', f"Bootstrap over the {first['num_images']} validation images ({first['num_samples']} paired "
                  f'resamples, VOC07 mAP@0.5, {confidence:.0%} interval): {cells}.']
    return '\n'.join(lines + ['', summary_line(summary)])


def summary_line(summary: dict) -> str:
    """The :func:`gain_summary` record in one sentence: each metric's gain, signed, ± half its interval: over
    the paired seeds when there are several, else over the validation images (the bootstrap of the one seed,
    :data:`BOOTSTRAP_METRIC` only)."""
    confidence = summary.get('confidence', 0.95)
    records = summary['metrics']
    n = max((r['n'] for r in records.values()), default=0)
    if n > 1:
        cells = [f"{r['title']} {format_plus_minus(r['mean'], r['low'], r['high'])}, {r['verdict']}"
                 for r in records.values()]
        return f"Over {n} paired seeds (gain ± half its {confidence:.0%} CI over seeds): {'; '.join(cells)}."
    boot = next(iter(summary['bootstrap'].values()), None)  # of the one seed
    cells = [f"{r['title']} {format_plus_minus(r['mean'], boot['low'], boot['high'])}"
             if boot and key == BOOTSTRAP_METRIC else f"{r['title']} {r['mean']:+.1f} (no interval)"
             for key, r in records.items()]
    notes = ['one seed is an anecdote: run several seeds']
    if boot:
        notes.insert(0, f"gain ± half its {confidence:.0%} bootstrap interval over the {boot['num_images']} "
                        'validation images')
    return f"Over {n} paired seed ({'; '.join(notes)}): " + '; '.join(cells) + '.'
