"""KITTI 2D object-detection evaluation, exactly as the official devkit, with numpy only.

A package of its own (installed with det_kd) so that ``tools/eval_kitti.py`` and any script that only scores
KITTI result files start without torch, mmcv or mmdet: importing anything under ``det_kd`` runs
``det_kd/__init__.py``, which registers the plugin in MMDetection (and so imports the framework).
``det_kd.evaluation.functional`` re-exports this package for code that runs inside MMDetection.

``kitti_eval``: the devkit's evaluation (AP R11 and R40), vectorised; ``kitti_io``: label / result files.
"""
from .kitti_eval import (DEFAULT_CLASSES, DEFAULT_MIN_OVERLAPS, DEFAULT_NEIGHBOURS, DIFFICULTIES, ap_r11, ap_r40,
                         box_overlap, format_kitti_table, get_thresholds, kitti_eval_2d, precision_envelope)
from .kitti_io import (KittiObjects, classes_without_ground_truth, empty_objects, format_result_line,
                       list_label_ids, load_kitti_gt_and_results, parse_kitti_line, read_gt_dir, read_kitti_file,
                       read_result_dir, read_split_file, write_kitti_result_dir, write_kitti_result_file)

__all__ = [
    'DEFAULT_CLASSES', 'DEFAULT_MIN_OVERLAPS', 'DEFAULT_NEIGHBOURS', 'DIFFICULTIES', 'ap_r11', 'ap_r40',
    'box_overlap', 'format_kitti_table', 'get_thresholds', 'kitti_eval_2d', 'precision_envelope', 'KittiObjects',
    'classes_without_ground_truth', 'empty_objects', 'format_result_line', 'list_label_ids',
    'load_kitti_gt_and_results', 'parse_kitti_line', 'read_gt_dir', 'read_kitti_file', 'read_result_dir',
    'read_split_file', 'write_kitti_result_dir', 'write_kitti_result_file'
]
