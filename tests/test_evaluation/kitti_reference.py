"""Loop-by-loop reference of the KITTI 2D evaluation, for tests only.

A deliberately literal transcription of the pseudocode in
``docs/evaluation.md``, KITTI, "The algorithm" (2017 devkit / mmdet3d port), written
independently of ``det_kd.evaluation.functional.kitti_eval``: plain Python
loops over images, GTs, detections and thresholds, no vectorisation. It is
slow (O(thresholds x images x GTs x detections)) and only meant for small
fixtures. Annotations are dicts with the mmdet3d keys ``name``, ``bbox``,
``truncated``, ``occluded`` (GT) and ``score`` (detections).
"""
import math

N_SAMPLE_PTS = 41
NO_DET = -10000000
MIN_HEIGHT = [40, 25, 25]
MAX_OCC = [0, 1, 2]
MAX_TRUNC = [0.15, 0.3, 0.5]
NEIGHBOUR = {'car': 'van', 'pedestrian': 'person_sitting'}
MIN_OVERLAP = {'car': 0.7, 'pedestrian': 0.5, 'cyclist': 0.5}
LEVELS = ['easy', 'moderate', 'hard']


def iou(a, b, criterion):
    """Overlap of box ``a`` (the detection) with box ``b``; criterion -1 IoU, 0 over area(a)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    if criterion == -1:
        return inter / (area_a + area_b - inter)
    return inter / area_a


def clean(gt, dt, cls, lvl, neighbour):
    """Returns ``(n_gt, ig_gt, ig_det, dc_boxes)`` of one image."""
    ig_gt, ig_det, dc = [], [], []
    n_gt = 0
    for i in range(len(gt['name'])):
        name = str(gt['name'][i]).lower()
        box = [float(v) for v in gt['bbox'][i]]
        if name == cls:
            valid = 1
        elif neighbour is not None and name == neighbour:
            valid = 0
        else:
            valid = -1
        ignore = (gt['occluded'][i] > MAX_OCC[lvl] or gt['truncated'][i] > MAX_TRUNC[lvl]
                  or (box[3] - box[1]) <= MIN_HEIGHT[lvl])
        if valid == 1 and not ignore:
            ig_gt.append(0)
            n_gt += 1
        elif valid == 0 or (valid == 1 and ignore):
            ig_gt.append(1)
        else:
            ig_gt.append(-1)
        if name == 'dontcare':
            dc.append(box)
    for j in range(len(dt['name'])):
        box = [float(v) for v in dt['bbox'][j]]
        if abs(box[3] - box[1]) < MIN_HEIGHT[lvl]:
            ig_det.append(1)
        elif str(dt['name'][j]).lower() == cls:
            ig_det.append(0)
        else:
            ig_det.append(-1)
    return n_gt, ig_gt, ig_det, dc


def stats(overlaps, dt_boxes, scores, ig_gt, ig_det, dc, min_ov, compute_fp, thresh):
    """GT-centric greedy matching of one image; returns ``(tp, fp, fn, tp_scores)``.

    ``overlaps[j][i]`` is ``iou(dt_boxes[j], gt_boxes[i], -1)``.
    """
    n_dt = len(dt_boxes)
    assigned = [False] * n_dt
    below = [compute_fp and scores[j] < thresh for j in range(n_dt)]
    tp = fp = fn = 0
    tp_scores = []
    for i in range(len(ig_gt)):
        if ig_gt[i] == -1:
            continue
        det_idx = -1
        valid = NO_DET
        max_ov = 0
        assigned_ignored = False
        for j in range(n_dt):
            if ig_det[j] == -1 or assigned[j] or below[j]:
                continue
            ov = overlaps[j][i]
            if not compute_fp:
                if ov > min_ov and scores[j] > valid:
                    det_idx = j
                    valid = scores[j]
            else:
                if ov > min_ov and (ov > max_ov or assigned_ignored) and ig_det[j] == 0:
                    max_ov = ov
                    det_idx = j
                    valid = 1
                    assigned_ignored = False
                elif ov > min_ov and valid == NO_DET and ig_det[j] == 1:
                    det_idx = j
                    valid = 1
                    assigned_ignored = True
        if valid == NO_DET and ig_gt[i] == 0:
            fn += 1
        elif valid != NO_DET and (ig_gt[i] == 1 or ig_det[det_idx] == 1):
            assigned[det_idx] = True
        elif valid != NO_DET:
            tp += 1
            tp_scores.append(scores[det_idx])
            assigned[det_idx] = True
    if compute_fp:
        for j in range(n_dt):
            if not assigned[j] and ig_det[j] == 0 and not below[j]:
                fp += 1
        for box in dc:
            for j in range(n_dt):
                if assigned[j] or ig_det[j] != 0 or below[j]:
                    continue
                if iou(dt_boxes[j], box, 0) > min_ov:
                    assigned[j] = True
                    fp -= 1
    return tp, fp, fn, tp_scores


def get_thresholds(scores, n_gt):
    """The devkit's threshold selection, as a plain loop."""
    scores = sorted(scores, reverse=True)
    cur = 0
    out = []
    for i, s in enumerate(scores):
        l_rec = (i + 1) / n_gt
        r_rec = (i + 2) / n_gt if i < len(scores) - 1 else l_rec
        if (r_rec - cur) < (cur - l_rec) and i < len(scores) - 1:
            continue
        out.append(s)
        cur += 1 / (N_SAMPLE_PTS - 1.0)
    return out


def precision_curve(gt_annos, dt_annos, cls, lvl, min_ov, neighbour):
    """The 41-point precision curve (after the envelope) of one class and difficulty."""
    images = []
    n_gt = 0
    for gt, dt in zip(gt_annos, dt_annos):
        n, ig_gt, ig_det, dc = clean(gt, dt, cls, lvl, neighbour)
        n_gt += n
        gt_boxes = [[float(v) for v in b] for b in gt['bbox']]
        dt_boxes = [[float(v) for v in b] for b in dt['bbox']]
        scores = [float(s) for s in dt['score']]
        overlaps = [[iou(d, g, -1) for g in gt_boxes] for d in dt_boxes]
        images.append((overlaps, dt_boxes, scores, ig_gt, ig_det, dc))
    tp_scores = []
    for img in images:
        tp_scores += stats(*img, min_ov, False, 0.0)[3]
    thresholds = get_thresholds(tp_scores, n_gt)
    prec = [0.0] * N_SAMPLE_PTS
    for k, t in enumerate(thresholds):
        tp_sum = fp_sum = 0
        for img in images:
            tp, fp, _, _ = stats(*img, min_ov, True, t)
            tp_sum += tp
            fp_sum += fp
        prec[k] = tp_sum / (tp_sum + fp_sum) if tp_sum + fp_sum > 0 else math.nan
    for k in range(len(thresholds)):
        tail = prec[k:]
        prec[k] = math.nan if any(math.isnan(v) for v in tail) else max(tail)
    return prec


def reference_eval(gt_annos, dt_annos, classes, min_overlaps=None, default_min_overlap=0.5):
    """Returns ``{cls: {'R11': {lvl: ap}, 'R40': {...}, 'precision': {lvl: list}}}``, AP in percent."""
    min_overlaps = {k.lower(): v for k, v in (min_overlaps or {}).items()}
    out = {}
    for cls in classes:
        key = cls.lower()
        min_ov = min_overlaps.get(key, MIN_OVERLAP.get(key, default_min_overlap))
        res = {'R11': {}, 'R40': {}, 'precision': {}}
        for lvl, name in enumerate(LEVELS):
            prec = precision_curve(gt_annos, dt_annos, key, lvl, min_ov, NEIGHBOUR.get(key))
            r11 = 0.0
            for i in range(0, N_SAMPLE_PTS, 4):
                r11 = r11 + prec[i]
            r40 = 0.0
            for i in range(1, N_SAMPLE_PTS):
                r40 = r40 + prec[i]
            res['R11'][name] = r11 / 11 * 100
            res['R40'][name] = r40 / 40 * 100
            res['precision'][name] = prec
        out[cls] = res
    return out
