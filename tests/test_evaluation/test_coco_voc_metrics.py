"""The COCO and VOC metrics the configs use reproduce independent computations.

COCO: mmdet's ``CocoMetric`` as configured in ``configs/_base_/datasets/*coco*.py`` (``proposal_nums=(1, 10,
100)``) must equal pycocotools' official ``COCOeval`` for every reported number, also for an image with more
than 100 detections. VOC: ``VOCMetric(eval_mode='11points')`` must equal a straightforward VOC07 11-point
computation (py-faster-rcnn's ``voc_eval`` rules: +1 pixel areas, difficult objects ignored, greedy by score).
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmdet.evaluation import CocoMetric, VOCMetric

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STATS = ['bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s', 'bbox_mAP_m', 'bbox_mAP_l']


def make_coco_case(tmp_path, seed=0):
    """Two categories (json order not sorted by id); image 1 has 150 objects and ~135 detections of one class."""
    rng = np.random.default_rng(seed)
    categories = [{'id': 7, 'name': 'b'}, {'id': 3, 'name': 'a'}]
    images, annotations, detections = [], [], []
    for image_id, count in ((1, 150), (2, 6), (3, 4)):
        images.append({'id': image_id, 'width': 640, 'height': 480, 'file_name': f'{image_id}.jpg'})
        for _ in range(count):
            x, y = rng.uniform(0, 560), rng.uniform(0, 400)
            w, h = rng.uniform(4, 80), rng.uniform(4, 80)
            cat = 3 if image_id == 1 else int(rng.choice([3, 7]))  # > 100 per class and image
            annotations.append({'id': len(annotations) + 1, 'image_id': image_id, 'category_id': cat,
                                'bbox': [x, y, w, h], 'area': w * h, 'iscrowd': 0})
            jitter = rng.normal(0, 3, 4)
            detections.append({'image_id': image_id, 'category_id': cat if rng.random() > 0.1 else 10 - cat,
                               'bbox': [x + jitter[0], y + jitter[1], max(w + jitter[2], 1), max(h + jitter[3], 1)],
                               'score': float(rng.random())})
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps({'images': images, 'annotations': annotations, 'categories': categories}))
    return str(path), detections


def official_stats(ann_file, detections):
    coco = COCO(ann_file)
    evaluator = COCOeval(coco, coco.loadRes(detections), 'bbox')
    evaluator.evaluate(), evaluator.accumulate(), evaluator.summarize()
    return evaluator.stats


def mmdet_stats(ann_file, detections, proposal_nums):
    metric = CocoMetric(ann_file=ann_file, metric='bbox', proposal_nums=proposal_nums)
    metric.dataset_meta = dict(classes=('b', 'a'))  # json category order, as CocoDataset builds it
    cat_ids = metric._coco_api.get_cat_ids(cat_names=['b', 'a'])
    for image_id in (1, 2, 3):
        dets = [d for d in detections if d['image_id'] == image_id]
        boxes = torch.tensor([[d['bbox'][0], d['bbox'][1], d['bbox'][0] + d['bbox'][2], d['bbox'][1] + d['bbox'][3]]
                              for d in dets])
        metric.process({}, [dict(img_id=image_id, ori_shape=(480, 640), pred_instances=dict(
            bboxes=boxes, scores=torch.tensor([d['score'] for d in dets]),
            labels=torch.tensor([cat_ids.index(d['category_id']) for d in dets])))])
    return metric.evaluate(3)


def test_configured_coco_metric_equals_official_cocoeval(tmp_path):
    config = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'datasets', 'synthetic_coco.py'))
    coco_metric = config.val_evaluator[0]
    assert coco_metric.type == 'CocoMetric' and tuple(coco_metric.proposal_nums) == (1, 10, 100)
    ann_file, detections = make_coco_case(tmp_path)
    official = official_stats(ann_file, detections)
    ours = mmdet_stats(ann_file, detections, tuple(coco_metric.proposal_nums))
    for index, key in enumerate(STATS):
        assert ours[f'coco/{key}'] == pytest.approx(round(official[index], 3), abs=1e-9), key
    # mmdet's default proposal_nums (100, 300, 1000) would report another AP50 on this case
    default = mmdet_stats(ann_file, detections, (100, 300, 1000))
    assert default['coco/bbox_mAP_50'] != pytest.approx(ours['coco/bbox_mAP_50'], abs=1e-3)


def voc07_ap(scores, boxes, image_ids, gts):
    """py-faster-rcnn's VOC07 11-point AP for one class, written out independently."""
    recs = {i: {'boxes': np.array(g['boxes'], dtype=float).reshape(-1, 4), 'difficult': np.array(g['difficult'], bool),
                'used': np.zeros(len(g['boxes']), bool)} for i, g in gts.items()}
    npos = sum(int((~r['difficult']).sum()) for r in recs.values())
    order = np.argsort(-np.asarray(scores), kind='stable')
    tp, fp = np.zeros(len(order)), np.zeros(len(order))
    for d, k in enumerate(order):
        rec, box = recs[image_ids[k]], np.asarray(boxes[k], float)
        best, best_j = -np.inf, -1
        for j, g in enumerate(rec['boxes']):
            iw = min(box[2], g[2]) - max(box[0], g[0]) + 1
            ih = min(box[3], g[3]) - max(box[1], g[1]) + 1
            if iw > 0 and ih > 0:
                inter = iw * ih
                union = (box[2] - box[0] + 1) * (box[3] - box[1] + 1) + (g[2] - g[0] + 1) * (g[3] - g[1] + 1) - inter
                if inter / union > best:
                    best, best_j = inter / union, j
        if best >= 0.5:
            if rec['difficult'][best_j]:
                continue
            if not rec['used'][best_j]:
                tp[d], rec['used'][best_j] = 1, True
            else:
                fp[d] = 1
        else:
            fp[d] = 1
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    recall, precision = tp / npos, tp / np.maximum(tp + fp, np.finfo(float).eps)
    return float(np.mean([precision[recall >= t].max() if (recall >= t).any() else 0.0
                          for t in np.arange(0, 1.1, 0.1)]))


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_voc07_11point_metric_equals_independent_computation(seed):
    rng = np.random.default_rng(seed)
    metric = VOCMetric(metric='mAP', eval_mode='11points')
    metric.dataset_meta = dict(classes=('thing', ), dataset_type='VOC2007')
    gts, all_scores, all_boxes, all_ids = {}, [], [], []
    for image_id in range(6):
        n = int(rng.integers(1, 5))
        boxes = np.sort(rng.uniform(0, 200, (n, 2, 2)), axis=1).transpose(0, 2, 1).reshape(n, 4)[:, [0, 2, 1, 3]]
        boxes[:, 2:] += 10
        difficult = rng.random(n) < 0.25
        gts[image_id] = {'boxes': boxes.tolist(), 'difficult': difficult.tolist()}
        dets = np.concatenate([boxes + rng.normal(0, 4, boxes.shape), rng.uniform(0, 200, (2, 4))])
        dets[:, 2:] = np.maximum(dets[:, 2:], dets[:, :2] + 2)
        scores = rng.random(len(dets))
        all_scores += scores.tolist()
        all_boxes += dets.tolist()
        all_ids += [image_id] * len(dets)
        metric.process({}, [dict(
            gt_instances=dict(labels=torch.zeros(int((~difficult).sum()), dtype=torch.long),
                              bboxes=torch.tensor(boxes[~difficult])),
            ignored_instances=dict(labels=torch.zeros(int(difficult.sum()), dtype=torch.long),
                                   bboxes=torch.tensor(boxes[difficult])),
            pred_instances=dict(bboxes=torch.tensor(dets), scores=torch.tensor(scores),
                                labels=torch.zeros(len(dets), dtype=torch.long)))])
    expected = voc07_ap(all_scores, all_boxes, all_ids, gts)
    assert metric.evaluate(6)['pascal_voc/mAP'] == pytest.approx(round(expected, 3), abs=1.5e-3)
