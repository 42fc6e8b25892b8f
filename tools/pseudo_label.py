"""Writes a teacher's detections on a folder of images, with each box's class-probability vector.

    python tools/pseudo_label.py TEACHER_CONFIG TEACHER_CHECKPOINT --images DIR --out teacher_results.json
        [--score-thr 0.05] [--batch-size 4] [--device cpu|cuda] [--force] [--no-progress]

Batched inference of the teacher (its config's test pipeline and test_cfg); per detection the file keeps the
box (original pixels, COCO [x, y, w, h]), the label, the score and the softmax of the teacher's RoI head on
that box over every class and background. A student then trains from the file alone, with no teacher weights
(``BlackBoxKDFasterRCNN``, see the README). Any other detector can be the teacher by writing the same format
(det_kd/models/distillation/teacher_results.py).
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

from mmdet.utils import register_all_modules

import det_kd  # noqa: F401  (registers det_kd's models)
from det_kd.engine.pseudo_labels import pseudo_label


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the teacher\'s config')
    parser.add_argument('checkpoint', help='the teacher\'s trained checkpoint')
    parser.add_argument('--images', required=True, help='folder of images (searched recursively)')
    parser.add_argument('--out', required=True, help='the results file to write (JSON)')
    parser.add_argument('--score-thr', type=float, default=0.05, help='keep detections scoring at least this')
    parser.add_argument('--batch-size', type=int, default=4, help='images per forward pass (default 4)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N (default: cpu)')
    parser.add_argument('--force', action='store_true', help='replace --out if it exists')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    if osp.exists(args.out) and not args.force:
        sys.exit(f'tools/pseudo_label.py: {args.out} exists; give --force to replace it')
    if args.batch_size < 1 or not 0.0 <= args.score_thr <= 1.0:
        sys.exit('tools/pseudo_label.py: --batch-size must be >= 1 and --score-thr in [0, 1]')
    register_all_modules(init_default_scope=True)
    try:
        summary = pseudo_label(args.config, args.checkpoint, args.images, args.out, args.score_thr, args.batch_size,
                               args.device, not args.no_progress)
    except (FileNotFoundError, ValueError, KeyError) as error:
        sys.exit(f'tools/pseudo_label.py: {error}')
    print(f"wrote {args.out}: {summary['detections']} detections on {summary['images']} images "
          f"(classes {list(summary['classes'])})")
    return summary


if __name__ == '__main__':
    main()
