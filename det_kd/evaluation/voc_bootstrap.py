"""PASCAL VOC mAP on resampled validation sets: the bootstrap over images behind det_kd's gain intervals.

VOC matching is decided per image (a detection is a true or a false positive, or matches an ignored box,
whatever the other images hold), so an image drawn k times by the bootstrap contributes its detections and
ground-truth boxes with weight k. :func:`voc_records` matches once with MMDetection's own ``tpfp_default``
(the function ``VOCMetric`` uses, legacy ``+1`` coordinates); :func:`weighted_voc_map` then recomputes the
mAP for any number of image-weight vectors at once from cumulative weighted sums. With all weights 1 it is
exactly ``VOCMetric``'s mAP (tested).

A drawn-k-times detection has one score, so its k copies are tied and adjacent in the ranking; evaluating
the precision / recall curve only after the whole group gives the same 11-point and area AP as the
expanded list (after a group of true positives precision and recall both end highest; a group of false
positives is dominated by the point before it).
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from mmdet.evaluation.functional.mean_ap import tpfp_default


@dataclass
class ClassRecords:
    """One class's detections over a validation set, ranked by score.

    Attributes:
        image_index (np.ndarray): ``(D,)`` image of each detection, in ranking order (descending score).
        true_positive (np.ndarray): ``(D,)`` 1 for a true positive.
        false_positive (np.ndarray): ``(D,)`` 1 for a false positive (a match of an ignored box is neither).
        num_gts (np.ndarray): ``(num_images,)`` non-ignored ground-truth boxes of the class per image.
    """
    image_index: np.ndarray
    true_positive: np.ndarray
    false_positive: np.ndarray
    num_gts: np.ndarray


def voc_records(annotations: Sequence[dict], detections: Sequence[Sequence[np.ndarray]], iou_thr: float = 0.5,
                class_names: Optional[Sequence[str]] = None) -> List[ClassRecords]:
    """Matches detections to ground truth per image and class, as ``mmdet``'s ``eval_map`` does.

    Args:
        annotations (Sequence[dict]): Per image, ``VOCMetric``'s ground truth: ``bboxes`` ``(G, 4)``,
            ``labels`` ``(G,)``, ``bboxes_ignore`` ``(I, 4)``, ``labels_ignore`` ``(I,)``.
        detections (Sequence[Sequence[np.ndarray]]): Per image, per class, ``(K, 5)`` boxes with scores.
        iou_thr (float): IoU of a match. Defaults to 0.5.
        class_names (Sequence[str], optional): For error messages.

    Returns:
        list[ClassRecords]: One entry per class.
    """
    if len(annotations) != len(detections):
        raise ValueError(f'voc_records: {len(annotations)} annotated images but {len(detections)} with '
                         'detections')
    num_classes = len(detections[0]) if len(detections) else 0
    records = []
    for cls in range(num_classes):
        tps, fps, images, scores = [], [], [], []
        num_gts = np.zeros(len(annotations), dtype=np.int64)
        for index, (ann, dets) in enumerate(zip(annotations, detections)):
            if len(dets) != num_classes:
                name = class_names[cls] if class_names else cls
                raise ValueError(f'voc_records: image {index} has detections for {len(dets)} classes, '
                                 f'expected {num_classes} (class {name})')
            gts = ann['bboxes'][ann['labels'] == cls]
            ignored = ann['bboxes_ignore'][ann['labels_ignore'] == cls]
            tp, fp = tpfp_default(dets[cls], gts, ignored, iou_thr, None, True)
            tps.append(tp[0])
            fps.append(fp[0])
            images.append(np.full(len(dets[cls]), index, dtype=np.int64))
            scores.append(dets[cls][:, -1])
            num_gts[index] = len(gts)
        order = np.argsort(-np.concatenate(scores))  # eval_map's ranking
        records.append(ClassRecords(np.concatenate(images)[order], np.concatenate(tps)[order],
                                    np.concatenate(fps)[order], num_gts))
    return records


def _average_precision(recall: np.ndarray, precision: np.ndarray, mode: str) -> np.ndarray:
    """AP of ``(B, D)`` recall / precision curves (``mmdet``'s ``average_precision``, one row per curve)."""
    if mode == '11points':
        # Precision envelope from the right: the best precision at this recall or beyond.
        envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        ap = np.zeros(recall.shape[0])
        for thr in np.arange(0, 1 + 1e-3, 0.1):
            first = (recall < thr).sum(axis=1)  # recall is non-decreasing along a row
            reached = first < recall.shape[1]
            ap += np.where(reached, envelope[np.arange(len(first)), np.minimum(first, recall.shape[1] - 1)], 0.0)
        return ap / 11
    if mode == 'area':
        rows = recall.shape[0]
        mrec = np.hstack([np.zeros((rows, 1)), recall, np.ones((rows, 1))])
        mpre = np.hstack([np.zeros((rows, 1)), precision, np.zeros((rows, 1))])
        mpre = np.maximum.accumulate(mpre[:, ::-1], axis=1)[:, ::-1]
        return ((mrec[:, 1:] - mrec[:, :-1]) * mpre[:, 1:]).sum(axis=1)
    raise ValueError(f"eval mode must be '11points' or 'area', got {mode!r}")


def weighted_voc_ap(records: ClassRecords, weights: np.ndarray, mode: str = '11points') -> tuple:
    """Per-class AP for every row of image weights.

    Args:
        records (ClassRecords): One class (see :func:`voc_records`).
        weights (np.ndarray): ``(B, num_images)`` image weights (bootstrap counts; ones for the full set).
        mode (str): ``'11points'`` (VOC07) or ``'area'``. Defaults to '11points'.

    Returns:
        tuple: ``(ap, num_gts)``, each ``(B,)``; AP is 0 where the class has no detection.
    """
    num_gts = weights @ records.num_gts
    if records.image_index.size == 0:
        return np.zeros(len(weights)), num_gts
    det_weights = weights[:, records.image_index]
    tp = np.cumsum(det_weights * records.true_positive, axis=1)
    fp = np.cumsum(det_weights * records.false_positive, axis=1)
    eps = np.finfo(np.float32).eps
    recall = tp / np.maximum(num_gts[:, None], eps)
    precision = tp / np.maximum(tp + fp, eps)
    return _average_precision(recall, precision, mode), num_gts


def weighted_voc_map(records: Sequence[ClassRecords], weights: np.ndarray, mode: str = '11points') -> np.ndarray:
    """mAP over the classes with ground truth (``eval_map``'s mean), for every row of ``(B, num_images)``
    image weights; returns ``(B,)`` fractions."""
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    aps, present = [], []
    for cls_records in records:
        ap, num_gts = weighted_voc_ap(cls_records, weights, mode)
        aps.append(ap)
        present.append(num_gts > 0)
    aps, present = np.stack(aps, axis=1), np.stack(present, axis=1)
    counts = present.sum(axis=1)
    return np.where(counts > 0, (aps * present).sum(axis=1) / np.maximum(counts, 1), 0.0)


def bootstrap_weights(num_images: int, num_samples: int, seed: int = 0) -> np.ndarray:
    """``(num_samples, num_images)`` counts of each image in resamples drawn with replacement."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, num_images, size=(num_samples, num_images))
    weights = np.zeros((num_samples, num_images))
    np.add.at(weights, (np.arange(num_samples)[:, None], draws), 1.0)
    return weights


def paired_bootstrap_gain(records_a: Sequence[ClassRecords], records_b: Sequence[ClassRecords],
                          num_samples: int = 1000, confidence: float = 0.95, seed: int = 0,
                          mode: str = '11points', chunk: int = 100) -> dict:
    """Percentile bootstrap interval of ``mAP(b) - mAP(a)`` on the same resampled images.

    Both models are evaluated on each resample of the validation images (paired), so the interval reflects
    how much the gain depends on which images were validated.

    Args:
        records_a, records_b (Sequence[ClassRecords]): The two models on the same images (e.g. baseline, distilled).
        num_samples (int): Resamples. Defaults to 1000.
        confidence (float): Interval coverage. Defaults to 0.95.
        seed (int): Seed of the resampling. Defaults to 0.
        mode (str): AP mode. Defaults to '11points'.
        chunk (int): Resamples evaluated at once (memory). Defaults to 100.

    Returns:
        dict: ``gain`` (on the full set), ``low``, ``high`` (percent points), ``num_samples``, ``num_images``.
    """
    num_images = len(records_a[0].num_gts)
    if len(records_b[0].num_gts) != num_images:
        raise ValueError('paired_bootstrap_gain: the two models were evaluated on different image sets')
    full = np.ones((1, num_images))
    gain = float(weighted_voc_map(records_b, full, mode)[0] - weighted_voc_map(records_a, full, mode)[0])
    weights = bootstrap_weights(num_images, num_samples, seed)
    gains = np.concatenate([
        weighted_voc_map(records_b, weights[i:i + chunk], mode) - weighted_voc_map(records_a, weights[i:i + chunk], mode)
        for i in range(0, num_samples, chunk)
    ])
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(gains, [tail, 100 - tail])
    return dict(gain=100 * gain, low=100 * float(low), high=100 * float(high), num_samples=num_samples,
                num_images=num_images)
