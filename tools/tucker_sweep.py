"""The paper's Table 3: AlexNet Tucker-2 compressed to several FLOPs ratios, fine-tuned vs distilled.

For each seed: trains the teacher and the dense student (AlexNet), then for every ``--flops-ratios`` value
compresses the dense student's backbone with ``tools/tucker_compress.py`` (FLOPs counted at the training image
size) and trains the compressed detector twice from the same decomposed weights with the same schedule:
fine-tuned alone (the paper's "fine-tune only") and distilled from the teacher (the demo's distillation
settings, ``--kd``). Every model is tested with its plain config; writes into the work directory
``tucker_sweep.md`` (the table beside the paper's numbers), ``tucker_sweep.json`` and every run's logs.

    python tools/tucker_sweep.py                                  # synthetic data, 24 epochs, seed 0
    python tools/tucker_sweep.py --seeds 0 1 2 --flops-ratios 0.25 0.375
    python tools/tucker_sweep.py --teacher-checkpoint work_dirs/demo/seed0/teacher/epoch_24.pth

By default it generates the synthetic shapes dataset in ``<work dir>/data/synthetic`` and runs the tools
there; ``--data-ready`` runs them in the current directory instead (the folder holding ``data/`` for any
dataset config, e.g. ``--teacher configs/faster_rcnn/faster-rcnn_vgg16_1x_voc07.py --student
configs/faster_rcnn/faster-rcnn_alexnet_1x_voc07.py --img-size 1000 600``).

Paper (PASCAL VOC07 mAP, AlexNet at 20/25/30/37.5/45% of its FLOPs, VGG16 teacher): fine-tune only
30.3/49.3/51.4/54.7/55.2, distilled 35.5/55.4/56.8/59.4/59.5.
"""
import argparse
import os.path as osp
from typing import List, Optional

from det_kd.experiments.tucker_sweep import (DEFAULT_KD, DEFAULT_STUDENT, DEFAULT_TEACHER, PAPER_TABLE3,
                                             run_tucker_sweep)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments (see the module docstring); config and checkpoint paths made absolute."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/tucker_sweep', help='where data, runs and results go')
    parser.add_argument('--flops-ratios', type=float, nargs='+', default=sorted(PAPER_TABLE3),
                        help='backbone FLOPs of the compressed students / the dense student\'s (default: the '
                        "paper's 0.2 0.25 0.3 0.375 0.45)")
    parser.add_argument('--seeds', type=int, nargs='+', default=[0], help='training seeds (everything is '
                        'trained once per seed)')
    parser.add_argument('--epochs', type=int, default=24, help='epochs of the teacher and the dense student')
    parser.add_argument('--finetune-epochs', type=int, help='epochs of the fine-tuned and the distilled '
                        'compressed students (default: --epochs)')
    parser.add_argument('--teacher', default=DEFAULT_TEACHER, help='teacher config')
    parser.add_argument('--student', default=DEFAULT_STUDENT, help='dense student config (a PlainConvNet '
                        'backbone: AlexNet, VGG-M, VGG16)')
    parser.add_argument('--kd', default=DEFAULT_KD, help='distillation config whose model.type, model.teacher '
                        'options, model.distill and custom_hooks are applied to every compressed student')
    parser.add_argument('--teacher-checkpoint', help='trained teacher (of --teacher): skips its training')
    parser.add_argument('--dense-checkpoint', help='trained dense student (of --student): skips its training')
    parser.add_argument('--num-train', type=int, default=200, help='generated training images')
    parser.add_argument('--num-val', type=int, default=100, help='generated validation images')
    parser.add_argument('--img-size', type=int, nargs=2, default=(256, 192), metavar=('W', 'H'),
                        help='image size of the generated data and of the FLOPs count (default 256 192, the '
                        'scale of configs/demo)')
    parser.add_argument('--data-ready', action='store_true', help='generate nothing: run the tools in the current '
                        'directory, which holds the data/ the configs read')
    parser.add_argument('--metric', default='pascal_voc/mAP', help='metric key of the test runs')
    parser.add_argument('--cfg-options', nargs='*', default=[], help='extra overrides for every training')
    parser.add_argument('--resume', action='store_true',
                        help='continue the runs in the work dir (started with the same arguments)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    args = parser.parse_args(argv)
    for name in ('teacher', 'student', 'kd', 'teacher_checkpoint', 'dense_checkpoint', 'work_dir'):
        if getattr(args, name) is not None:
            setattr(args, name, osp.abspath(getattr(args, name)))
    if args.finetune_epochs is None:
        args.finetune_epochs = args.epochs
    bad = [ratio for ratio in args.flops_ratios if not 0.0 < ratio < 1.0]
    if bad:
        parser.error(f'--flops-ratios must be in (0, 1), got {bad}')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point."""
    run_tucker_sweep(parse_args(argv))


if __name__ == '__main__':
    main()
