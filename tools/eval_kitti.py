"""Evaluates KITTI 2D detection results exactly like the official devkit (AP R11 and R40).

Example:
    python tools/eval_kitti.py --gt-dir data/kitti/training/label_2 \\
        --det-dir work_dirs/faster-rcnn/kitti_results --split data/kitti/ImageSets/val.txt \\
        --classes Car Pedestrian Cyclist --json work_dirs/faster-rcnn/kitti_ap.json

Result files hold one detection per line in the 16-column KITTI format
(``Car -1 -1 -10 x1 y1 x2 y2 -1 -1 -1 -1000 -1000 -1000 -10 score``); a
missing result file means no detections for that image.
"""
import argparse
import importlib.util
import json
import os.path as osp
import sys
from typing import Dict, List, Optional

if importlib.util.find_spec('det_kd_kitti') is None:  # run from a checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

# det_kd_kitti, not det_kd.evaluation.functional: numpy only, no torch / mmcv / mmdet to import (see its docstring)
from det_kd_kitti import (DEFAULT_CLASSES, classes_without_ground_truth, format_kitti_table,  # noqa: E402
                          kitti_eval_2d, load_kitti_gt_and_results)


def parse_min_overlaps(items: Optional[List[str]]) -> Dict[str, float]:
    """Parses ``NAME=VALUE`` pairs, e.g. ``Car=0.7``.

    Args:
        items (list[str], optional): The pairs. Defaults to None (none given).

    Returns:
        dict[str, float]: Minimum overlap per class name.
    """
    overlaps = {}
    for item in items or []:
        name, sep, value = item.partition('=')
        if not sep or not name:
            raise argparse.ArgumentTypeError(f'--min-overlap expects NAME=VALUE, got {item!r}')
        overlaps[name] = float(value)
    return overlaps


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(description='KITTI 2D object detection evaluation (devkit semantics).')
    parser.add_argument('--gt-dir', required=True, help='ground-truth label folder (label_2)')
    parser.add_argument('--det-dir', required=True, help='folder of result files, one per image')
    parser.add_argument('--split', help='file of image ids, one per line (default: all GT files)')
    parser.add_argument('--classes', nargs='+', default=list(DEFAULT_CLASSES), help='classes to evaluate')
    parser.add_argument('--min-overlap', nargs='*', metavar='NAME=VALUE',
                        help='minimum IoU per class (default: Car 0.7, Pedestrian 0.5, Cyclist 0.5)')
    parser.add_argument('--default-min-overlap', type=float, default=0.5,
                        help='minimum IoU of classes without a KITTI or explicit value')
    parser.add_argument('--keep-empty-classes', action='store_true',
                        help='evaluate without the requested classes that have no ground truth (left out of the '
                        'mean) instead of refusing them (a typo such as Strr would lower the mean)')
    parser.add_argument('--json', help='write the APs (percent) to this JSON file')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, dict]:
    """Runs the evaluation, prints the table and optionally writes the JSON.

    Returns:
        dict: ``{cls: {'R11': {...}, 'R40': {...}}, ..., 'mean': {...}}`` (AP in percent).
    """
    args = parse_args(argv)
    try:
        ids, gt_annos, dt_annos = load_kitti_gt_and_results(args.gt_dir, args.det_dir, args.split)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'tools/eval_kitti.py: {error}')
    empty = classes_without_ground_truth(gt_annos, args.classes)
    if empty and not args.keep_empty_classes:
        sys.exit(f'tools/eval_kitti.py: no ground-truth object of class(es) {empty} in {args.gt_dir} on the '
                 f'{len(ids)} images: a misspelled --classes entry? (pass --keep-empty-classes to leave them out)')
    if empty:
        print(f'classes without ground truth, left out of the mean: {empty}')
        args.classes = [cls for cls in args.classes if cls not in empty]
        if not args.classes:
            sys.exit('tools/eval_kitti.py: no requested class has ground truth')
    result = kitti_eval_2d(gt_annos, dt_annos, classes=args.classes,
                           min_overlaps=parse_min_overlaps(args.min_overlap),
                           default_min_overlap=args.default_min_overlap)
    summary = {cls: result[cls] for cls in args.classes}
    summary['mean'] = result['mean']
    print(f'KITTI 2D AP (%) on {len(ids)} images')
    print(format_kitti_table(summary))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(summary, f, indent=2)
    return summary


if __name__ == '__main__':
    main()
