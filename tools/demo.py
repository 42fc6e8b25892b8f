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
    python tools/demo.py --voc-root data/BCCD --work-dir work_dirs/demo_bccd   # your own PASCAL VOC folder
    python tools/demo.py --data-config my_coco_dataset.py --work-dir work_dirs/demo_mine  # any dataset config
    python tools/demo.py --voc-root data/BCCD --seeds 0 1 2 --methods paper pkd cwd at   # which method, ranked
    python tools/demo.py --voc-root data/BCCD --folds 5 --work-dir work_dirs/bccd_folds  # every image tested once

On your own data (``--voc-root`` or ``--data-config``) the pair's model configs are put on that data (class
count, input size, the dataset's evaluators plus VOC07 and COCO mAP; RPN anchors fitted to the training boxes
where they fit poorly, ``--keep-anchors`` to keep them) and written into ``<work-dir>/configs``, where
``tools/train.py`` and ``tools/test.py`` run them as they are.

A work directory that holds an earlier demo's runs is refused unless --resume is given: finished stages
are then read back, a trained one is only tested, a stage with a checkpoint continues with MMEngine's resume.
"""
import argparse
import os.path as osp
import sys

from det_kd.experiments import StageError
from det_kd.experiments.demo import DEFAULT_KD, DEFAULT_STUDENT, DEFAULT_TEACHER, run_demo
from det_kd.experiments.method_screen import METHOD_ALIASES


def pixels(minimum: int):
    """An argparse type: a whole number of pixels, at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'{text!r} is not a whole number of pixels') from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f'{value}: must be at least {minimum} pixels')
        return value
    return parse


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/demo', help='where data, runs and results go')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0], help='training seeds (one run each)')
    parser.add_argument('--num-train', type=int, default=200, help='training images')
    parser.add_argument('--num-val', type=int, default=500,
                        help='validation images (500: the bootstrap interval of one seed\'s gain is about ±2 points)')
    parser.add_argument('--img-size', type=pixels(1), nargs=2, default=(256, 192), metavar=('W', 'H'),
                        help='image size of the generated data (the demo configs resize to 256x192)')
    own = parser.add_argument_group('your own data (instead of generated data)')
    source = own.add_mutually_exclusive_group()
    source.add_argument('--voc-root', metavar='DIR', help='a PASCAL VOC layout (JPEGImages/, Annotations/, '
                        'ImageSets/Main/*.txt) at DIR or DIR/VOC2007')
    source.add_argument('--data-config', metavar='FILE', help='an MMDetection dataset config (train_dataloader, '
                        'test_dataloader or val_dataloader, test_evaluator or val_evaluator; COCO, '
                        'KittiDataset, custom); relative paths are read from the current directory')
    own.add_argument('--classes', nargs='+', help='--voc-root: the classes, in label order (default: the '
                     'object names of the annotations, sorted)')
    own.add_argument('--train-split', help='--voc-root: training split (default: trainval, else train)')
    own.add_argument('--val-split', help='--voc-root: validation split (default: test, else val)')
    own.add_argument('--input-size', type=pixels(1), nargs=2, metavar=('W', 'H'),
                     help='input size of the models (default: the median training image, longer side at most '
                     '320 px)')
    anchors = own.add_mutually_exclusive_group()
    anchors.add_argument('--keep-anchors', action='store_true',
                         help='keep the configs\' RPN anchors even where they fit the training boxes poorly '
                         '(default: where more than 10 %% of the boxes at the input size are smaller than half the '
                         'smallest anchor or larger than twice the largest, fit the anchor scales and ratios to the '
                         'boxes, the same for every model, and print the coverage before and after)')
    anchors.add_argument('--fit-anchors', action='store_true',
                         help='fit the RPN anchors to the training boxes even where the configs\' fit them')
    parser.add_argument('--epochs', type=int, default=24, help='training epochs of every model')
    parser.add_argument('--teacher', default=DEFAULT_TEACHER, help='teacher config')
    parser.add_argument('--student', default=DEFAULT_STUDENT, help='plain student config (the baseline)')
    parser.add_argument('--kd', default=DEFAULT_KD, help='distillation config (wraps the student config)')
    own.add_argument('--folds', type=int, metavar='K',
                     help='k-fold evaluation on a small dataset: pool the training and validation images, split them '
                     'into K folds, run the demo per fold (train on the others, test on it) and pair baseline and '
                     'distilled per fold and seed, one interval over all of them; every labelled image is tested '
                     'once (a teacher is trained per fold: no --teacher-checkpoint)')
    parser.add_argument('--methods', nargs='+', metavar='NAME',
                        help='a method screen: several distillation methods of the pair, each trained on the same '
                        'seeds against the same baselines and ranked by their paired gain in results.md; a name is '
                        f'a short name ({", ".join(sorted(METHOD_ALIASES))}), a column of tools/ablation.py (e.g. '
                        '"PKD-batch", "CLS-W") applied to --kd, or a distillation config file of the same pair')
    parser.add_argument('--teacher-checkpoint', help='a trained teacher checkpoint (of --teacher) to distil from '
                        'for every seed, instead of training a teacher per seed; any MMDetection detector trained on '
                        'the data\'s classes (checked): the terms it cannot give are switched off and the feature '
                        'pairs matched to its strides, said in results.md')
    parser.add_argument('--bootstrap', type=int, default=1000,
                        help='paired resamples of the validation images per seed for the gain interval')
    parser.add_argument('--latency-runs', type=int, default=30, help='timed test_step calls per model')
    parser.add_argument('--pictures', type=int, default=4,
                        help='validation images drawn into predictions.png (ground truth, teacher, baseline, '
                        'distilled); 0: none')
    parser.add_argument('--score-thr', type=float, default=0.3, help='score threshold of the drawn detections')
    parser.add_argument('--no-teacher-cache', action='store_true',
                        help='run the teacher live in every distilled step (default: compute it once per image and '
                        'augmentation and read it back, when the training pipeline allows it; the same losses)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument('--resume', action='store_true',
                        help='continue the runs in --work-dir (started with the same arguments)')
    args = parser.parse_args()
    if args.folds is not None and args.folds < 2:
        parser.error(f'--folds {args.folds}: give at least 2 folds')
    for flag in ('classes', 'train_split', 'val_split'):
        if getattr(args, flag) and not args.voc_root:
            parser.error(f'--{flag.replace("_", "-")} goes with --voc-root (a dataset config sets its own)')
    if args.input_size and not (args.voc_root or args.data_config):
        parser.error('--input-size goes with --voc-root or --data-config (generated data: --img-size)')
    for flag in ('keep_anchors', 'fit_anchors'):
        if getattr(args, flag) and not (args.voc_root or args.data_config):
            parser.error(f'--{flag.replace("_", "-")} goes with --voc-root or --data-config (the generated data fit '
                         'the anchors)')
    for role in ('teacher', 'student', 'kd', 'teacher_checkpoint', 'voc_root', 'data_config'):
        if getattr(args, role):  # the tools run in the work directory
            setattr(args, role, osp.abspath(getattr(args, role)))
    if args.teacher_checkpoint and not osp.isfile(args.teacher_checkpoint):
        parser.error(f'--teacher-checkpoint {args.teacher_checkpoint}: no such file')
    return args


def main() -> None:
    args = parse_args()
    if args.folds:
        from det_kd.experiments.demo_folds import run_folds
        run_folds(args)
    else:
        run_demo(args)


if __name__ == '__main__':
    try:
        main()
    except StageError as error:
        sys.exit(f'[demo] {error}')
