"""The paper's ablation (Table 4) for any teacher / student pair and dataset config.

Trains the baseline student and one distilled student per Table 4 column (L2, L2-B, CLS, CLS-W, Hints,
Hints-A, L2-B+CLS-W, all three; with ``--columns`` also the feature-distillation family: AT, CWD, PKD alone and
"all three + AT" / "+ CWD" / "+ PKD", on the config's hint pairs, and FitNets-2-stage: the config's terms after
a first sixth of the epochs on the hint alone; and method columns: another distillation config file of the same
pair and data, e.g. ``configs/kd/fgd_*.py``, checked at start-up) with the same schedule and seeds, evaluates
each with the plain student config, and writes ``ablation.md`` / ``ablation.json`` (mean and std over seeds)
next to the paper's numbers.
With the Baseline column, every other column's gain is paired by seed (same data and seed as its baseline):
mean, 95 % Student-t interval over seeds and, for VOC07 mAP@0.5, a paired bootstrap over the validation
images per seed (``--bootstrap``).

    python tools/ablation.py configs/kd/kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py \\
        --teacher-checkpoint work_dirs/demo/seed0/teacher/epoch_12.pth --seeds 0 1 2 --work-dir work_dirs/ablation

Run it from the folder holding ``data/`` (configs read their data relative to the working directory). The
metric defaults to the VOC07 mAP@0.5 the synthetic configs report (``--metric coco/bbox_mAP`` etc.).
``--epochs`` applies the demo's schedule (``tools/demo.py --epochs``); ``--jobs N`` trains N runs at once, each
with ``OMP_NUM_THREADS`` = CPU cores / N (on a CPU, N one-thread runs outpace one N-thread run).
"""
import argparse

from det_kd.experiments.ablation import run_ablation
from det_kd.experiments.ablation_columns import ABLATION_COLUMNS, TABLE4_COLUMNS, check_column


def column(value: str) -> str:
    """``--columns`` entries: a named column or a distillation config file (a method column)."""
    try:
        return check_column(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('kd_config', help='distillation config (KDFasterRCNN wrapping the student config)')
    parser.add_argument('--student', help='plain student config (default: the distillation config\'s _base_)')
    parser.add_argument('--teacher-checkpoint', required=True, help='trained teacher checkpoint')
    parser.add_argument('--columns', nargs='+', default=list(TABLE4_COLUMNS), type=column,
                        help=f'default: the Table 4 columns; any of {list(ABLATION_COLUMNS)}; or a distillation '
                        'config file of the same pair (a method column, named by its file: e.g. '
                        'configs/kd/fgd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--metric', default='pascal_voc/mAP', help='metric key of the test runs')
    parser.add_argument('--epochs', type=int, help="train this many epochs with tools/demo.py's schedule "
                        "(default: the config's own schedule)")
    parser.add_argument('--jobs', type=int, default=1, help='runs trained at the same time (default 1)')
    parser.add_argument('--bootstrap', type=int, default=1000, help='paired resamples of the validation images '
                        'per seed for the VOC07 gain intervals (0: none)')
    parser.add_argument('--cfg-options', nargs='*', default=[], help='extra overrides for every run')
    parser.add_argument('--teacher-cache', action='store_true',
                        help='distilled runs read the teacher from a cache shared by every column and seed '
                        '(<work-dir>/teacher_cache: computed once per image and augmentation, the same losses)')
    parser.add_argument('--resume', action='store_true',
                        help='continue the runs in the work dir (started with the same arguments)')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f'--jobs must be >= 1, got {args.jobs}')
    return args


def main() -> None:
    run_ablation(parse_args())


if __name__ == '__main__':
    main()
