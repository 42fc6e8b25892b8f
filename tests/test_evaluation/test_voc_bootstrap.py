"""Weighted VOC mAP and the paired bootstrap, against MMDetection's own ``eval_map`` on random detections."""
import numpy as np
import pytest

from mmdet.evaluation.functional import eval_map

from det_kd.evaluation.voc_bootstrap import (bootstrap_weights, paired_bootstrap_gain, voc_records,
                                             weighted_voc_map)


def random_set(rng, num_images=12, num_classes=3, jitter=6.0):
    """Ground truth (some ignored) and noisy detections around it, plus false positives."""
    annotations, detections = [], []
    for _ in range(num_images):
        count = rng.integers(0, 5)
        xy = rng.uniform(0, 200, size=(count, 2))
        boxes = np.hstack([xy, xy + rng.uniform(10, 60, size=(count, 2))]).astype(np.float32)
        labels = rng.integers(0, num_classes, size=count)
        ignored = rng.random(count) < 0.2
        annotations.append(dict(bboxes=boxes[~ignored], labels=labels[~ignored], bboxes_ignore=boxes[ignored],
                                labels_ignore=labels[ignored]))
        per_class = []
        for cls in range(num_classes):
            near = boxes[labels == cls] + rng.normal(0, jitter, size=(int((labels == cls).sum()), 4))
            fp_xy = rng.uniform(0, 200, size=(rng.integers(0, 3), 2))
            far = np.hstack([fp_xy, fp_xy + 30])
            dets = np.vstack([near, far]).astype(np.float32)
            per_class.append(np.hstack([dets, rng.random((len(dets), 1)).astype(np.float32)]))
        detections.append(per_class)
    return annotations, detections


@pytest.mark.parametrize('mode', ['11points', 'area'])
@pytest.mark.parametrize('iou_thr', [0.5, 0.75])
def test_full_set_equals_mmdet_eval_map(mode, iou_thr):
    annotations, detections = random_set(np.random.default_rng(3))
    expected, _ = eval_map(detections, annotations, iou_thr=iou_thr, eval_mode=mode, use_legacy_coordinate=True,
                           nproc=1, logger='silent')
    records = voc_records(annotations, detections, iou_thr)
    got = weighted_voc_map(records, np.ones((1, len(annotations))), mode)[0]
    assert got == pytest.approx(expected, abs=1e-6)


def test_image_weights_equal_eval_map_on_the_resampled_image_list():
    """An image drawn k times counts k times: the weighted mAP equals eval_map on the expanded list."""
    rng = np.random.default_rng(7)
    annotations, detections = random_set(rng, num_images=15)
    records = voc_records(annotations, detections)
    weights = bootstrap_weights(len(annotations), num_samples=6, seed=1)
    got = weighted_voc_map(records, weights)
    for row, counts in zip(got, weights):
        drawn = [i for i, k in enumerate(counts) for _ in range(int(k))]
        expected, _ = eval_map([detections[i] for i in drawn], [annotations[i] for i in drawn], iou_thr=0.5,
                               eval_mode='11points', use_legacy_coordinate=True, nproc=1, logger='silent')
        assert row == pytest.approx(expected, abs=1e-6)


def test_bootstrap_weights_are_draws_with_replacement():
    weights = bootstrap_weights(50, 200, seed=0)
    assert weights.shape == (200, 50) and (weights.sum(axis=1) == 50).all()
    assert (weights == 0).mean() == pytest.approx((1 - 1 / 50) ** 50, abs=0.03)  # ~37 % of images left out


def test_paired_bootstrap_of_a_model_against_itself_is_exactly_zero_and_better_model_is_positive():
    rng = np.random.default_rng(11)
    annotations, detections = random_set(rng, num_images=40, jitter=2.0)
    _, noisy = random_set(np.random.default_rng(11), num_images=40, jitter=12.0)  # same scenes, worse boxes
    good, bad = voc_records(annotations, detections), voc_records(annotations, noisy)
    same = paired_bootstrap_gain(good, good, num_samples=200)
    assert same['gain'] == same['low'] == same['high'] == 0.0
    gain = paired_bootstrap_gain(bad, good, num_samples=300)
    full = 100 * (weighted_voc_map(good, np.ones((1, 40)))[0] - weighted_voc_map(bad, np.ones((1, 40)))[0])
    assert gain['gain'] == pytest.approx(full) and gain['low'] < gain['gain'] < gain['high']
    assert gain['low'] > 0  # the tight boxes are clearly better at IoU 0.5
    assert gain['num_images'] == 40 and gain['num_samples'] == 300


def test_mismatched_image_sets_are_refused():
    annotations, detections = random_set(np.random.default_rng(0), num_images=5)
    with pytest.raises(ValueError, match='5 annotated images but 4'):
        voc_records(annotations, detections[:4])
    small = voc_records(annotations[:3], detections[:3])
    with pytest.raises(ValueError, match='different image sets'):
        paired_bootstrap_gain(voc_records(annotations, detections), small, num_samples=10)
