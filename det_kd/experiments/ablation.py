"""The ablation (``tools/ablation.py``): the baseline student and one distilled student per column of
:mod:`.ablation_columns` (the paper's Table 4, the feature-distillation family, FitNets' two stages), trained
with the same schedule and seeds, tested with the plain student config, each column's gain paired by seed
with the baseline (mean, 95 % Student-t interval over seeds, paired bootstrap over validation images)."""
import argparse
import json
import os
import os.path as osp
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple, Union

from mmengine.config import Config

from ..models.distillation.diagnostics import distillation_shares
from ..models.distillation.teacher import single_teacher
from .ablation_columns import (ABLATION_COLUMNS, PAPER_TABLE4, column_config, column_label, is_baseline,
                               is_method_column, method_config)
from .gain import (BOOTSTRAP_METRIC, checked_bootstrap_by_seed, format_gap_closed, format_interval, format_per_seed,
                   gain_summary)
from .results import mean_std, metric_percent
from .run_diagnostics import mean_quantities, run_diagnostics_paths
from .run_configs import merged_config
from .schedule import schedule_options
from .stages import StageError
from .teacher_cache import teacher_cache_options, teacher_cache_refusal
from .train_test import evaluate_checkpoint, train_and_test


def student_config(kd_config: str) -> str:
    """The plain student config a distillation config inherits: its single ``_base_``, followed through the
    distillation configs it may inherit (a variant of another distillation config) to the first config whose
    model has no teacher.

    Raises:
        ValueError: A config on the way has no or several bases: pass ``--student``.
    """
    config = kd_config
    while True:
        base = Config._get_base_files(config)
        if len(base) != 1:
            raise ValueError(f'{config}: pass --student, the plain student config of {kd_config} (found bases '
                             f'{base})')
        config = osp.normpath(osp.join(osp.dirname(config), base[0]))
        if 'teacher' not in Config.fromfile(config).get('model', {}):
            return config


def configured_epochs(config: str, options: List[str]) -> int:
    """``train_cfg.max_epochs`` of ``config`` with the ``--cfg-options`` ``options`` applied."""
    return merged_config(config, options).train_cfg.max_epochs


#: Serialises config parsing in the runs' threads (``--jobs``): two threads resolving config bases at once
#: failed with pkg_resources' "Expected str, Requirement, or Distribution".
_CONFIG_LOCK = threading.Lock()


def run_folder(work_dir: str, label: str, seed: int) -> str:
    """Where the run of the column named ``label`` (:func:`~.ablation_columns.column_label`) trains for ``seed``."""
    return osp.abspath(osp.join(work_dir, label.replace(' ', '_').replace('+', '_'), f'seed{seed}'))


def run_column(column: str, args: argparse.Namespace, student: str, seed: int,
               env: Optional[Dict[str, str]] = None) -> Tuple[float, str]:
    """Trains and tests one column for one seed; returns the metric in percent and the predictions file."""
    label = column_label(column)
    run_dir = run_folder(args.work_dir, label, seed)
    progress = args.jobs == 1 and not args.no_progress  # concurrent bars would overwrite each other
    seed_options = schedule_options(args.epochs, seed) if args.epochs else [f'randomness.seed={seed}']
    options = [*seed_options, *args.cfg_options]
    with _CONFIG_LOCK:  # MMEngine resolves `mmdet::` bases through pkg_resources, which is not thread-safe
        if is_baseline(column):
            config = student
        else:
            os.makedirs(run_dir, exist_ok=True)
            config = osp.join(run_dir, 'kd_config.py')
            epochs = args.epochs or configured_epochs(args.kd_config, options)
            column_config(args.kd_config, column, epochs).dump(config)
            options.append(f'model.teacher.checkpoint={osp.abspath(args.teacher_checkpoint)}')
            if getattr(args, 'teacher_cache', False) and not teacher_cache_refusal(config):
                options += teacher_cache_options(osp.abspath(osp.join(args.work_dir, 'teacher_cache')))
        epochs = args.epochs or configured_epochs(config, options)
    metrics = train_and_test(f'{label} (seed {seed})', config, student, run_dir, os.getcwd(), options, epochs,
                             progress, env=env, resume=args.resume)
    metric = metric_percent(args.metric, metrics[args.metric])
    if not progress:
        print(f'[ablation] {label} (seed {seed}): {args.metric} {metric:.1f}', flush=True)
    return metric, metrics['predictions']


def failure_reason(error: StageError) -> str:
    """The line of a failed run's log that names the error (e.g. "Hints" without an adaptation layer when the
    channel counts differ), else the message's first line."""
    reason = [line for line in str(error).splitlines() if 'Error' in line]
    return reason[-1].strip() if reason else str(error).splitlines()[0]


def run_columns(args: argparse.Namespace, student: str) -> Tuple[Dict[str, Union[List[float], str]], dict]:
    """Every requested column over every seed, ``args.jobs`` runs at a time; a column that cannot run for
    this pair records the reason instead of its values. Results are keyed by
    :func:`~.ablation_columns.column_label`; also returns ``{label: {seed: predictions file}}``."""
    env = None
    if args.jobs > 1:
        env = dict(OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // args.jobs)))
    runs = [(column, seed) for column in args.columns for seed in args.seeds]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {run: pool.submit(run_column, run[0], args, student, run[1], env) for run in runs}
    results: Dict[str, Union[List[float], str]] = {}
    predictions: Dict[str, Dict[int, str]] = {}
    for column in args.columns:
        label = column_label(column)
        try:
            runs_of_column = [futures[(column, seed)].result() for seed in args.seeds]
        except StageError as error:
            results[label] = failure_reason(error)
            print(f'[ablation] {label}: not run: {results[label]}')
            continue
        results[label] = [metric for metric, _ in runs_of_column]
        predictions[label] = {seed: path for seed, (_, path) in zip(args.seeds, runs_of_column)}
    return results, predictions


def teacher_metric(args: argparse.Namespace) -> float:
    """The teacher checkpoint's ``args.metric`` in percent, tested once with its own config into
    ``<work_dir>/teacher_test`` and read back while the checkpoint is the same file (path, size, mtime)."""
    run_dir = osp.abspath(osp.join(args.work_dir, 'teacher_test'))
    checkpoint = osp.abspath(args.teacher_checkpoint)
    stat = os.stat(checkpoint)
    tested = dict(checkpoint=checkpoint, size=stat.st_size, mtime=stat.st_mtime_ns)
    record = osp.join(run_dir, 'tested.json')
    if osp.isfile(record):
        with open(record) as f:
            found = json.load(f)
        if all(found.get(key) == value for key, value in tested.items()):
            return found['metric']
    with _CONFIG_LOCK:
        config = single_teacher(Config.fromfile(args.kd_config).model, 'tools/ablation.py').config
    if not isinstance(config, str):
        raise ValueError(f'{args.kd_config}: model.teacher.config is inline; the ablation tests the teacher from '
                         'a config file')
    metrics = evaluate_checkpoint('teacher', config, checkpoint, run_dir, os.getcwd(), False)
    tested['metric'] = metric_percent(args.metric, metrics[args.metric])
    os.makedirs(run_dir, exist_ok=True)
    with open(record, 'w') as f:
        json.dump(tested, f, indent=2)
    return tested['metric']


def column_gains(results: Dict[str, Union[List[float], str]], predictions: Dict[str, Dict[int, str]],
                 args: argparse.Namespace, student: str, teacher: Optional[float] = None) -> Dict[str, dict]:
    """Each column's :func:`~det_kd.experiments.gain.gain_summary` against the Baseline column, paired by seed, with
    (for VOC07 mAP@0.5) the paired bootstrap over validation images per seed, its recomputed mAPs checked
    against the test runs', and the share of the gap to the ``teacher``'s metric closed."""
    if not isinstance(results.get('Baseline'), list):
        return {}
    metric = [(args.metric, args.metric)]
    base = {args.metric: dict(zip(args.seeds, results['Baseline']))}
    gains = {}
    for column, values in results.items():
        if column == 'Baseline' or isinstance(values, str):
            continue
        distilled = {args.metric: dict(zip(args.seeds, values))}
        bootstrap = checked_bootstrap_by_seed(student, predictions['Baseline'], predictions[column],
                                              base[args.metric], distilled[args.metric],
                                              args.bootstrap if args.metric == BOOTSTRAP_METRIC else 0,
                                              names=('Baseline', column))
        gains[column] = gain_summary(base, distilled, teacher=None if teacher is None else {args.metric: teacher},
                                     bootstrap=bootstrap, metrics=metric)
    return gains


def gradient_shares(results: Dict[str, Union[List[float], str]], args: argparse.Namespace) -> Dict[str, float]:
    """``{column: share}``: a distilled column's terms' shares of the student backbone's gradient, summed (their
    ``DistillationDiagnosticsHook`` records: each term's ``|grad term| / |grad of the whole loss|``, its mean over
    a run, averaged over the seeds); columns without diagnostics are left out. Norms do not add, so with several
    terms the sum can pass 100 %; a sum near 0 says that the method, at its weights, hardly changed the
    student's training."""
    shares = {}
    for column, values in results.items():
        if column == 'Baseline' or isinstance(values, str):
            continue
        terms = distillation_shares(mean_quantities(run_diagnostics_paths(
            run_folder(args.work_dir, column, seed) for seed in args.seeds)))
        if terms:
            shares[column] = sum(terms.values())
    return shares


def ablation_table(results: Dict[str, Union[List[float], str]], metric: str,
                   gains: Optional[Dict[str, dict]] = None, shares: Optional[Dict[str, float]] = None) -> str:
    """Markdown: one row per column with mean ± std over seeds, the paired gain over the baseline (mean, 95 %
    interval over seeds), the share of the teacher-baseline gap closed and the distillation terms' share of the
    backbone's gradient (:func:`gradient_shares`), beside the paper's Table 4; then the bootstrap intervals per
    seed."""
    gains, shares = gains or {}, shares or {}
    lines = [f'| column | {metric} (mean ± std, %) | gain over baseline [95 % CI over seeds] | per seed | '
             'teacher-baseline gap closed | its terms\' shares of the backbone gradient, summed | seeds | '
             'paper PASCAL / KITTI (VGG16 -> Tucker) |',
             '|---|---|---|---|---|---|---|---|']
    # the paper's order, then the family, then method columns as requested
    order = [name for name in ABLATION_COLUMNS if name in results] + [n for n in results if n not in ABLATION_COLUMNS]
    for column in order:
        values = results[column]
        paper = '{} / {}'.format(*PAPER_TABLE4[column]) if column in PAPER_TABLE4 else '-'
        if isinstance(values, str):
            lines.append(f'| {column} | n/a: {values} | - | - | - | - | 0 | {paper} |')
            continue
        mean, std = mean_std(values)
        gain = gains[column]['metrics'][metric] if column in gains else None
        cell = format_interval(gain['mean'], gain['low'], gain['high']) if gain else '-'
        per_seed = format_per_seed(gain['gains']) if gain else '-'
        closed = format_gap_closed(gain['gap_closed'] if gain else None)
        share = f'{shares[column]:.1%}' if column in shares else '-'
        lines.append(f'| {column} | {mean:.1f} ± {std:.1f} | {cell} | {per_seed} | {closed} | {share} | '
                     f'{len(values)} | {paper} |')
    for column, gain in gains.items():
        verdict = gain['metrics'][metric]['verdict']
        cells = '; '.join(f"seed {seed} {format_interval(b['gain'], b['low'], b['high'])}"
                          for seed, b in gain['bootstrap'].items())
        images = f" bootstrap over the {next(iter(gain['bootstrap'].values()))['num_images']} validation images: " \
            f'{cells}.' if cells else ''
        lines.append(f'\n{column}: {verdict} over seeds;{images}')
    return '\n'.join(lines)


def check_method_columns(kd_config: str, columns: List[str]) -> None:
    """At start-up: every method column distils ``kd_config``'s pair on its data, and no two columns share a
    label (their runs would share a folder).

    Raises:
        ValueError: Naming the config and the differing key, or the two columns.
    """
    seen: Dict[str, str] = {}
    for column in columns:
        label = column_label(column)
        if label in seen and seen[label] != column:
            raise ValueError(f'columns {seen[label]!r} and {column!r} would both be named {label!r}')
        seen[label] = column
        if is_method_column(column):
            with _CONFIG_LOCK:
                method_config(kd_config, column)


def run_ablation(args: argparse.Namespace) -> None:
    """Runs the ablation that ``tools/ablation.py``'s arguments ``args`` describe and writes ``ablation.md``
    and ``ablation.json`` into ``args.work_dir``."""
    with _CONFIG_LOCK:
        single_teacher(Config.fromfile(args.kd_config).model, 'tools/ablation.py --teacher-checkpoint')
    check_method_columns(args.kd_config, args.columns)
    student = args.student or student_config(args.kd_config)
    results, predictions = run_columns(args, student)
    paired = isinstance(results.get('Baseline'), list) and any(
        column != 'Baseline' and isinstance(values, list) for column, values in results.items())
    teacher = teacher_metric(args) if paired else None  # for the share of the teacher-baseline gap closed
    gains = column_gains(results, predictions, args, student, teacher)
    shares = gradient_shares(results, args)
    table = ablation_table(results, args.metric, gains, shares)
    os.makedirs(args.work_dir, exist_ok=True)
    teacher_line = f' (its {args.metric}: {teacher:.1f})' if teacher is not None else ''
    with open(osp.join(args.work_dir, 'ablation.md'), 'w') as f:
        f.write(f'# Ablation (Table 4 and feature-distillation columns)\n\nDistillation config `{args.kd_config}`, '
                f'student `{student}`, '
                f'teacher checkpoint `{args.teacher_checkpoint}`{teacher_line}, seeds {args.seeds}.\n\n{table}\n')
    with open(osp.join(args.work_dir, 'ablation.json'), 'w') as f:
        json.dump(dict(args=vars(args), results=results, gains=gains, gradient_shares=shares), f, indent=2)
    print(table)
