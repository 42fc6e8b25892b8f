"""The demo over K folds of a small dataset (``tools/demo.py --folds K``): the demo runs once per fold
(:mod:`.folds`: train on the other folds, test on this one) in ``<work-dir>/fold<k>/``, and the top-level
``results.md`` pairs baseline and distilled per fold and seed, with one interval over all of them: every
labelled image is tested once, and the interval rests on K times as many paired runs.

The folds' runs are not independent samples in every respect (their training sets overlap, so the interval
is, as in any cross-validation, somewhat narrower than a fresh test set would give); the per-fold gains are
listed beside it.
"""
import argparse
import copy
import json
import os.path as osp
import time
from typing import Dict, List

from det_kd.benchmark.environment import load_average, machine_info
from .demo import command_line, held_work_dir, run_demo, user_dataset
from .demo_report import resolution_sentence
from .gain import gain_markdown, gain_summary
from .results import METRICS, mean_std, took_minutes
from .stages import StageError

#: The note results.json carries on how to read it.
JSON_NOTES = dict(units='fold k, seed s in the order of `units`; values in percent (the folds\' results.json)')


def fold_work_dir(work_dir: str, fold: int) -> str:
    return osp.join(work_dir, f'fold{fold}')


def check_fold_arguments(args: argparse.Namespace) -> None:
    """Refuses what the folds cannot do, before anything trains.

    Raises:
        StageError: Generated data (it has 500 test images: no folds needed), or a given teacher checkpoint
            (trained on images that are some fold's test images).
    """
    if not (args.voc_root or args.data_config):
        raise StageError('--folds goes with --voc-root or --data-config: the generated data has its own 500 '
                         'validation images (use --num-val)')
    if args.teacher_checkpoint:
        raise StageError('--folds trains a teacher per fold: a given --teacher-checkpoint was trained on images that '
                         'are test images of some fold, and its knowledge of them would inflate every gain')


def run_folds(args: argparse.Namespace) -> None:
    """Runs the demo on every fold and writes the pooled results (module docstring).

    Raises:
        StageError: As :func:`check_fold_arguments`; data that cannot be split; a fold's stage failed; another
            process runs in the work directory.
    """
    check_fold_arguments(args)
    with held_work_dir(args.work_dir, 'tools/demo.py --folds'):
        _run_folds(args)


def _run_folds(args: argparse.Namespace) -> None:
    from .folds import fold_datasets

    start, load_at_start = time.time(), load_average()
    work_dir = osp.abspath(args.work_dir)
    dataset, input_size = user_dataset(args)
    try:
        datasets = fold_datasets(dataset, args.folds, osp.join(work_dir, 'folds'))
    except ValueError as error:
        raise StageError(str(error)) from error
    sizes = [d.num_val_images for d in datasets]
    print(f'[demo] {args.folds} folds of {sum(sizes)} labelled images ({", ".join(map(str, sizes))} test images; '
          f'each fold trains on the others): {args.folds} x {len(args.seeds)} paired runs')
    print(f'[demo] {resolution_sentence(args.folds * len(args.seeds), round(sum(sizes) / len(sizes)))}')
    for fold, fold_dataset in enumerate(datasets):
        fold_args = copy.copy(args)
        fold_args.work_dir = fold_work_dir(work_dir, fold)
        fold_args.pictures = args.pictures if fold == 0 else 0  # one picture: fold 0's
        print(f'[demo] fold {fold} of {args.folds}: {fold_args.work_dir}')
        run_demo(fold_args, data=(fold_dataset, input_size))
    records = []
    for fold in range(args.folds):
        with open(osp.join(fold_work_dir(work_dir, fold), 'results.json'), encoding='utf-8') as f:
            records.append(json.load(f))
    summary = pooled_gains(records, args.seeds)
    minutes = (time.time() - start) / 60
    text = folds_markdown(args, summary, sizes, minutes)
    with open(osp.join(work_dir, 'results.md'), 'w', encoding='utf-8') as f:
        f.write(text)
    with open(osp.join(work_dir, 'results.json'), 'w', encoding='utf-8') as f:
        environment = dict(machine_info('cpu'), load_average=dict(start=load_at_start, end=load_average()))
        json.dump(dict(args=vars(args), units=summary['units'], per_seed=summary['per_unit'], gain=summary['gains'],
                       test_images=sizes, minutes=minutes, environment=environment, notes=JSON_NOTES), f, indent=2)
    print('\n' + text)
    print(f'[demo] done in {minutes:.1f} minutes: {work_dir}/results.md (the folds pooled), fold*/results.md')


def pooled_gains(records: List[dict], seeds: List[int]) -> dict:
    """Every distilled role's paired gain over all (fold, seed) runs of the folds' ``records`` (their
    results.json): ``units`` (labels), ``per_unit`` (``{role: {metric: [values]}}``) and ``gains``
    (``{role: gain_summary record}``)."""
    units = [f'fold {fold} seed {seed}' for fold in range(len(records)) for seed in seeds]
    roles = list(records[0]['per_seed'])
    per_unit: Dict[str, Dict[str, List[float]]] = {
        role: {key: [value for record in records for value in record['per_seed'][role].get(key, [])]
               for key, _ in METRICS if all(key in record['per_seed'][role] for record in records)}
        for role in roles}
    indexed = {role: {key: dict(enumerate(values)) for key, values in metrics.items()}
               for role, metrics in per_unit.items()}
    teacher = {key: mean_std(values)[0] for key, values in per_unit['teacher'].items()}
    gains = {role: gain_summary(indexed['baseline'], indexed[role], teacher)
             for role in roles if role not in ('teacher', 'baseline')}
    return dict(units=units, per_unit=per_unit, gains=gains, titles=records[0].get('titles', {}))


def folds_markdown(args: argparse.Namespace, summary: dict, sizes: List[int], minutes: float) -> str:
    """The top-level results.md of a folds demo."""
    lines = [f'# det_kd demo\n\nCommand: `{command_line(args)}`.\n\nOver {len(sizes)} folds x {len(args.seeds)} '
             f'seed(s) = {len(summary["units"])} paired runs; every labelled image ({sum(sizes)}: '
             f'{", ".join(map(str, sizes))} per fold) tested once, by models that did not train on it; '
             f'{took_minutes(minutes, args.resume)}. Each fold\'s full results (tables, per-class AP, diagnostics, '
             'commands): `fold<k>/results.md`. '
             f'Runs in the per-run columns: {"; ".join(summary["units"])}.']
    for role, gain in summary['gains'].items():
        title = summary['titles'].get(role, role)
        lines.append(f'\n## {title} minus baseline, pooled over the folds\n\n{gain_markdown(gain, unit="run")}')
    return '\n'.join(lines) + '\n'
