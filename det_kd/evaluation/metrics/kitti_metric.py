"""KITTI 2D AP (Easy / Moderate / Hard, R11 and R40) as an MMEngine metric."""
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmdet.registry import METRICS

from ..functional import (DIFFICULTIES, KittiObjects, format_kitti_table, kitti_eval_2d, read_gt_dir,
                          write_kitti_result_dir)


@METRICS.register_module()
class KittiMetric(BaseMetric):
    """KITTI 2D detection AP with the devkit's exact rules (see :func:`kitti_eval_2d`).

    Ground truth is read from the KITTI label files of the evaluated images (all objects: DontCare
    regions, neighbouring classes, truncation and occlusion), like ``CocoMetric`` reads its
    ``ann_file``; predictions are the detector's boxes in original-image pixels.

    Reported keys (prefix ``kitti``): ``{Class}_{R11|R40}_{easy|moderate|hard}`` per class and
    ``mAP_{R11|R40}_{easy|moderate|hard}`` (mean over the classes); AP in percent. The KITTI ranking uses
    ``mAP_R40_moderate``.

    Args:
        label_dir (str): Folder with the ground-truth ``<id>.txt`` files.
        classes (Sequence[str], optional): Classes to evaluate. Defaults to the dataset's classes.
        min_overlaps (Mapping[str, float], optional): Minimum IoU per class (matches need strictly more).
            Defaults to KITTI's (Car 0.7, Pedestrian 0.5, Cyclist 0.5) and ``default_min_overlap``.
        neighbours (Mapping, optional): Ground-truth classes that are neither TP nor FP for a class.
            Defaults to KITTI's (Car: Van, Pedestrian: Person_sitting).
        default_min_overlap (float): Minimum IoU of classes without a KITTI value. Defaults to 0.5.
        result_dir (str, optional): Also write the predictions as KITTI result files (16 columns) here.
            Defaults to None.
        format_only (bool): Only write ``result_dir``, do not evaluate. Defaults to False.
        collect_device (str): Device used to gather results across ranks. Defaults to 'cpu'.
        prefix (str, optional): Metric key prefix. Defaults to 'kitti'.
    """

    default_prefix: Optional[str] = 'kitti'

    def __init__(self,
                 label_dir: str,
                 classes: Optional[Sequence[str]] = None,
                 min_overlaps: Optional[Mapping[str, float]] = None,
                 neighbours: Optional[Mapping] = None,
                 default_min_overlap: float = 0.5,
                 result_dir: Optional[str] = None,
                 format_only: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if format_only and result_dir is None:
            raise ValueError('KittiMetric: format_only=True needs a result_dir to write to')
        self.label_dir = label_dir
        self.classes = tuple(classes) if classes is not None else None
        self.min_overlaps = min_overlaps
        self.neighbours = neighbours
        self.default_min_overlap = default_min_overlap
        self.result_dir = result_dir
        self.format_only = format_only

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keeps each image's id (its file stem) and predicted boxes, scores and labels."""
        for sample in data_samples:
            pred = sample['pred_instances']
            self.results.append(
                dict(img_id=osp.splitext(osp.basename(sample['img_path']))[0],
                     boxes=pred['bboxes'].cpu().numpy().astype(np.float64),
                     scores=pred['scores'].cpu().numpy().astype(np.float64),
                     labels=pred['labels'].cpu().numpy()))

    def _predictions(self, results: List[dict]) -> Dict[str, KittiObjects]:
        names = np.asarray(self.dataset_meta['classes'], dtype=str)
        return {
            r['img_id']: KittiObjects(names=names[r['labels']], truncated=np.full(len(r['labels']), -1.0),
                                      occluded=np.full(len(r['labels']), -1, dtype=np.int64),
                                      boxes=r['boxes'].reshape(-1, 4), scores=r['scores'])
            for r in results
        }

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Evaluates all gathered predictions against their label files."""
        logger = MMLogger.get_current_instance()
        predictions = self._predictions(results)
        if self.result_dir is not None:
            write_kitti_result_dir(self.result_dir, predictions)
            logger.info(f'KITTI result files written to {self.result_dir}')
        if self.format_only:
            return {}
        ids = list(predictions)
        classes = self.classes or tuple(self.dataset_meta['classes'])
        result = kitti_eval_2d(read_gt_dir(self.label_dir, ids), [predictions[i] for i in ids], classes,
                               min_overlaps=self.min_overlaps, neighbours=self.neighbours,
                               default_min_overlap=self.default_min_overlap)
        logger.info(f'KITTI 2D AP (%) on {len(ids)} images:\n' + format_kitti_table(result))
        metrics = {}
        for row, key in [(c, c) for c in classes] + [('mean', 'mAP')]:
            for protocol in ('R11', 'R40'):
                for level in DIFFICULTIES:
                    metrics[f'{key}_{protocol}_{level}'] = float(result[row][protocol][level])
        return metrics
