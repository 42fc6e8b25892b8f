"""The det_kd demo: does distillation work? One command, on data it generates itself.

Generates the synthetic shapes dataset, then for each seed trains a teacher, a baseline student and a
distilled student (same schedule, same seed), evaluates all three (PASCAL VOC07 mAP@0.5 and COCO mAP on the
same 500 validation images), measures params and CPU latency, and writes into the work directory:
``results.md`` (the table, in the paper's form; the paired gain of distillation with its 95 % intervals over
seeds and, per seed, over validation images; the distillation diagnostics), ``results.json``,
``accuracy_vs_cost.png`` and every log.

    python tools/demo.py                        # one seed (see the README for the time it takes)
    python tools/demo.py --seeds 0 1 2 3 4 --teacher-checkpoint T.pth   # 5 paired seeds, one trained teacher
    python tools/demo.py --resume               # continue a demo that was stopped, same arguments

A work directory that holds an earlier demo's runs is refused unless --resume is given: finished stages
are then read back, a trained one is only tested, a stage with a checkpoint continues with MMEngine's resume.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict

from det_kd.benchmark.environment import load_average, machine_info
from det_kd.demo import (METRICS, StageError, evaluate_checkpoint, mean_std, results_table, schedule_options,
                         seeds_summary, train_and_test)
from det_kd.demo.gain import gain_markdown
from det_kd.demo.results import per_seed_percent
from det_kd.demo.stages import REPO
from det_kd.synthetic import generate_dataset

CONFIGS = osp.join(REPO, 'configs')
# The demo's models (see configs/demo and benchmarks/results/demo_exploration.md): the synthetic configs at
# 256x192, where 24 epochs of all three trainings fit the demo's time budget.
DEFAULT_TEACHER = osp.join(CONFIGS, 'demo', 'faster-rcnn_vgg16-w0.25_demo.py')
DEFAULT_STUDENT = osp.join(CONFIGS, 'demo', 'faster-rcnn_alexnet-w0.25_demo.py')
# The paper's loss with the hint at gamma 10 and centre-aligned: the best of the variants measured over paired
# seeds (benchmarks/results/kd_regime_synthetic.md); the paper's own settings:
# --kd configs/demo/kd_alexnet-w0.25-vgg16-w0.25_demo.py.
DEFAULT_KD = osp.join(CONFIGS, 'demo', 'kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py')
#: How to read results.json, written into it.
JSON_NOTES = dict(
    values='full floats; metrics in percent as the test runs report them (MMDetection\'s CocoMetric rounds '
    'to 0.1 points, its VOCMetric does not), per_seed lists in increasing seed order',
    load_average='1, 5 and 15 minute load averages at the start and at the end of the demo')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/demo', help='where data, runs and results go')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0], help='training seeds (one run each)')
    parser.add_argument('--num-train', type=int, default=200, help='training images')
    parser.add_argument('--num-val', type=int, default=500,
                        help='validation images (500: the bootstrap interval of one seed\'s gain is about ±2 points)')
    parser.add_argument('--img-size', type=int, nargs=2, default=(256, 192), metavar=('W', 'H'),
                        help='image size of the generated data (the demo configs resize to 256x192)')
    parser.add_argument('--epochs', type=int, default=24, help='training epochs of every model')
    parser.add_argument('--teacher', default=DEFAULT_TEACHER, help='teacher config')
    parser.add_argument('--student', default=DEFAULT_STUDENT, help='plain student config (the baseline)')
    parser.add_argument('--kd', default=DEFAULT_KD, help='distillation config (wraps the student config)')
    parser.add_argument('--teacher-checkpoint', help='a trained teacher checkpoint (of --teacher) to distil from '
                        'for every seed, instead of training a teacher per seed')
    parser.add_argument('--bootstrap', type=int, default=1000,
                        help='paired resamples of the validation images per seed for the gain interval')
    parser.add_argument('--latency-runs', type=int, default=30, help='timed test_step calls per model')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument('--resume', action='store_true',
                        help='continue the runs in --work-dir (started with the same arguments)')
    args = parser.parse_args()
    for role in ('teacher', 'student', 'kd', 'teacher_checkpoint'):  # the tools run in the work directory
        if getattr(args, role):
            setattr(args, role, osp.abspath(getattr(args, role)))
    if args.teacher_checkpoint and not osp.isfile(args.teacher_checkpoint):
        parser.error(f'--teacher-checkpoint {args.teacher_checkpoint}: no such file')
    return args


def metrics_only(metrics: dict) -> dict:
    """A run's test metrics without the paths ``train_and_test`` adds."""
    return {k: v for k, v in metrics.items() if k not in ('checkpoint', 'predictions', 'stage')}


def diagnostics_section(work_dir: str, seeds, since: float) -> str:
    """Markdown: the distilled runs' ``DistillationDiagnosticsHook`` summaries (mean over the measurements of
    each run) and their warnings, from the files written after ``since`` (a time stamp: a file left by an
    earlier demo in the same work directory is not this run's); empty without a diagnostics hook."""
    from det_kd.models.distillation.diagnostics import format_summary

    parts = []
    for seed in seeds:
        path = osp.join(work_dir, f'seed{seed}', 'distilled', 'distillation_diagnostics.json')
        if not osp.isfile(path) or osp.getmtime(path) < since:
            continue
        with open(path) as f:
            record = json.load(f)
        warnings = ''.join(f"\n- iteration {w['iter']}: {w['message']}" for w in record.get('warnings', [])) or '\n- none'
        parts.append(f'Seed {seed} (`{osp.relpath(path, work_dir)}`, {len(record["measurements"])} measurements):'
                     f'\n\n```\n{format_summary(record["summary"])}\n```\n\nWarnings:{warnings}')
    return '\n\n## Distillation diagnostics\n\n' + '\n\n'.join(parts) if parts else ''


def paired_gain(runs: Dict[str, Dict[int, dict]], student_config: str, work_dir: str, num_samples: int) -> dict:
    """Distilled minus baseline over the paired seeds, with the bootstrap over validation images per seed (its
    recomputed mAPs checked against the test runs')."""
    from det_kd.demo.gain import (bootstrap_gain_from_predictions, check_recomputed_map, gain_summary,
                                  per_seed_percent_values)

    values = {role: per_seed_percent_values(runs[role]) for role in runs}
    teacher = {key: mean_std(per_seed.values())[0] for key, per_seed in values['teacher'].items()}
    bootstrap = {}
    cwd = os.getcwd()
    os.chdir(work_dir)  # the configs' data_root is relative to the work directory
    try:
        for seed in sorted(runs['distilled']) if num_samples > 0 else []:
            bootstrap[seed] = bootstrap_gain_from_predictions(
                student_config, runs['baseline'][seed]['predictions'], runs['distilled'][seed]['predictions'],
                num_samples, seed=seed)
            for role in ('baseline', 'distilled'):
                check_recomputed_map(bootstrap[seed][role], values[role]['pascal_voc/mAP'][seed], f'{role} seed {seed}')
    finally:
        os.chdir(cwd)
    return gain_summary(values['baseline'], values['distilled'], teacher, bootstrap)


def main() -> None:
    args = parse_args()
    start, load_at_start = time.time(), load_average()
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    progress = not args.no_progress
    threads = os.environ.get('OMP_NUM_THREADS')
    print(f"[demo] OMP_NUM_THREADS={threads or 'unset (every core)'}; on a shared machine run one-thread jobs "
          '(OMP_NUM_THREADS=1): oversubscribed threads are several times slower')
    print(f'[demo] generating {args.num_train} + {args.num_val} synthetic images in {work_dir}/data/synthetic')
    generate_dataset(osp.join(work_dir, 'data', 'synthetic'), num_train=args.num_train, num_val=args.num_val,
                     img_size=tuple(args.img_size), seed=0, formats=('coco', ), progress=progress)

    roles = [('teacher', 'teacher', args.teacher), ('baseline', 'baseline student', args.student),
             ('distilled', 'distilled student', args.kd)]
    runs: Dict[str, Dict[int, dict]] = {role: {} for role, _, _ in roles}
    if args.teacher_checkpoint:  # one trained teacher for every seed: tested once
        runs['teacher'][args.seeds[0]] = dict(
            evaluate_checkpoint('teacher', args.teacher, args.teacher_checkpoint, osp.join(work_dir, 'teacher'),
                                work_dir, progress), checkpoint=args.teacher_checkpoint)
    for seed in args.seeds:
        options = schedule_options(args.epochs, seed)
        seed_dir = osp.join(work_dir, f'seed{seed}')
        stage = dict(cwd=work_dir, epochs=args.epochs, progress=progress, resume=args.resume)
        if not args.teacher_checkpoint:
            runs['teacher'][seed] = train_and_test('teacher', args.teacher, args.teacher,
                                                   osp.join(seed_dir, 'teacher'), options=options, **stage)
        teacher_checkpoint = args.teacher_checkpoint or runs['teacher'][seed]['checkpoint']
        runs['baseline'][seed] = train_and_test('baseline', args.student, args.student,
                                                osp.join(seed_dir, 'baseline'), options=options, **stage)
        kd_options = options + [f'model.teacher.checkpoint={teacher_checkpoint}']
        runs['distilled'][seed] = train_and_test('distilled', args.kd, args.student, osp.join(seed_dir, 'distilled'),
                                                 options=kd_options, export=True, **stage)
        for role in ('teacher', 'baseline', 'distilled'):
            if runs[role].get(seed, {}).get('stage') == 'read back':
                print(f'[demo] seed {seed} {role}: finished earlier, read back from {seed_dir}/{role}')

    from det_kd.demo.latency import params_and_latency  # imports torch / mmdet: after the subprocess stages
    costs = params_and_latency(
        {role: (args.student if role != 'teacher' else args.teacher, next(iter(runs[role].values()))['checkpoint'])
         for role, _, _ in roles}, image_size=tuple(args.img_size), runs=args.latency_runs)

    models = [
        dict(name=title, role=role, architecture=osp.basename(config if role != 'distilled' else args.student)[:-3],
             teacher=osp.basename(args.teacher)[:-3] if role == 'distilled' else '-',
             runs={seed: metrics_only(metrics) for seed, metrics in runs[role].items()},
             params=costs[role]['params'], latency=costs[role]['latency'],
             input_size=costs[role]['input_size'])
        for role, title, config in roles
    ]
    table = results_table(models)
    gain = paired_gain(runs, args.student, work_dir, args.bootstrap)
    table += '\n\n## Distilled minus baseline\n\n' + gain_markdown(gain)
    diagnostics = diagnostics_section(work_dir, args.seeds, since=0.0 if args.resume else start)
    from det_kd.benchmark.plots import PlotPoint, plot_accuracy_cost
    plot_accuracy_cost([  # named by architecture: the arrow joins a baseline to its distilled student
        PlotPoint(name=m['architecture'], role=m['role'],
                  metric=mean_std(per_seed_percent(m['runs'], 'pascal_voc/mAP'))[0],
                  latency_ms=m['latency']['median_ms'], params=m['params'],
                  latency_range_ms=(m['latency']['p10_ms'], m['latency']['p90_ms'])) for m in models
    ], osp.join(work_dir, 'accuracy_vs_cost.png'), metric_label='VOC07 mAP@0.5 (%)',
        title='det_kd demo: synthetic shapes')
    minutes = (time.time() - start) / 60
    configs = ''.join(f' --{role} {osp.relpath(getattr(args, role), REPO)}' for role, default in
                      (('teacher', DEFAULT_TEACHER), ('student', DEFAULT_STUDENT), ('kd', DEFAULT_KD))
                      if getattr(args, role) != default)
    if args.teacher_checkpoint:
        configs += f' --teacher-checkpoint {args.teacher_checkpoint}'
    header = (f'# det_kd demo\n\nCommand: `python tools/demo.py --seeds {" ".join(map(str, args.seeds))} '
              f'--num-train {args.num_train} --num-val {args.num_val} --img-size {args.img_size[0]} '
              f'{args.img_size[1]} --epochs {args.epochs}{configs}`; {minutes:.1f} minutes. Metrics in percent '
              f'on {args.num_val} validation images (mean ± std over {len(args.seeds)} seed(s)); CPU latency: '
              f'median (p10-p90) ms of {args.latency_runs} timed `test_step` calls at batch 1 and the input '
              f'size of each model\'s test pipeline, {costs["teacher"]["threads"]} thread(s), models '
              'interleaved.\n\n')
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(header + table + diagnostics + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        environment = dict(machine_info('cpu'), load_average=dict(start=load_at_start, end=load_average()))
        json.dump(dict(args=vars(args), titles={role: title for role, title, _ in roles},
                       per_seed=seeds_summary(models), gain=gain, costs=costs, minutes=minutes,
                       metrics=[key for key, _ in METRICS], environment=environment, notes=JSON_NOTES), f,
                  indent=2)
    print('\n' + table)
    print(f'\n[demo] done in {minutes:.1f} minutes: {work_dir}/results.md, results.json, accuracy_vs_cost.png, '
          'logs under seed*/')


if __name__ == '__main__':
    try:
        main()
    except StageError as error:
        sys.exit(f'[demo] {error}')
