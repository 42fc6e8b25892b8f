"""Exact, vectorised KITTI 2D object-detection evaluation.

Reproduces the 2017 KITTI devkit (``evaluate_object.cpp``) as ported to
Python by second.pytorch / mmdet3d, for the image-box metric: difficulty
filters, neighbouring classes, DontCare suppression (criterion 0), the
detection min-height ignore rule, the GT-centric two-pass greedy matching,
the 41 score thresholds of ``get_thresholds``, the precision envelope, and
the R11 / R40 summaries. See ``docs/evaluation.md``, section KITTI.

The devkit runs a Python/C++ loop per image, GT, detection and threshold.
Here, every (image, threshold) pair whose set of *matchable* detections is
the same shares one simulation, and the greedy loop over the GTs of an image
runs once for all images and thresholds at the same time, as numpy ops over
padded ``(state, detection)`` arrays. The choice made for each GT is the
devkit's, so the counts are identical:

* pass 1 picks, among free candidates, the first detection (file order) with
  the highest score, provided the score is above ``NO_DETECTION``;
* pass 2 picks the first non-ignored candidate with the largest overlap, and
  only if there is none, the first ignored candidate (``ignored_det == 1``).
"""
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

DIFFICULTIES = ('easy', 'moderate', 'hard')
MIN_HEIGHT = (40.0, 25.0, 25.0)
MAX_OCCLUSION = (0, 1, 2)
MAX_TRUNCATION = (0.15, 0.3, 0.5)
N_SAMPLE_PTS = 41
NO_DETECTION = -10000000.0
DEFAULT_CLASSES = ('Car', 'Pedestrian', 'Cyclist')
DEFAULT_MIN_OVERLAPS = {'car': 0.7, 'pedestrian': 0.5, 'cyclist': 0.5}
DEFAULT_NEIGHBOURS = {'car': ('van', ), 'pedestrian': ('person_sitting', )}
DONTCARE = 'dontcare'
RESERVED_KEYS = ('mean', 'details')
METRICS = ('R11', 'R40')

# Upper bound on the elements of one padded (state, detection) or
# (unit, gt, detection) array; larger inputs are processed in chunks.
_CHUNK_ELEMENTS = 1 << 22
# Upper bound on (detection, gt) pairs whose overlap is computed at once.
_PAIR_CHUNK = 1 << 21


# ----------------------------------------------------------------------------
# Input flattening
# ----------------------------------------------------------------------------
@dataclass
class _Objects:
    """All objects of a dataset in one set of arrays, image-major, file order."""

    image: np.ndarray  # (N,) image index
    code: np.ndarray  # (N,) lower-cased name code
    boxes: np.ndarray  # (N, 4) float64
    truncated: np.ndarray  # (N,) float64 (GT only)
    occluded: np.ndarray  # (N,) float64 (GT only)
    scores: np.ndarray  # (N,) float64 (detections only)


def _get(anno: Any, attr: str, key: str) -> Any:
    """Reads ``attr`` of a :class:`KittiObjects`-like object or ``key`` / ``attr`` of a dict."""
    if isinstance(anno, Mapping):
        return anno[key] if key in anno else anno[attr]
    return getattr(anno, attr)


def _as_vector(values: Any, n: int, what: str, index: int) -> np.ndarray:
    """Converts one per-object field to a finite float64 vector of length ``n``."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(arr) != n:
        raise ValueError(f'image {index}: {what} has {len(arr)} entries for {n} objects')
    if not np.all(np.isfinite(arr)):
        raise ValueError(f'image {index}: {what} has non-finite values')
    return arr


def _encode_names(names: np.ndarray, vocab: Dict[str, int]) -> np.ndarray:
    """Maps names to integer codes of their lower-cased form, extending ``vocab``."""
    if len(names) == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, inverse = np.unique(names, return_inverse=True)
    codes = np.array([vocab.setdefault(str(u).lower(), len(vocab)) for u in uniq], dtype=np.int64)
    return codes[inverse.reshape(-1)]


def _flatten(annos: Sequence[Any], is_result: bool, vocab: Dict[str, int]) -> _Objects:
    """Concatenates per-image annotations into one :class:`_Objects`."""
    names, boxes, trunc, occ, scores, counts = [], [], [], [], [], []
    for index, anno in enumerate(annos):
        name = np.asarray(_get(anno, 'names', 'name'), dtype=str).reshape(-1)
        n = len(name)
        box = np.asarray(_get(anno, 'boxes', 'bbox'), dtype=np.float64).reshape(-1, 4)
        if len(box) != n or not np.all(np.isfinite(box)):
            raise ValueError(f'image {index}: boxes must be ({n}, 4) finite values')
        names.append(name)
        boxes.append(box)
        counts.append(n)
        if is_result:
            scores.append(_as_vector(_get(anno, 'scores', 'score'), n, 'scores', index))
        else:
            trunc.append(_as_vector(_get(anno, 'truncated', 'truncated'), n, 'truncated', index))
            occ.append(_as_vector(_get(anno, 'occluded', 'occluded'), n, 'occluded', index))
    total = int(sum(counts))

    def cat(parts: List[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(total, dtype=np.float64)

    return _Objects(
        image=np.repeat(np.arange(len(annos)), counts).astype(np.int64),
        code=_encode_names(cat(names) if names else np.zeros(0, dtype=str), vocab),
        boxes=np.concatenate(boxes) if boxes else np.zeros((0, 4), dtype=np.float64),
        truncated=cat(trunc),
        occluded=cat(occ),
        scores=cat(scores))


# ----------------------------------------------------------------------------
# Overlaps
# ----------------------------------------------------------------------------
def box_overlap(dets: np.ndarray, gts: np.ndarray, criterion: int = -1) -> np.ndarray:
    """Element-wise overlap of paired boxes, with the devkit's arithmetic.

    Args:
        dets (np.ndarray): (P, 4) detection boxes ``x1, y1, x2, y2`` (float64).
        gts (np.ndarray): (P, 4) ground-truth (or DontCare) boxes.
        criterion (int): -1 for IoU, ``inter / (area_det + area_gt - inter)``;
            0 for ``inter / area_det``. No +1 pixel convention.
            Defaults to -1.

    Returns:
        np.ndarray: (P,) float64 overlaps; 0 where the boxes do not intersect.
    """
    iw = np.minimum(dets[:, 2], gts[:, 2]) - np.maximum(dets[:, 0], gts[:, 0])
    ih = np.minimum(dets[:, 3], gts[:, 3]) - np.maximum(dets[:, 1], gts[:, 1])
    inter = iw * ih
    union = (dets[:, 2] - dets[:, 0]) * (dets[:, 3] - dets[:, 1])
    if criterion == -1:
        union = union + (gts[:, 2] - gts[:, 0]) * (gts[:, 3] - gts[:, 1]) - inter
    elif criterion != 0:
        raise ValueError(f'criterion must be -1 or 0, got {criterion}')
    valid = (iw > 0) & (ih > 0)
    return np.divide(inter, union, out=np.zeros_like(inter), where=valid)


def _image_chunks(pair_counts: np.ndarray, limit: int) -> Iterator[Tuple[int, int]]:
    """Yields image ranges ``[i0, i1)`` whose pair counts sum to about ``limit`` at most."""
    n_img = len(pair_counts)
    cum = np.cumsum(pair_counts)
    start = 0
    while start < n_img:
        base = cum[start - 1] if start else 0
        stop = int(np.searchsorted(cum, base + limit, side='right'))
        stop = max(stop, start + 1)
        yield start, stop
        start = stop


def _positive_overlaps(dets: _Objects, det_sel: np.ndarray, gts: _Objects, gt_sel: np.ndarray,
                       n_img: int, criterion: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All same-image (detection, gt) pairs of the selections with overlap > 0.

    Args:
        dets (_Objects): All detections.
        det_sel (np.ndarray): Sorted global indices of the detections to pair.
        gts (_Objects): All ground truths.
        gt_sel (np.ndarray): Sorted global indices of the GTs to pair.
        n_img (int): Number of images.
        criterion (int): Overlap criterion, see :func:`box_overlap`.

    Returns:
        tuple: Global detection indices, global GT indices and overlaps
        (all (P,)), sorted by image, then detection, then GT.
    """
    det_count = np.bincount(dets.image[det_sel], minlength=n_img)
    gt_count = np.bincount(gts.image[gt_sel], minlength=n_img)
    det_start = np.cumsum(det_count) - det_count
    gt_start = np.cumsum(gt_count) - gt_count
    pair_count = det_count * gt_count
    out_d, out_g, out_ov = [], [], []
    for i0, i1 in _image_chunks(pair_count, _PAIR_CHUNK):
        counts = pair_count[i0:i1]
        img = np.repeat(np.arange(i0, i1), counts)
        k = np.arange(len(img)) - np.repeat(np.cumsum(counts) - counts, counts)
        d = det_sel[det_start[img] + k // gt_count[img]]
        g = gt_sel[gt_start[img] + k % gt_count[img]]
        ov = box_overlap(dets.boxes[d], gts.boxes[g], criterion)
        keep = ov > 0
        out_d.append(d[keep])
        out_g.append(g[keep])
        out_ov.append(ov[keep])
    if not out_d:
        return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
    return np.concatenate(out_d), np.concatenate(out_g), np.concatenate(out_ov)


# ----------------------------------------------------------------------------
# Per class / difficulty labels (devkit ``clean_data``)
# ----------------------------------------------------------------------------
def _ignored_gt(gts: _Objects, cls: int, neighbours: np.ndarray, level: int) -> np.ndarray:
    """``ignored_gt`` per GT: 0 counted, 1 may absorb a detection, -1 not considered."""
    valid = np.where(gts.code == cls, 1, np.where(np.isin(gts.code, neighbours), 0, -1))
    height = gts.boxes[:, 3] - gts.boxes[:, 1]
    ignore = ((gts.occluded > MAX_OCCLUSION[level]) | (gts.truncated > MAX_TRUNCATION[level])
              | (height <= MIN_HEIGHT[level]))
    absorbing = (valid == 0) | ((valid == 1) & ignore)
    return np.where((valid == 1) & ~ignore, 0, np.where(absorbing, 1, -1)).astype(np.int8)


def _ignored_det(dets: _Objects, cls: int, level: int) -> np.ndarray:
    """``ignored_det`` per detection: 1 if too small (any class), 0 of the class, else -1."""
    height = np.abs(dets.boxes[:, 3] - dets.boxes[:, 1])
    return np.where(height < MIN_HEIGHT[level], 1, np.where(dets.code == cls, 0, -1)).astype(np.int8)


# ----------------------------------------------------------------------------
# Thresholds and precision
# ----------------------------------------------------------------------------
def get_thresholds(scores: np.ndarray, num_gt: int, num_sample_pts: int = N_SAMPLE_PTS) -> np.ndarray:
    """Selects the score thresholds of the devkit (about one per 1/40 recall step).

    Same result as the sequential devkit loop: scores are sorted descending,
    a score is kept unless ``(r - cur) < (cur - l)`` for the recalls ``l`` /
    ``r`` at and after it (the last score is always kept), and ``cur`` grows
    by ``1 / (num_sample_pts - 1)`` per kept score.

    Args:
        scores (np.ndarray): Scores of the true positives of pass 1 (not modified).
        num_gt (int): Number of counted (non-ignored) ground truths.
        num_sample_pts (int): Number of sample points. Defaults to 41.

    Returns:
        np.ndarray: The thresholds, non-increasing (float64).
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    n = len(scores)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    idx = np.arange(n)
    l_recall = (idx + 1) / num_gt
    r_recall = (idx + 2) / num_gt
    r_recall[-1] = l_recall[-1]
    step = 1 / (num_sample_pts - 1.0)
    current, start, kept = 0.0, 0, []
    while start < n:
        take = ~((r_recall[start:] - current) < (current - l_recall[start:]))
        take[-1] = True
        start += int(np.argmax(take))
        kept.append(scores[start])
        current += step
        start += 1
    return np.array(kept, dtype=np.float64)


def precision_envelope(tp: np.ndarray, fp: np.ndarray, num_sample_pts: int = N_SAMPLE_PTS) -> np.ndarray:
    """Precision per threshold, made non-increasing from the right.

    Args:
        tp (np.ndarray): (T,) true positives per threshold.
        fp (np.ndarray): (T,) false positives per threshold.
        num_sample_pts (int): Length of the output. Defaults to 41.

    Returns:
        np.ndarray: (num_sample_pts,) with ``max(prec[k:])`` for ``k < T``
        and 0 after; ``0 / 0`` gives NaN, which propagates like ``np.max``.
    """
    prec = np.zeros(num_sample_pts, dtype=np.float64)
    n = len(tp)
    with np.errstate(divide='ignore', invalid='ignore'):
        prec[:n] = np.asarray(tp, np.float64) / (np.asarray(tp, np.float64) + fp)
    prec[:n] = np.maximum.accumulate(prec[::-1])[::-1][:n]
    return prec


def ap_r11(prec: np.ndarray) -> float:
    """AP in percent from the 11 points ``prec[0], prec[4], ..., prec[40]``."""
    total = 0.0
    for i in range(0, len(prec), 4):
        total = total + prec[i]
    return float(total / 11 * 100)


def ap_r40(prec: np.ndarray) -> float:
    """AP in percent from the 40 points ``prec[1], ..., prec[40]`` (index 0 skipped)."""
    total = 0.0
    for i in range(1, len(prec)):
        total = total + prec[i]
    return float(total / 40 * 100)


# ----------------------------------------------------------------------------
# Matching units: one per image with at least one candidate pair
# ----------------------------------------------------------------------------
@dataclass
class _Units:
    """Candidate pairs of one class/difficulty, grouped per image ("unit").

    Units are numbered by increasing (detections, GTs) size; local GT and
    detection positions keep file order. ``pair_*`` arrays are sorted by unit.
    """

    n_units: int
    gt_count: np.ndarray  # (U,)
    det_count: np.ndarray  # (U,)
    pair_unit: np.ndarray
    pair_gt: np.ndarray  # local GT position
    pair_det: np.ndarray  # local detection position
    pair_ov: np.ndarray
    det_unit: np.ndarray  # per candidate detection, sorted by unit
    det_local: np.ndarray
    det_global: np.ndarray
    gt_unit: np.ndarray  # per candidate GT, sorted by unit
    gt_local: np.ndarray
    gt_global: np.ndarray


def _rank_within(group: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal consecutive values of ``group``."""
    n = len(group)
    change = np.ones(n, dtype=bool)
    change[1:] = group[1:] != group[:-1]
    starts = np.flatnonzero(change)
    return np.arange(n) - starts[np.cumsum(change) - 1]


def _build_units(pair_d: np.ndarray, pair_g: np.ndarray, pair_ov: np.ndarray,
                 gt_image: np.ndarray, det_image: np.ndarray) -> _Units:
    """Groups candidate (detection, GT) pairs into per-image units."""
    gt_global = np.unique(pair_g)
    det_global = np.unique(pair_d)
    images, gt_unit = np.unique(gt_image[gt_global], return_inverse=True)
    det_unit = np.searchsorted(images, det_image[det_global])
    n_units = len(images)
    gt_count = np.bincount(gt_unit, minlength=n_units)
    det_count = np.bincount(det_unit, minlength=n_units)
    # renumber units by size so that chunks of similar padding are contiguous
    order = np.lexsort((gt_count, det_count))
    new_id = np.empty(n_units, dtype=np.int64)
    new_id[order] = np.arange(n_units)
    gt_unit, det_unit = new_id[gt_unit], new_id[det_unit]
    gt_local = _rank_within(gt_unit)
    det_local = _rank_within(det_unit)
    g_pos = np.searchsorted(gt_global, pair_g)
    d_pos = np.searchsorted(det_global, pair_d)
    pair_unit = gt_unit[g_pos]
    pair_order = np.argsort(pair_unit, kind='stable')
    gt_order = np.argsort(gt_unit, kind='stable')
    det_order = np.argsort(det_unit, kind='stable')
    return _Units(
        n_units=n_units, gt_count=gt_count[order], det_count=det_count[order],
        pair_unit=pair_unit[pair_order], pair_gt=gt_local[g_pos][pair_order],
        pair_det=det_local[d_pos][pair_order], pair_ov=pair_ov[pair_order],
        det_unit=det_unit[det_order], det_local=det_local[det_order],
        det_global=det_global[det_order], gt_unit=gt_unit[gt_order],
        gt_local=gt_local[gt_order], gt_global=gt_global[gt_order])


@dataclass
class _Batch:
    """Dense arrays of a contiguous range of units, padded to its largest unit."""

    cand: np.ndarray  # (U, G, D) bool: candidate pair (overlap > min, det not -1)
    ov: np.ndarray  # (U, G, D) float64 overlap
    ig_gt: np.ndarray  # (U, G) int8, -1 padding
    ig_det: np.ndarray  # (U, D) int8, -1 padding
    score: np.ndarray  # (U, D) float64, -inf padding
    dc_cov: np.ndarray  # (U, D) bool, detection absorbed by a DontCare region
    det_global: np.ndarray  # (U, D) int64, -1 padding


def _unit_chunks(units: _Units) -> Iterator[Tuple[int, int]]:
    """Yields unit ranges whose padded arrays stay below ``_CHUNK_ELEMENTS``.

    The number of pass-2 states of a unit is bounded by its detection count,
    so a chunk's (state, detection) arrays have at most ``sum(D) * max(D)``
    elements and its (unit, GT, detection) arrays ``U * max(G) * max(D)``.
    """
    det_count, gt_count = units.det_count, units.gt_count
    start, states, g_max = 0, 0, 0
    for u in range(units.n_units):
        d = int(det_count[u])  # non-decreasing: units are sorted by size
        new_states, new_g = states + d, max(g_max, int(gt_count[u]))
        too_big = max(new_states, (u - start + 1) * new_g) * d > _CHUNK_ELEMENTS
        if too_big and u > start:
            yield start, u
            start, states, g_max = u, d, int(gt_count[u])
        else:
            states, g_max = new_states, new_g
    if units.n_units:
        yield start, units.n_units


def _dense_batch(units: _Units, u0: int, u1: int, ig_gt: np.ndarray, ig_det: np.ndarray,
                 scores: np.ndarray, dc_cov: np.ndarray) -> _Batch:
    """Scatters the units ``[u0, u1)`` and their labels into padded arrays."""
    n, n_gt, n_det = u1 - u0, int(units.gt_count[u0:u1].max()), int(units.det_count[u0:u1].max())
    p0, p1 = np.searchsorted(units.pair_unit, [u0, u1])
    g0, g1 = np.searchsorted(units.gt_unit, [u0, u1])
    d0, d1 = np.searchsorted(units.det_unit, [u0, u1])
    pair_idx = (units.pair_unit[p0:p1] - u0, units.pair_gt[p0:p1], units.pair_det[p0:p1])
    gt_idx = (units.gt_unit[g0:g1] - u0, units.gt_local[g0:g1])
    det_idx = (units.det_unit[d0:d1] - u0, units.det_local[d0:d1])
    det_global = units.det_global[d0:d1]
    batch = _Batch(
        cand=np.zeros((n, n_gt, n_det), dtype=bool), ov=np.zeros((n, n_gt, n_det)),
        ig_gt=np.full((n, n_gt), -1, dtype=np.int8), ig_det=np.full((n, n_det), -1, dtype=np.int8),
        score=np.full((n, n_det), -np.inf), dc_cov=np.zeros((n, n_det), dtype=bool),
        det_global=np.full((n, n_det), -1, dtype=np.int64))
    batch.cand[pair_idx] = True
    batch.ov[pair_idx] = units.pair_ov[p0:p1]
    batch.ig_gt[gt_idx] = ig_gt[units.gt_global[g0:g1]]
    batch.ig_det[det_idx] = ig_det[det_global]
    batch.score[det_idx] = scores[det_global]
    batch.dc_cov[det_idx] = dc_cov[det_global]
    batch.det_global[det_idx] = det_global
    return batch


def _pass1_tp_scores(batch: _Batch) -> np.ndarray:
    """Scores of the true positives of pass 1 (highest-score matching, no threshold)."""
    n_units, n_gt, _ = batch.cand.shape
    active = batch.score > NO_DETECTION
    assigned = np.zeros_like(active)
    rows = np.arange(n_units)
    found = []
    for p in range(n_gt):
        cand = batch.cand[:, p, :] & active & ~assigned
        has = cand.any(axis=1)
        pick = np.where(cand, batch.score, -np.inf).argmax(axis=1)
        r, j = rows[has], pick[has]
        assigned[r, j] = True
        tp = (batch.ig_gt[r, p] == 0) & (batch.ig_det[r, j] == 0)
        found.append(batch.score[r[tp], j[tp]])
    return np.concatenate(found) if found else np.zeros(0)


def _simulate_pass2(batch: _Batch, state_unit: np.ndarray,
                    active: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Runs pass 2 (largest-overlap matching) for many (unit, detection subset) states.

    Args:
        batch (_Batch): The units.
        state_unit (np.ndarray): (S,) unit of each state.
        active (np.ndarray): (S, D) detections above the state's threshold.

    Returns:
        tuple: (S,) true positives, and (S,) assigned non-ignored detections
        that no DontCare region absorbs (to subtract from the FP count).
    """
    n_states = len(state_unit)
    ig_det = batch.ig_det[state_unit]
    not_ignored, ignored = ig_det == 0, ig_det == 1
    assigned = np.zeros_like(active)
    tp = np.zeros(n_states, dtype=np.int64)
    rows = np.arange(n_states)
    for p in range(batch.cand.shape[1]):
        cand = batch.cand[state_unit, p, :] & active & ~assigned
        cand_kept, cand_ignored = cand & not_ignored, cand & ignored
        has_kept = cand_kept.any(axis=1)
        best_kept = np.where(cand_kept, batch.ov[state_unit, p, :], -np.inf).argmax(axis=1)
        pick = np.where(has_kept, best_kept, cand_ignored.argmax(axis=1))
        has = has_kept | cand_ignored.any(axis=1)
        assigned[rows[has], pick[has]] = True
        tp += has_kept & (batch.ig_gt[state_unit, p] == 0)
    used = (assigned & not_ignored & ~batch.dc_cov[state_unit]).sum(axis=1)
    return tp, used


def _pass2_counts(batch: _Batch, det_k0: np.ndarray, n_thr: int) -> Tuple[np.ndarray, np.ndarray]:
    """Sums pass-2 TPs and used detections per threshold over the units of a batch.

    A detection is active at threshold ``k`` iff ``k >= k0`` (``k0`` = number of
    thresholds above its score). Thresholds at which a unit has the same number
    of active detections share one simulated state.

    Args:
        batch (_Batch): The units.
        det_k0 (np.ndarray): (N_det,) first active threshold index per detection.
        n_thr (int): Number of thresholds.

    Returns:
        tuple: (n_thr,) true positives and (n_thr,) used detections.
    """
    n_units = batch.score.shape[0]
    k0 = np.where(batch.det_global >= 0, det_k0[batch.det_global], n_thr)
    flat = (np.arange(n_units)[:, None] * (n_thr + 1) + k0).ravel()
    entering = np.bincount(flat, minlength=n_units * (n_thr + 1)).reshape(n_units, n_thr + 1)
    n_active = np.cumsum(entering[:, :n_thr], axis=1)
    new_state = n_active > 0
    new_state[:, 1:] &= n_active[:, 1:] != n_active[:, :-1]
    state_unit, state_k = np.nonzero(new_state)
    tp, used = _simulate_pass2(batch, state_unit, k0[state_unit] <= state_k[:, None])
    state_of = (np.cumsum(new_state.ravel()) - 1).reshape(n_units, n_thr)
    has_state = n_active > 0
    k_of = np.broadcast_to(np.arange(n_thr), has_state.shape)[has_state]
    states = state_of[has_state]
    return (np.bincount(k_of, weights=tp[states], minlength=n_thr),
            np.bincount(k_of, weights=used[states], minlength=n_thr))


# ----------------------------------------------------------------------------
# One class at one difficulty
# ----------------------------------------------------------------------------
@dataclass
class _ClassData:
    """What the evaluation of one class needs, shared by the difficulties."""

    code: int
    neighbours: np.ndarray  # codes
    pair_det: np.ndarray  # (det, GT) pairs with the class or a neighbour, overlap > min
    pair_gt: np.ndarray
    pair_ov: np.ndarray
    dc_cov: np.ndarray  # (N_det,) bool


def _evaluate_level(dets: _Objects, gts: _Objects, data: _ClassData, level: int) -> Dict[str, Any]:
    """Precision curve, thresholds and GT count of one class at one difficulty."""
    ig_gt = _ignored_gt(gts, data.code, data.neighbours, level)
    ig_det = _ignored_det(dets, data.code, level)
    keep = ig_det[data.pair_det] != -1
    units = _build_units(data.pair_det[keep], data.pair_gt[keep], data.pair_ov[keep],
                         gts.image, dets.image)
    labels = (ig_gt, ig_det, dets.scores, data.dc_cov)
    chunks = list(_unit_chunks(units))
    tp_scores = [_pass1_tp_scores(_dense_batch(units, u0, u1, *labels)) for u0, u1 in chunks]
    num_gt = int(np.count_nonzero(ig_gt == 0))
    thresholds = get_thresholds(np.concatenate(tp_scores) if tp_scores else np.zeros(0), num_gt)
    n_thr = len(thresholds)
    # k0: number of thresholds strictly above the score (score < t means "below")
    det_k0 = np.searchsorted(-thresholds, -dets.scores, side='left')
    counted = (ig_det == 0) & ~data.dc_cov
    entering = np.bincount(det_k0[counted], minlength=n_thr + 1)[:n_thr]
    tp, fp = np.zeros(n_thr), np.cumsum(entering).astype(np.float64)
    for u0, u1 in (chunks if n_thr else []):
        batch_tp, batch_used = _pass2_counts(_dense_batch(units, u0, u1, *labels), det_k0, n_thr)
        tp += batch_tp
        fp -= batch_used
    return {'precision': precision_envelope(tp, fp), 'thresholds': thresholds,
            'num_gt': num_gt, 'tp': tp, 'fp': fp}


def _class_data(dets: _Objects, gts: _Objects, pairs: Tuple[np.ndarray, ...], dc_max: np.ndarray,
                code: int, neighbours: np.ndarray, min_overlap: float) -> _ClassData:
    """Selects the candidate pairs of one class from the pairs of all classes."""
    pair_det, pair_gt, pair_ov = pairs
    gt_code = gts.code[pair_gt]
    keep = ((gt_code == code) | np.isin(gt_code, neighbours)) & (pair_ov > min_overlap)
    return _ClassData(code=code, neighbours=neighbours,
                      pair_det=pair_det[keep], pair_gt=pair_gt[keep], pair_ov=pair_ov[keep],
                      dc_cov=dc_max > min_overlap)


# ----------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------
def _resolve_min_overlaps(classes: Sequence[str], min_overlaps: Optional[Mapping],
                          default_min_overlap: float) -> List[float]:
    """Minimum IoU per class: explicit, else KITTI default, else ``default_min_overlap``."""
    given = {str(k).lower(): float(v) for k, v in (min_overlaps or {}).items()}
    values = []
    for cls in classes:
        key = cls.lower()
        value = given.get(key, DEFAULT_MIN_OVERLAPS.get(key, float(default_min_overlap)))
        if not 0.0 <= value <= 1.0:
            raise ValueError(f'min overlap of {cls!r} must be in [0, 1], got {value}')
        values.append(value)
    return values


def _resolve_neighbours(classes: Sequence[str], neighbours: Optional[Mapping]) -> List[Tuple[str, ...]]:
    """Lower-cased neighbouring GT classes per evaluated class."""
    table = DEFAULT_NEIGHBOURS if neighbours is None else neighbours
    table = {str(k).lower(): ((v, ) if isinstance(v, str) else tuple(v)) for k, v in table.items()}
    return [tuple(str(n).lower() for n in table.get(cls.lower(), ())) for cls in classes]


def _check_classes(classes: Sequence[str]) -> List[str]:
    """Validates the class list: non-empty, unique ignoring case, no reserved key."""
    classes = [classes] if isinstance(classes, str) else [str(c) for c in classes]
    lowered = [c.lower() for c in classes]
    if not classes or len(set(lowered)) != len(lowered):
        raise ValueError(f'classes must be a non-empty list of distinct names, got {classes}')
    if set(lowered) & set(RESERVED_KEYS):
        raise ValueError(f'class names {RESERVED_KEYS} are reserved for result keys')
    return classes


def _summarise(per_class: Dict[str, Dict[str, Dict[str, Any]]]) -> Dict[str, Any]:
    """Builds the result dict (APs per class, their mean, and the details)."""
    result: Dict[str, Any] = {}
    for cls, levels in per_class.items():
        result[cls] = {
            'R11': {lvl: ap_r11(levels[lvl]['precision']) for lvl in DIFFICULTIES},
            'R40': {lvl: ap_r40(levels[lvl]['precision']) for lvl in DIFFICULTIES}}
    result['mean'] = {
        metric: {lvl: float(np.mean([result[c][metric][lvl] for c in per_class]))
                 for lvl in DIFFICULTIES}
        for metric in METRICS}
    result['details'] = per_class
    return result


def kitti_eval_2d(gt_annos: Sequence[Any],
                  dt_annos: Sequence[Any],
                  classes: Sequence[str] = DEFAULT_CLASSES,
                  min_overlaps: Optional[Mapping] = None,
                  neighbours: Optional[Mapping] = None,
                  default_min_overlap: float = 0.5) -> Dict[str, Any]:
    """Evaluates 2D boxes exactly like the KITTI devkit (R11 and R40 AP).

    Each annotation is a :class:`~det_kd.evaluation.functional.kitti_io.KittiObjects`
    (attributes ``names``, ``boxes``, ``truncated``, ``occluded``, ``scores``)
    or a dict with the mmdet3d keys ``name``, ``bbox``, ``truncated``,
    ``occluded`` and ``score``. Ground truth needs ``truncated`` / ``occluded``,
    detections need scores. Names are compared case-insensitively; GT named
    ``DontCare`` (any case) are DontCare regions.

    Args:
        gt_annos (Sequence): Ground truth, one entry per image.
        dt_annos (Sequence): Detections, one entry per image, same order.
        classes (Sequence[str]): Classes to evaluate; result keys use these
            spellings. Defaults to ``('Car', 'Pedestrian', 'Cyclist')``.
        min_overlaps (Mapping[str, float], optional): Minimum IoU per class
            (a match needs IoU strictly greater). Defaults to None: Car 0.7,
            Pedestrian 0.5, Cyclist 0.5, other classes ``default_min_overlap``.
        neighbours (Mapping[str, str | Sequence[str]], optional): GT classes
            that are neither TP nor FP for a class; replaces the default
            table. Defaults to None: Car -> Van, Pedestrian -> Person_sitting.
        default_min_overlap (float): Minimum IoU of classes without a KITTI
            or explicit value. Defaults to 0.5.

    Returns:
        dict: ``{cls: {'R11': {'easy', 'moderate', 'hard'}, 'R40': {...}}}`` for
        each class, ``'mean'`` (same layout, mean over ``classes``), all AP in
        percent, and ``'details'``: ``{cls: {difficulty: {'precision'
        (41,) array after the envelope, 'thresholds', 'num_gt', 'tp', 'fp'
        (per threshold)}}}``. A class without detections or counted GT gets
        AP 0; a threshold with ``TP + FP == 0`` gives NaN like the Python port.

    Raises:
        ValueError: On mismatched lengths, bad class lists or overlaps,
            malformed boxes, or non-finite values.
    """
    if len(gt_annos) != len(dt_annos):
        raise ValueError(f'{len(gt_annos)} ground-truth images but {len(dt_annos)} result images')
    classes = _check_classes(classes)
    overlaps = _resolve_min_overlaps(classes, min_overlaps, default_min_overlap)
    neighbour_names = _resolve_neighbours(classes, neighbours)
    vocab: Dict[str, int] = {}
    gts = _flatten(gt_annos, is_result=False, vocab=vocab)
    dets = _flatten(dt_annos, is_result=True, vocab=vocab)
    codes = [vocab.setdefault(c.lower(), len(vocab)) for c in classes]
    neighbour_codes = [np.array([vocab.setdefault(n, len(vocab)) for n in names], dtype=np.int64)
                       for names in neighbour_names]
    pairs, dc_max = _shared_overlaps(dets, gts, len(gt_annos), codes, neighbour_codes,
                                     vocab.setdefault(DONTCARE, len(vocab)))
    per_class = {}
    for cls, code, nb, min_ov in zip(classes, codes, neighbour_codes, overlaps):
        data = _class_data(dets, gts, pairs, dc_max, code, nb, min_ov)
        per_class[cls] = {lvl: _evaluate_level(dets, gts, data, i) for i, lvl in enumerate(DIFFICULTIES)}
    return _summarise(per_class)


def _shared_overlaps(dets: _Objects, gts: _Objects, n_img: int, codes: List[int],
                     neighbour_codes: List[np.ndarray],
                     dontcare: int) -> Tuple[Tuple[np.ndarray, ...], np.ndarray]:
    """Overlaps needed by every class, computed once.

    Returns:
        tuple: ``(pair_det, pair_gt, pair_iou)`` for detections that can take
        part (of an evaluated class, or lower than the largest minimum
        height) and GT of an evaluated or neighbouring class, with IoU > 0;
        and per detection the largest ``inter / area_det`` with a DontCare box.
    """
    class_codes = np.array(codes, dtype=np.int64)
    gt_codes = np.concatenate([class_codes, *neighbour_codes])
    det_height = np.abs(dets.boxes[:, 3] - dets.boxes[:, 1])
    det_sel = np.flatnonzero(np.isin(dets.code, class_codes) | (det_height < max(MIN_HEIGHT)))
    gt_sel = np.flatnonzero(np.isin(gts.code, gt_codes))
    pairs = _positive_overlaps(dets, det_sel, gts, gt_sel, n_img, criterion=-1)
    dc_det, _, dc_ov = _positive_overlaps(dets, np.flatnonzero(np.isin(dets.code, class_codes)), gts,
                                          np.flatnonzero(gts.code == dontcare), n_img, criterion=0)
    dc_max = np.zeros(len(dets.scores))
    np.maximum.at(dc_max, dc_det, dc_ov)
    return pairs, dc_max


def format_kitti_table(result: Mapping[str, Any], digits: int = 2) -> str:
    """Formats the APs of :func:`kitti_eval_2d` as a text table.

    Args:
        result (Mapping): Output of :func:`kitti_eval_2d` (or its JSON form).
        digits (int): Decimals of the AP values. Defaults to 2.

    Returns:
        str: One header line, one line per class and one for the mean.
    """
    rows = [k for k in result if k not in RESERVED_KEYS] + (['mean'] if 'mean' in result else [])
    width = max([len('Class')] + [len(r) for r in rows])
    cols = [(m, lvl) for m in METRICS for lvl in DIFFICULTIES]
    short = {'easy': 'Easy', 'moderate': 'Mod', 'hard': 'Hard'}
    heads = [f'{m} {short[lvl]}' for m, lvl in cols]
    cell = max(max(len(h) for h in heads), digits + 5)
    lines = [' | '.join(['Class'.ljust(width)] + [h.rjust(cell) for h in heads])]
    lines.append('-' * len(lines[0]))
    for row in rows:
        values = [f'{result[row][m][lvl]:.{digits}f}'.rjust(cell) for m, lvl in cols]
        lines.append(' | '.join([row.ljust(width)] + values))
    return '\n'.join(lines)
