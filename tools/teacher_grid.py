"""Which teacher? The paper's Table 1 (teacher x student grid) on any dataset config, with paired seeds.

Trains each teacher once (or takes ``--teacher-checkpoint NAME=PATH``), each student alone per seed, and each
student distilled from each larger teacher per seed (``--pairs all``: every pair), all with one distillation
recipe (``--recipe``: a distillation config whose ``model.distill`` and ``custom_hooks`` every pair uses);
optionally a teacher-assistant chain (``--assistant T A S``: S distilled from A, itself distilled from T,
against S distilled from T directly) and early-stopped distillation (``--early-stop 0.25 0.5``: the terms off
after that fraction of the iterations, against full distillation and the student alone). Writes
``teacher_grid.md`` (the paper's table form: per student its params, latency and mAP alone, then one row per
teacher with the distilled mAP, the paired gain with its 95 % interval over seeds, per-seed gains, the gap to
the teacher closed and the paper's PASCAL numbers beside; then "larger teacher against the next smaller" and
the extra arms' comparisons; what each teacher gives, from the distilled runs' diagnostics),
``teacher_grid.json`` and ``teacher_grid.png`` (gain against teacher mAP) into ``--work-dir``. Resumable
(``--resume``); one grid at a time in a work dir (a second is refused).

    python tools/make_synthetic_data.py --out data/synthetic --num-train 200 --num-val 500 --formats coco
    python tools/teacher_grid.py --seeds 0 1 2 --jobs 2 --work-dir work_dirs/teacher_grid \\
        --assistant VGG16 VGGM AlexNet --early-stop 0.25 0.5

Defaults: the paper's lower triangle at 1/4 width on the synthetic shapes (students Tucker-AlexNet, AlexNet,
VGG-M; teachers AlexNet, VGG-M, VGG16; ``configs/faster_rcnn/*-w0.25_12e_synthetic-coco.py``) with the demo's
distillation (``configs/demo/kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py``). Run it from the folder
holding ``data/`` (or pass ``--data-dir``).
"""
import argparse
import os.path as osp

from det_kd.experiments.teacher_grid import parse_model, run_grid
from det_kd.utils.work_dir_lock import WorkDirBusy

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _synthetic(name: str) -> str:
    return osp.relpath(osp.join(REPO, 'configs', 'faster_rcnn', f'faster-rcnn_{name}-w0.25_12e_synthetic-coco.py'))


def model(text: str):
    try:
        return parse_model(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def checkpoint(text: str):
    name, sep, path = text.partition('=')
    if not sep or not osp.isfile(path):
        raise argparse.ArgumentTypeError(f'{text!r}: expected NAME=CHECKPOINT of an existing file')
    return name, osp.abspath(path)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--students', nargs='+', type=model,
                        default=[f'Tucker={_synthetic("tucker-alexnet")}', f'AlexNet={_synthetic("alexnet")}',
                                 f'VGGM={_synthetic("vggm")}'],
                        help='NAME=CONFIG of each student (plain detector configs); default: the paper\'s at 1/4 '
                        'width on the synthetic shapes')
    parser.add_argument('--teachers', nargs='+', type=model,
                        default=[f'AlexNet={_synthetic("alexnet")}', f'VGGM={_synthetic("vggm")}',
                                 f'VGG16={_synthetic("vgg16")}'], help='NAME=CONFIG of each teacher')
    parser.add_argument('--recipe', default=osp.relpath(osp.join(
        REPO, 'configs', 'demo', 'kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py')),
                        help="distillation config whose model.distill and custom_hooks every pair uses")
    parser.add_argument('--pairs', choices=['larger', 'all'], default='larger',
                        help="'larger': teachers with more parameters than the student (the paper's lower "
                        "triangle); 'all': every pair of two different models")
    parser.add_argument('--teacher-checkpoint', dest='teacher_checkpoints', nargs='+', type=checkpoint,
                        default=[], metavar='NAME=CHECKPOINT', help='trained teachers to use instead of training')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0], help='student seeds (paired)')
    parser.add_argument('--teacher-seed', type=int, default=0)
    parser.add_argument('--epochs', type=int, default=12, help='student epochs (the schedule of tools/demo.py)')
    parser.add_argument('--teacher-epochs', type=int, default=24)
    parser.add_argument('--assistant', nargs=3, metavar=('TEACHER', 'ASSISTANT', 'STUDENT'),
                        help='also distil STUDENT from ASSISTANT distilled from TEACHER (same seed), against '
                        'STUDENT from TEACHER directly')
    parser.add_argument('--early-stop', type=float, nargs='+', default=[], metavar='FRACTION',
                        help='also distil --early-stop-pair with the terms off after each fraction of training')
    parser.add_argument('--early-stop-pair', nargs=2, default=['AlexNet', 'VGG16'], metavar=('STUDENT', 'TEACHER'))
    parser.add_argument('--metric', default='pascal_voc/mAP')
    parser.add_argument('--bootstrap', type=int, default=1000,
                        help='paired resamples of the validation images per seed (0: none)')
    parser.add_argument('--latency-runs', type=int, default=20, help='timed rounds per student (0: no latency)')
    parser.add_argument('--image-size', type=int, nargs=2, default=[320, 240], metavar=('W', 'H'),
                        help='image size at which the students are timed (through their test pipelines)')
    parser.add_argument('--data-dir', default='.', help="the folder holding the configs' data/")
    parser.add_argument('--work-dir', default='work_dirs/teacher_grid')
    parser.add_argument('--jobs', type=int, default=1, help='runs trained at the same time')
    parser.add_argument('--no-teacher-cache', action='store_true',
                        help='run the teachers live in every distilled step (default: each teacher computed once '
                        'per image and augmentation, cached under <work-dir>/teacher_cache; the same losses)')
    parser.add_argument('--resume', action='store_true', help='continue the runs in the work dir')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args()
    args.students = [model(m) if isinstance(m, str) else m for m in args.students]
    args.teachers = [model(m) if isinstance(m, str) else m for m in args.teachers]
    args.teacher_checkpoints = dict(args.teacher_checkpoints)
    for fraction in args.early_stop:
        if not 0 < fraction <= 1:
            parser.error(f'--early-stop {fraction}: a fraction of training in (0, 1]')
    if args.jobs < 1 or args.epochs < 1 or args.teacher_epochs < 1:
        parser.error('--jobs, --epochs and --teacher-epochs must be >= 1')
    return args


def main() -> None:
    try:
        run_grid(parse_args())
    except (ValueError, WorkDirBusy) as error:
        raise SystemExit(f'teacher_grid: {error}') from None


if __name__ == '__main__':
    main()
