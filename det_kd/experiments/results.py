"""Aggregates the demo's per-seed metrics and writes the results table in the paper's form."""
import statistics
from typing import Dict, Iterable, List, Mapping, Sequence

from .predictions import per_class_ap, test_set_records

#: Metric keys read from the test runs (scaled to percent) and their column titles.
METRICS = (('pascal_voc/mAP', 'VOC07 mAP@0.5'), ('coco/bbox_mAP', 'COCO mAP@[.5,.95]'),
           ('coco/bbox_mAP_50', 'COCO AP@0.5'), ('coco/bbox_mAP_75', 'COCO AP@0.75'))


def mean_std(values: Sequence[float]) -> tuple:
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def format_mean_std(values: Sequence[float]) -> str:
    mean, std = mean_std(values)
    return f'{mean:.1f} ± {std:.1f}' if len(values) > 1 else f'{mean:.1f}'


def metric_percent(key: str, value: float) -> float:
    """A test metric in percent: MMDetection's VOC and COCO metrics report fractions, det_kd's
    ``KittiMetric`` (keys ``kitti/...``) reports percent already."""
    return value if key.startswith('kitti/') else 100.0 * value


def per_seed_percent(runs: Mapping[int, Mapping[str, float]], key: str) -> List[float]:
    """``runs[seed][key]`` in percent for every seed, in seed order."""
    return [metric_percent(key, runs[seed][key]) for seed in sorted(runs)]


def format_latency(latency: Mapping[str, float]) -> str:
    """``22.4 (19.8-25.1)``: the median and the p10-p90 range of a ``LatencySummary.to_dict()``, in ms."""
    return f"{latency['median_ms']:.1f} ({latency['p10_ms']:.1f}-{latency['p90_ms']:.1f})"


def latency_noise_notes(models: Sequence[dict]) -> List[str]:
    """One note for each group of models of the same architecture and input size (a baseline and its distilled
    students run the same network): when their p10-p90 latency ranges share a point, the differences of their
    medians are timing noise; when they do not, it is still no speed-up: the same network does the same work
    (measured on the demo's students, 15.4 vs 12.6 ms: both 300 proposals and about 25 detections per image),
    and the difference is the measurement's, not the model's."""
    groups: Dict[tuple, List[dict]] = {}
    for model in models:
        groups.setdefault((model['architecture'], tuple(model['input_size'])), []).append(model)
    notes = []
    for group in (g for g in groups.values() if len(g) > 1):
        spreads = [model['latency'] for model in group]
        overlap = max(s['p10_ms'] for s in spreads) <= min(s['p90_ms'] for s in spreads)
        why = ('timing noise (their p10-p90 ranges overlap)' if overlap else
               'not a speed-up: the same network does the same work, the difference is the measurement\'s '
               '(rerun tools/benchmark.py to compare)')
        subject = 'difference is' if len(group) == 2 else 'differences are'
        notes.append(f"{' vs '.join(m['name'] for m in group)} "
                     f"({' vs '.join(format(s['median_ms'], '.1f') for s in spreads)} ms): "
                     f'same architecture: the latency {subject} {why}.')
    return notes


def results_table(models: Sequence[dict]) -> str:
    """A markdown table: model, student, input size, teacher, metrics (mean ± std over seeds), params,
    latency (median and p10-p90 range), and under it :func:`latency_noise_notes`.

    Args:
        models (Sequence[dict]): One entry per model with ``name``, ``architecture``, ``input_size``
            (``(width, height)``), ``teacher``, ``runs`` (``{seed: {metric key: value in [0, 1]}}``),
            ``params`` (count) and ``latency`` (``LatencySummary.to_dict()``).

    Returns:
        str: The table, with the metrics of :data:`METRICS` that every model's runs report (the paired
        gain is :func:`det_kd.experiments.gain.gain_summary`'s).
    """
    metrics = reported_metrics(models)
    header = (['model', 'architecture', 'input', 'teacher'] + [title for _, title in metrics] +
              ['params (M)', 'CPU ms/img, median (p10-p90)'])
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for model in models:
        cells = [model['name'], model['architecture'], '{}x{}'.format(*model['input_size']), model['teacher']]
        cells += [format_mean_std(per_seed_percent(model['runs'], key)) for key, _ in metrics]
        cells += [f"{model['params'] / 1e6:.2f}", format_latency(model['latency'])]
        lines.append('| ' + ' | '.join(cells) + ' |')
    notes = latency_noise_notes(models)
    return '\n'.join(lines + ([''] + notes if notes else []))


def metrics_in_all(runs: Iterable[Mapping[str, float]], metrics: Sequence[tuple] = METRICS) -> List[tuple]:
    """The ``(key, title)`` pairs of ``metrics`` that every run reports (a VOC-only or KITTI dataset reports
    no COCO keys)."""
    runs = list(runs)
    return [(key, title) for key, title in metrics if all(key in run for run in runs)]


def reported_metrics(models: Sequence[dict]) -> List[tuple]:
    """The ``(key, title)`` pairs of :data:`METRICS` that every run of every model reports."""
    return metrics_in_all(run for model in models for run in model['runs'].values())


def seeds_summary(models: Sequence[dict]) -> Dict[str, Dict[str, List[float]]]:
    """``{model role: {metric key: [percent per seed, in seed order]}}`` for the JSON record."""
    metrics = reported_metrics(models)
    return {m['role']: {key: per_seed_percent(m['runs'], key) for key, _ in metrics} for m in models}


def per_class_markdown(test_config: str, predictions: Mapping[str, Sequence[str]]) -> str:
    """A markdown table of the VOC07 AP@0.5 of each class (mean over a model's seeds), a column per model.

    Args:
        test_config (str): Config whose test set the predictions are of (its classes name the rows).
        predictions (Mapping[str, Sequence[str]]): Model title to its runs' ``tools/test.py --out`` files.
    """
    files = [path for paths in predictions.values() for path in paths]
    records, classes = test_set_records(test_config, files)
    aps, start = {}, 0
    for title, paths in predictions.items():
        per_run = [per_class_ap(r, classes) for r in records[start:start + len(paths)]]
        aps[title] = {name: statistics.fmean(run[name] for run in per_run) for name in per_run[0]}
        start += len(paths)
    lines = ['| class | ' + ' | '.join(aps) + ' |', '|---|' + '---|' * len(aps)]
    for name in classes:
        cells = [f'{aps[title][name]:.1f}' if name in aps[title] else 'n/a (no ground truth)' for title in aps]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def took_minutes(minutes: float, resumed: bool) -> str:
    """The wall time of a call of a resumable tool (the demo, the teacher grid) for its results' header: a
    resumed call did not train what it read back."""
    return (f'{minutes:.1f} minutes in this call (resumed: the runs it read back are not counted)' if resumed
            else f'{minutes:.1f} minutes')
