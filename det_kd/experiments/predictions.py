"""A model's predictions on a config's test set, back in VOC07 terms: the test set's ground truth, the
``tools/test.py --out`` predictions per image and class, the VOC matching records of each, and the per-class
AP; the check that a predictions file belongs to the test run that reported its mAP. The bootstrap over
validation images (:mod:`det_kd.experiments.gain`) and the per-class table (:mod:`det_kd.experiments.results`)
read predictions through here.
"""
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np


def test_set_annotations(config: str) -> Tuple[List[str], List[dict], List[str]]:
    """Image paths, ``VOCMetric``-style ground truth and class names of ``config``'s test dataset.

    Run from the folder the config's ``data_root`` is relative to. Instances with ``ignore_flag`` (COCO
    ``iscrowd``, VOC ``difficult``) go to ``bboxes_ignore``, as ``PackDetInputs`` sends them to
    ``ignored_instances`` for ``VOCMetric``. The boxes are the dataset's, not the test pipeline's: this
    assumes a test pipeline that loads the annotations after ``Resize`` and filters nothing (every det_kd
    config); the callers compare the recomputed mAP with the one the test run reported
    (:func:`check_recomputed_map`), which catches any other case.

    Raises:
        ValueError: If the test evaluator's ``VOCMetric`` is not the VOC07 one (11 points, IoU 0.5), the
            only metric the bootstrap recomputes.
    """
    from mmengine.config import Config
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(config)
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
    for evaluator in evaluators:
        if evaluator.get('type') in ('VOCMetric', 'mmdet.VOCMetric'):
            iou_thrs = evaluator.get('iou_thrs', 0.5)
            iou_thrs = list(iou_thrs) if isinstance(iou_thrs, (list, tuple)) else [iou_thrs]
            if evaluator.get('eval_mode', 'area') != '11points' or iou_thrs != [0.5]:
                raise ValueError(f"{config}: the bootstrap recomputes VOC07 mAP (eval_mode='11points', "
                                 f"iou_thrs=0.5) but the test evaluator is {dict(evaluator)}")
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    paths, annotations = [], []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        kept = [i for i in info['instances'] if not i.get('ignore_flag', 0)]
        ignored = [i for i in info['instances'] if i.get('ignore_flag', 0)]
        boxes = lambda items: np.array([i['bbox'] for i in items], dtype=np.float32).reshape(-1, 4)  # noqa: E731
        labels = lambda items: np.array([i['bbox_label'] for i in items], dtype=np.int64)  # noqa: E731
        paths.append(osp.normpath(info['img_path']))
        annotations.append(dict(bboxes=boxes(kept), labels=labels(kept), bboxes_ignore=boxes(ignored),
                                labels_ignore=labels(ignored)))
    return paths, annotations, list(dataset.metainfo['classes'])


def load_predictions(predictions: str, image_paths: Sequence[str], num_classes: int) -> List[List[np.ndarray]]:
    """Per image (in ``image_paths`` order), per class, ``(K, 5)`` boxes + scores from a ``tools/test.py --out``
    file.

    Raises:
        ValueError: Naming the file, if its images are not exactly the test set's (missing, extra or repeated
            images) or a label is not one of the ``num_classes`` classes.
    """
    from mmengine.fileio import load

    samples = load(predictions)
    by_path: Dict[str, dict] = {osp.normpath(sample['img_path']): sample['pred_instances'] for sample in samples}
    missing = [path for path in image_paths if path not in by_path]
    if missing or len(samples) != len(image_paths) or len(by_path) != len(samples):
        raise ValueError(f'{predictions}: {len(samples)} predictions ({len(by_path)} distinct images) for a test '
                         f'set of {len(image_paths)} images, {len(missing)} of them without a prediction (e.g. '
                         f'{missing[:1]}): was it written by tools/test.py --out on this test set?')
    detections = []
    for path in image_paths:
        pred = by_path[path]
        boxes, scores, labels = (np.asarray(pred[key]) for key in ('bboxes', 'scores', 'labels'))
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f'{predictions}: image {path} has labels outside 0..{num_classes - 1}')
        detections.append([np.hstack([boxes[labels == c], scores[labels == c, None]]).astype(np.float32)
                           for c in range(num_classes)])
    return detections


def check_recomputed_map(recomputed: float, reported: float, what: str, tolerance: float = 0.05) -> None:
    """Raises if the VOC07 mAP recomputed from a run's predictions (percent) is not the one its test run
    reported: then the bootstrap would measure something else (stale predictions, another test set).

    Raises:
        ValueError: Naming ``what`` and both values.
    """
    if not abs(recomputed - reported) <= tolerance:
        raise ValueError(f'{what}: VOC07 mAP recomputed from the predictions is {recomputed:.3f} but the test run '
                         f'reported {reported:.3f}: the predictions file does not belong to this test run or '
                         'test set')


def test_set_records(config: str, predictions: Sequence[str], iou_thr: float = 0.5) -> Tuple[list, List[str]]:
    """VOC matching records (:func:`det_kd.evaluation.voc_bootstrap.voc_records`) of each predictions file on
    ``config``'s test set, and the class names."""
    from det_kd.evaluation.voc_bootstrap import voc_records

    paths, annotations, classes = test_set_annotations(config)
    return [voc_records(annotations, load_predictions(path, paths, len(classes)), iou_thr, classes)
            for path in predictions], classes


def per_class_ap(records: list, classes: Sequence[str]) -> Dict[str, float]:
    """VOC07 AP in percent of each class with ground truth, on the full test set."""
    from det_kd.evaluation.voc_bootstrap import weighted_voc_ap

    full = np.ones((1, len(records[0].num_gts)))
    aps = {}
    for name, cls_records in zip(classes, records):
        ap, num_gts = weighted_voc_ap(cls_records, full)
        if num_gts[0] > 0:
            aps[name] = 100 * float(ap[0])
    return aps
