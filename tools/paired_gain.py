"""Does distillation help? The paired gain of finished baseline / distilled runs, with confidence intervals.

For runs trained and tested with ``tools/train.py`` / ``tools/test.py --out`` (as ``tools/demo.py``,
``tools/ablation.py`` or your own scripts do), one pair per seed (same data and seed for the baseline and the
distilled student), writes ``<out>.md`` and ``<out>.json``: per metric the mean paired gain and its 95 %
Student-t interval over seeds, the fraction of the teacher-baseline gap closed, per-class AP, and per seed
the paired bootstrap interval over the validation images (VOC07 mAP@0.5).

    python tools/paired_gain.py configs/demo/faster-rcnn_alexnet-w0.25_demo.py --seeds 0 1 2 3 4 \\
        --baseline 'work_dirs/base/seed{seed}' --distilled 'work_dirs/kd/seed{seed}' \\
        --teacher work_dirs/teacher --out benchmarks/results/my_gain

A run directory holds the ``tools/test.py`` output under ``test/`` (``--work-dir <run>/test``) and its
detections at ``--predictions`` (default ``{run}/test/predictions.pkl``, the demo's layout). Run it from the
folder the config's ``data_root`` is relative to.
"""
import argparse
import json
import os.path as osp
import statistics
from typing import Dict, List

from det_kd.experiments import latest_test_metrics
from det_kd.experiments.gain import (BOOTSTRAP_METRIC, GAIN_METRICS, checked_bootstrap_by_seed, gain_markdown,
                                     gain_summary, per_seed_percent_values)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('student', help='plain student config (its test set is the one evaluated)')
    parser.add_argument('--seeds', type=int, nargs='+', required=True)
    parser.add_argument('--baseline', required=True, help="baseline run directory, '{seed}' replaced")
    parser.add_argument('--distilled', required=True, help="distilled run directory, '{seed}' replaced")
    parser.add_argument('--teacher', help='teacher run directory (for the fraction of the gap closed)')
    parser.add_argument('--predictions', default='{run}/test/predictions.pkl',
                        help="detections file of a run ('{run}' replaced); default: %(default)s")
    parser.add_argument('--bootstrap', type=int, default=1000, help='paired resamples of the images per seed')
    parser.add_argument('--out', required=True, help='output path without extension (.md and .json written)')
    parser.add_argument('--title', default='Distilled minus baseline', help='heading of the markdown file')
    return parser.parse_args()


def run_metrics(run_dir: str) -> Dict[str, float]:
    """A run's test metrics (``<run>/test``, as ``tools/test.py`` reported them)."""
    return latest_test_metrics(osp.join(run_dir, 'test'))


def per_class_table(bootstrap: Dict[int, dict]) -> str:
    """Markdown: each class's AP (mean over seeds) for baseline and distilled, and the mean paired gain."""
    classes: List[str] = list(next(iter(bootstrap.values()))['baseline_per_class'])
    lines = ['| class | baseline AP | distilled AP | gain per seed | mean gain |', '|---|---|---|---|---|']
    for name in classes:
        base = [b['baseline_per_class'][name] for b in bootstrap.values()]
        dist = [b['distilled_per_class'][name] for b in bootstrap.values()]
        gains = [d - b for d, b in zip(dist, base)]
        lines.append(f'| {name} | {statistics.fmean(base):.1f} | {statistics.fmean(dist):.1f} | '
                     f"{', '.join(f'{g:+.1f}' for g in gains)} | {statistics.fmean(gains):+.1f} |")
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    runs = {role: {seed: getattr(args, role).format(seed=seed) for seed in args.seeds}
            for role in ('baseline', 'distilled')}
    metrics = {role: {seed: run_metrics(path) for seed, path in paths.items()} for role, paths in runs.items()}
    values = {role: per_seed_percent_values(per_role) for role, per_role in metrics.items()}
    teacher = ({key: per_seed[0] for key, per_seed in per_seed_percent_values({0: run_metrics(args.teacher)}).items()}
               if args.teacher else None)
    predictions = {role: {seed: args.predictions.format(run=run) for seed, run in per_role.items()}
                   for role, per_role in runs.items()}
    bootstrap = checked_bootstrap_by_seed(args.student, predictions['baseline'], predictions['distilled'],
                                          values['baseline'][BOOTSTRAP_METRIC], values['distilled'][BOOTSTRAP_METRIC],
                                          args.bootstrap, names=(args.baseline, args.distilled))
    summary = gain_summary(values['baseline'], values['distilled'], teacher, bootstrap)
    text = f'# {args.title}\n\n' + gain_markdown(summary)
    if bootstrap:
        text += '\n\nPer-class VOC07 AP@0.5 (mean over seeds):\n\n' + per_class_table(bootstrap)
    if teacher:
        text += '\n\nTeacher: ' + ', '.join(f'{title} {teacher[key]:.1f}' for key, title in GAIN_METRICS if key in teacher)
    with open(args.out + '.md', 'w') as f:
        f.write(text + '\n')
    with open(args.out + '.json', 'w') as f:
        json.dump(dict(args=vars(args), runs=runs, metrics=metrics, teacher=teacher, summary=summary), f, indent=2)
    print(text)


if __name__ == '__main__':
    main()
