"""Beyond one teacher and beyond labels, measured: an ensemble of two teachers against each alone, labeled
images plus unlabeled ones against labeled images only, and a black-box teacher against the white-box one.

    python benchmarks/beyond_one_teacher.py --work-dir work_dirs/beyond --seeds 0 1 2 --jobs 2 \\
        [--vgg16-teacher work_dirs/demo/seed0/teacher/epoch_24.pth] [--resume]

Two settings, every student the demo's (AlexNet at 1/4 width, 256x192, 24 epochs, ``tools/demo.py``'s
schedule), every arm trained with the same seeds, tested with the plain student config on 500 validation
images:

- ``demo`` (the demo's data: 200 labeled images): two teachers, the demo's VGG16 at 1/4 width trained from
  seeds 0 and 1 (pass the demo's seed-0 teacher with ``--vgg16-teacher``); arms ``baseline`` (no teacher),
  ``kd_vgg16`` (teacher seed 0), ``kd_vgg16_seed1``, ``kd_ensemble`` (both, 0.5 / 0.5) with the demo's terms
  (hint gamma 10, centre-aligned), ``kd_ensemble_hint0`` (the same, the hint to teacher 0 only), and
  ``blackbox_vgg16`` (the seed-0 teacher's detections written by
  ``tools/pseudo_label.py`` on the training images, no teacher weights).
- ``semi`` (100 labeled images, 400 unlabeled from another generator seed): a VGG16 teacher trained on the 100
  (48 epochs: the same number of steps as the demo's teacher); arms ``baseline`` and ``kd`` (the paper's
  terms) on the labeled images, and on labeled + unlabeled (4 + 4 per batch: the same steps and labeled
  batches as ``kd``): ``pseudo_only`` (the teacher's detections >= 0.5 as ground truth, no distillation
  term), ``soft_only`` (the paper's terms, no ground truth on unlabeled images) and ``both``.

Writes ``<work-dir>/beyond_one_teacher.md`` and ``.json``: each arm's mean ± std over seeds and each
comparison's paired gain (95 % Student-t interval over seeds; paired bootstrap over the validation images
per seed), and ``beyond_one_teacher.png``. Run it from the repository root; ``--resume`` continues.
"""
import argparse
import contextlib
import json
import os
import os.path as osp
import platform
import shutil
import subprocess
import sys
import time
from typing import Dict, List

from det_kd.experiments.comparison import Arm, paired_comparison, run_arms
from det_kd.experiments.gain import GAIN_METRICS, format_interval
from det_kd.experiments.results import mean_std, metric_percent
from det_kd.experiments.stages import latest_test_metrics, run_tool

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
EPOCHS = 24
PAPER_TERMS = ('loss_hint', 'rpn_cls', 'rpn_reg', 'rcn_cls', 'rcn_reg')


def config(name: str) -> str:
    return osp.join(REPO, 'configs', 'demo', name)


STUDENT = config('faster-rcnn_alexnet-w0.25_demo.py')
VGG16 = config('faster-rcnn_vgg16-w0.25_demo.py')
KD = config('kd_alexnet-w0.25-vgg16-w0.25_demo.py')  # the paper's terms and defaults
KD_DEMO = config('kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py')  # the demo's: hint gamma 10, centre-aligned
ENSEMBLE = config('kd_alexnet-w0.25-ensemble-2x-vgg16-w0.25_demo.py')
BLACKBOX = config('blackbox_alexnet-w0.25-vgg16-w0.25_demo.py')
UNLABELED = config('kd_alexnet-w0.25-vgg16-w0.25_unlabeled_demo.py')

#: (setting, reference arm, other arm, what the gain answers)
COMPARISONS = [
    ('demo', 'baseline', 'kd_vgg16', 'distillation from teacher 0'),
    ('demo', 'baseline', 'kd_vgg16_seed1', 'distillation from teacher 1'),
    ('demo', 'baseline', 'kd_ensemble', 'distillation from the ensemble of both'),
    ('demo', 'kd_vgg16', 'kd_ensemble', 'ensemble vs teacher 0 alone'),
    ('demo', 'kd_vgg16_seed1', 'kd_ensemble', 'ensemble vs teacher 1 alone'),
    ('demo', 'kd_ensemble', 'kd_ensemble_hint0', "ensemble, hint to teacher 0 only vs to both"),
    ('demo', 'kd_vgg16', 'kd_ensemble_hint0', 'ensemble, hint to teacher 0 only vs teacher 0 alone'),
    ('demo', 'baseline', 'blackbox_vgg16', 'black-box distillation from teacher 0'),
    ('demo', 'blackbox_vgg16', 'kd_vgg16', 'white-box vs black-box (same teacher)'),
    ('semi', 'baseline', 'kd', 'distillation on the labeled images'),
    ('semi', 'baseline', 'pseudo_only', '+ unlabeled: pseudo-labels only'),
    ('semi', 'baseline', 'soft_only', '+ unlabeled: soft only'),
    ('semi', 'baseline', 'both', '+ unlabeled: pseudo-labels and soft'),
    ('semi', 'kd', 'both', 'both vs distillation on the labeled images only'),
    ('semi', 'pseudo_only', 'both', 'both vs pseudo-labels only'),
    ('semi', 'soft_only', 'both', 'both vs soft only'),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--jobs', type=int, default=1, help='runs trained at the same time')
    parser.add_argument('--vgg16-teacher', help='the demo VGG16 teacher of seed 0 on the demo data (else trained)')
    parser.add_argument('--bootstrap', type=int, default=1000, help='paired resamples of the images per seed')
    parser.add_argument('--settings', nargs='+', choices=['demo', 'semi'], default=['demo', 'semi'])
    parser.add_argument('--arms', nargs='+', help='train only these student arms (e.g. to spread the arms over '
                        'processes sharing the work dir; a later run with --resume reads them back); the '
                        'comparisons whose two arms ran are reported')
    parser.add_argument('--resume', action='store_true')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args()


def make_data(data_dir: str, num_train: int, unlabeled: int = 0) -> None:
    """The synthetic shapes at 256x192 under ``data_dir/data/synthetic`` (dataset seed 0, 500 validation
    images) and ``unlabeled`` more images (dataset seed 1) in ``data/synthetic/unlabeled``, unless there."""
    root = osp.join(data_dir, 'data', 'synthetic')
    tool = [sys.executable, osp.join(REPO, 'tools', 'make_synthetic_data.py'), '--img-size', '256', '192',
            '--formats', 'coco', '--no-progress']
    if not osp.isdir(osp.join(root, 'coco')):
        subprocess.run([*tool, '--out', root, '--num-train', str(num_train), '--num-val', '500', '--seed', '0'],
                       check=True)
    target = osp.join(root, 'unlabeled')
    if unlabeled and not osp.isdir(target):
        source = osp.join(data_dir, 'unlabeled_source')
        subprocess.run([*tool, '--out', source, '--num-train', str(unlabeled), '--num-val', '1', '--seed', '1'],
                       check=True)
        shutil.copytree(osp.join(source, 'coco', 'train'), target)  # images only: nobody annotated them


def checkpoint(runs: Dict[str, Dict[int, dict]], arm: str, seed: int = 0) -> str:
    return runs[arm][seed]['checkpoint']


def run_demo_setting(args: argparse.Namespace, work: str) -> Dict[str, Dict[int, dict]]:
    data = osp.join(work, 'data_dir')
    make_data(data, 200)
    teacher_seeds = [1] if args.vgg16_teacher else [0, 1]
    runs = run_arms([Arm('teacher_vgg16', VGG16, VGG16, data)], teacher_seeds, work, EPOCHS, args.jobs,
                    args.resume, not args.no_progress)
    vgg16 = osp.abspath(args.vgg16_teacher) if args.vgg16_teacher else checkpoint(runs, 'teacher_vgg16')
    vgg16_seed1 = checkpoint(runs, 'teacher_vgg16', seed=1)
    given_test = osp.join(osp.dirname(vgg16), 'test')  # a given teacher's own test (the demo's layout)
    if args.vgg16_teacher and osp.isdir(given_test):
        runs['teacher_vgg16'][0] = dict(latest_test_metrics(given_test), checkpoint=vgg16)
    results = osp.join(work, 'teacher_results_vgg16.json')
    if not osp.isfile(results):
        run_tool('pseudo_label.py', [VGG16, vgg16, '--images', osp.join(data, 'data', 'synthetic', 'coco', 'train'),
                                     '--out', results, '--no-progress'],
                 osp.join(work, 'pseudo_label.log'), 'pseudo-label', data, show_progress=False)
    students = [
        Arm('baseline', STUDENT, STUDENT, data),
        Arm('kd_vgg16', KD_DEMO, STUDENT, data, [f'model.teacher.checkpoint={vgg16}']),
        Arm('kd_vgg16_seed1', KD_DEMO, STUDENT, data, [f'model.teacher.checkpoint={vgg16_seed1}']),
        Arm('kd_ensemble', ENSEMBLE, STUDENT, data,
            [f'model.teacher.0.checkpoint={vgg16}', f'model.teacher.1.checkpoint={vgg16_seed1}']),
        # the same, the hint to teacher 0 only (teacher 1 teaches through the heads): does matching two
        # unrelated feature spaces at once hold the student back?
        Arm('kd_ensemble_hint0', ENSEMBLE, STUDENT, data,
            [f'model.teacher.0.checkpoint={vgg16}', f'model.teacher.1.checkpoint={vgg16_seed1}',
             'model.teacher.1.hints=[]']),
        Arm('blackbox_vgg16', BLACKBOX, STUDENT, data, [f'model.teacher.results={results}']),
    ]
    runs.update(run_arms(selected(students, args), args.seeds, work, EPOCHS, args.jobs, args.resume,
                         not args.no_progress))
    return runs


def selected(arms: List[Arm], args: argparse.Namespace) -> List[Arm]:
    return [arm for arm in arms if not args.arms or arm.name in args.arms]


def run_semi_setting(args: argparse.Namespace, work: str) -> Dict[str, Dict[int, dict]]:
    data = osp.join(work, 'data_dir')
    make_data(data, 100, unlabeled=400)
    runs = run_arms([Arm('teacher_vgg16', VGG16, VGG16, data, epochs=2 * EPOCHS)], [0], work, EPOCHS, args.jobs,
                    args.resume, not args.no_progress)
    teacher = [f"model.teacher.checkpoint={checkpoint(runs, 'teacher_vgg16')}"]
    students = [
        Arm('baseline', STUDENT, STUDENT, data),
        Arm('kd', KD, STUDENT, data, teacher),
        Arm('pseudo_only', UNLABELED, STUDENT, data, teacher + [f'model.distill.{key}=None' for key in PAPER_TERMS]),
        Arm('soft_only', UNLABELED, STUDENT, data, teacher + ['model.pseudo_label_thr=None']),
        Arm('both', UNLABELED, STUDENT, data, teacher),
    ]
    runs.update(run_arms(selected(students, args), args.seeds, work, EPOCHS, args.jobs, args.resume,
                         not args.no_progress))
    return runs


def arm_rows(setting: str, runs: Dict[str, Dict[int, dict]]) -> List[str]:
    rows = []
    for arm, by_seed in runs.items():
        if not by_seed:
            continue
        cells = []
        for key, _ in GAIN_METRICS:
            mean, std = mean_std([metric_percent(key, run[key]) for run in by_seed.values()])
            cells.append(f'{mean:.1f} ± {std:.1f}' if len(by_seed) > 1 else f'{mean:.1f}')
        rows.append(f"| {setting} | {arm} | {len(by_seed)} | {' | '.join(cells)} |")
    return rows


def comparison_rows(summaries: List[dict]) -> List[str]:
    rows = []
    for item in summaries:
        metrics = item['summary']['metrics']
        cells = [format_interval(metrics[key]['mean'], metrics[key]['low'], metrics[key]['high'])
                 for key, _ in GAIN_METRICS]
        voc = metrics['pascal_voc/mAP']
        per_seed = ', '.join(f'{gain:+.1f}' for gain in voc['gains'].values())
        boot = '; '.join(f"{format_interval(b['gain'], b['low'], b['high'])}"
                         for _, b in sorted(item['summary']['bootstrap'].items()))
        rows.append(f"| {item['setting']} | {item['other']} − {item['reference']} | {item['question']} | "
                    f"{' | '.join(cells)} | {per_seed} | {voc['verdict']} | {boot} |")
    return rows


def plot(summaries: List[dict], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.45 * len(summaries) + 1.2))
    for row, item in enumerate(reversed(summaries)):
        voc = item['summary']['metrics']['pascal_voc/mAP']
        low, high = voc['low'], voc['high']
        ax.errorbar(voc['mean'], row, xerr=[[voc['mean'] - low], [high - voc['mean']]], fmt='o', capsize=3,
                    color='tab:green' if low > 0 else 'tab:red' if high < 0 else 'tab:gray')
        for gain in voc['gains'].values():
            ax.plot(gain, row, '.', color='black', alpha=0.4)
    ax.axvline(0, color='black', lw=0.8)
    ax.set_yticks(range(len(summaries)))
    ax.set_yticklabels([f"{i['setting']}: {i['other']} − {i['reference']}" for i in reversed(summaries)])
    ax.set_xlabel('paired gain, VOC07 mAP@0.5 (points): mean, 95 % CI over seeds, dots = seeds')
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    args = parse_args()
    start, load_before = time.time(), os.getloadavg()
    runs = {}
    if 'demo' in args.settings:
        runs['demo'] = run_demo_setting(args, osp.join(args.work_dir, 'demo'))
    if 'semi' in args.settings:
        runs['semi'] = run_semi_setting(args, osp.join(args.work_dir, 'semi'))
    summaries = []
    for setting, reference, other, question in COMPARISONS:
        if setting not in runs or reference not in runs[setting] or other not in runs[setting]:
            continue
        with contextlib.chdir(osp.join(args.work_dir, setting, 'data_dir')):  # the test set the runs used
            summary = paired_comparison(STUDENT, runs[setting][reference], runs[setting][other], args.bootstrap,
                                        names=(reference, other))
        summaries.append(dict(setting=setting, reference=reference, other=other, question=question,
                              summary=summary))
    minutes = (time.time() - start) / 60
    stages = [run.get('stage') for by_arm in runs.values() for by_seed in by_arm.values() for run in by_seed.values()]
    done_here = sum(stage in ('trained', 'resumed', 'tested') for stage in stages)
    lines = [
        '# Beyond one teacher: ensembles, unlabeled images, black-box teachers', '',
        f"Command: `python benchmarks/beyond_one_teacher.py {' '.join(sys.argv[1:])}`; {minutes:.0f} minutes on "
        f'{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), {args.jobs} runs at a time, '
        f'load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after; {done_here} of the '
        f'{len(stages)} runs trained or tested by this invocation, the others read back from earlier ones '
        '(`--resume`).', '',
        'Metrics in percent on 500 validation images, mean ± std over seeds (the teachers: over their seeds).', '',
        '| setting | arm | seeds | VOC07 mAP@0.5 | COCO mAP@[.5,.95] | COCO AP@0.75 |', '|---|---|---|---|---|---|']
    for setting, by_arm in runs.items():
        lines += arm_rows(setting, by_arm)
    lines += ['', '## Paired gains', '',
              'Gain of the second arm over the first (same data and seed), mean [95 % CI over seeds]; the last '
              'column: the paired bootstrap over the validation images per seed (VOC07 mAP@0.5).', '',
              '| setting | gain | question | VOC07 mAP@0.5 | COCO mAP | COCO AP@0.75 | VOC07 per seed | '
              'verdict (VOC07) | bootstrap per seed |', '|---|---|---|---|---|---|---|---|---|']
    lines += comparison_rows(summaries)
    os.makedirs(args.work_dir, exist_ok=True)
    out = osp.join(args.work_dir, 'beyond_one_teacher')
    with open(out + '.md', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(out + '.json', 'w') as f:
        json.dump(dict(args=vars(args), minutes=minutes, comparisons=summaries,
                       runs={s: {a: {str(k): v for k, v in r.items()} for a, r in by_arm.items()}
                             for s, by_arm in runs.items()}), f, indent=2)
    plot(summaries, out + '.png')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
