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
import os.path as osp
import sys

from det_kd.experiments import StageError
from det_kd.experiments.demo import DEFAULT_KD, DEFAULT_STUDENT, DEFAULT_TEACHER, run_demo


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


def main() -> None:
    run_demo(parse_args())


if __name__ == '__main__':
    try:
        main()
    except StageError as error:
        sys.exit(f'[demo] {error}')
