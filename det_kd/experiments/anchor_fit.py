"""Anchors that fit the user's objects: how well an RPN's anchors cover the training boxes at the input size,
and anchor scales and ratios chosen to cover them (for the demo on a user's data).

The measures are the two thresholds of the RPN's assigner: a box is *covered* when the anchor that overlaps it
best reaches the positive IoU (0.7 for Faster R-CNN's RPN), and *matched* when it reaches the low-quality
match's minimum (0.3): a box below it gets no positive anchor at all, and the RPN never learns to propose it.
Anchors sit on their level's grid, so the best one is centred up to half a stride away from the box: both are
averaged over the box centre's position within a grid cell (:func:`best_grid_iou`; an anchor much smaller than
its stride covers little, whatever its shape).

:func:`fit_anchors` keeps the anchor count of every position (as many scales and ratios as before), the
strides and the base sizes: only the generator's ``scales`` and ``ratios`` change, so every model built from
the config (the teacher and the students alike: the RPN terms compare them anchor by anchor) stays the same
architecture with other anchors. The ratios come from a 1-D k-means of the boxes' log aspect ratios; the
scales from a search over geometric series (first scale, step) for the best *fit*, the mean of the covered
and the matched shares (ties broken by the mean best IoU): a fit for the covered share alone gives up the
boxes no anchor can cover (small objects on a coarse grid) for the others.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

#: The IoU at which an RPN anchor is a positive when the config's assigner does not say (mmdet's RPN).
DEFAULT_POSITIVE_IOU = 0.7
#: The low-quality match's minimum IoU when the config's assigner does not say (mmdet's RPN ``min_pos_iou``).
DEFAULT_MATCHED_IOU = 0.3
#: Steps between consecutive scales tried by the search (per scale: x1.19 to x4).
SCALE_STEPS = (2**0.25, 2**0.5, 2**0.75, 2.0, 2**1.5, 4.0)
#: The first scale is searched on a log2 grid of this resolution (octaves / 8).
FIRST_SCALE_STEP = 2**0.125
#: A boxes sample larger than this is thinned (evenly, deterministically) for the search: its cost is
#: boxes x anchors x grid positions x candidates.
MAX_SEARCH_BOXES = 1000
#: Positions of a box centre per axis within one anchor-grid cell (:func:`best_grid_iou`).
GRID_SAMPLES = 4


@dataclass
class AnchorCoverage:
    """How a set of anchors fits a set of boxes: ``covered`` / ``matched``, the shares of boxes whose best
    anchor reaches ``iou`` (the RPN's positive IoU) / ``matched_iou`` (its low-quality match); ``mean_iou``,
    the mean of every box's best IoU; the smallest and largest anchor side (square root of its area) in pixels;
    ``balanced``, whether the boxes were weighted."""
    covered: float
    matched: float
    mean_iou: float
    iou: float
    matched_iou: float
    smallest: float
    largest: float
    balanced: bool = False

    @property
    def fit(self) -> float:
        """What the search maximises: the mean of the covered and the matched shares."""
        return (self.covered + self.matched) / 2

    def describe(self) -> str:
        boxes = 'training boxes (every class weighing the same)' if self.balanced else 'training boxes'
        return (f'anchors of {self.smallest:.0f}-{self.largest:.0f} px cover {100 * self.covered:.0f} % of the '
                f'{boxes} at IoU >= {self.iou:g} and match {100 * self.matched:.0f} % at >= {self.matched_iou:g}, '
                f'over their positions on the anchor grid (mean best IoU {self.mean_iou:.2f})')


def generator_scales(generator: dict) -> list:
    """The scales of an ``AnchorGenerator`` config, from ``scales`` or from ``octave_base_scale`` and
    ``scales_per_octave`` (RetinaNet's form)."""
    if generator.get('scales') is not None:
        return [float(s) for s in generator['scales']]
    per_octave = generator['scales_per_octave']
    return [generator['octave_base_scale'] * 2**(i / per_octave) for i in range(per_octave)]


def base_sizes(generator: dict) -> list:
    """The base size of every level: ``base_sizes``, else the level's stride (its larger side)."""
    strides = [s if isinstance(s, (int, float)) else max(s) for s in generator['strides']]
    return [float(b) for b in (generator.get('base_sizes') or strides)]


def anchor_shapes(generator: dict, scales: Optional[Sequence[float]] = None,
                  ratios: Optional[Sequence[float]] = None) -> np.ndarray:
    """``(K, 2)`` width and height of every base anchor of every level, as mmdet's ``AnchorGenerator`` makes
    them (ratio = height / width: ``w = base * scale / sqrt(ratio)``, ``h = base * scale * sqrt(ratio)``),
    with ``scales`` / ``ratios`` in place of the generator's when given."""
    scales = np.asarray(generator_scales(generator) if scales is None else scales, dtype=np.float64)
    ratios = np.asarray(generator['ratios'] if ratios is None else ratios, dtype=np.float64)
    shapes = []
    for base in base_sizes(generator):
        side = base * scales[None, :] * np.ones((len(ratios), 1))  # (R, S)
        root = np.sqrt(ratios)[:, None]
        shapes.append(np.stack([(side / root).ravel(), (side * root).ravel()], axis=1))
    return np.concatenate(shapes)


def best_shape_iou(boxes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """``(M,)``: for every box ``(w, h)`` the IoU of the anchor shape ``(w, h)`` overlapping it best, both
    centred on the same point."""
    inter = np.minimum(boxes[:, None, 0], anchors[None, :, 0]) * np.minimum(boxes[:, None, 1], anchors[None, :, 1])
    union = boxes[:, None, 0] * boxes[:, None, 1] + anchors[None, :, 0] * anchors[None, :, 1] - inter
    return (inter / union).max(axis=1)


def anchor_strides(generator: dict) -> np.ndarray:
    """``(K,)``: the stride of the level of every anchor of :func:`anchor_shapes` (its larger side)."""
    strides = [s if isinstance(s, (int, float)) else max(s) for s in generator['strides']]
    per_level = len(generator_scales(generator)) * len(generator['ratios'])
    return np.repeat(np.asarray(strides, dtype=np.float64), per_level)


def best_grid_iou(boxes: np.ndarray, anchors: np.ndarray, strides: np.ndarray) -> np.ndarray:
    """``(M, P)``: for every box ``(w, h)`` and each of ``P = GRID_SAMPLES ** 2`` positions of its centre
    relative to the anchor grid (spread evenly over one cell of each anchor's level), the IoU of the anchor
    overlapping it best. An anchor sits on its level's grid, so its centre is up to half a stride from the
    box's: an anchor much smaller than its stride overlaps few boxes, whatever its shape."""
    steps = (np.arange(GRID_SAMPLES) + 0.5) / GRID_SAMPLES - 0.5
    dx, dy = (v.ravel() for v in np.meshgrid(steps, steps))  # (P,) in strides
    off_x = dx[None, :] * strides[:, None]  # (K, P)
    off_y = dy[None, :] * strides[:, None]

    def overlap(box_side, anchor_side, offset):  # (M, 1, 1), (1, K, 1), (1, K, P)
        return np.clip(np.minimum(box_side / 2, offset + anchor_side / 2) - np.maximum(-box_side / 2,
                                                                                       offset - anchor_side / 2),
                       0, None)

    bw, bh = boxes[:, 0, None, None], boxes[:, 1, None, None]
    aw, ah = anchors[None, :, 0, None], anchors[None, :, 1, None]
    inter = overlap(bw, aw, off_x[None]) * overlap(bh, ah, off_y[None])
    union = bw * bh + aw * ah - inter
    return (inter / union).max(axis=1)


def _weighted_mean(values: np.ndarray, weights: Optional[np.ndarray]) -> float:
    """The mean of ``values`` (``(M,)`` or ``(M, P)``: over the positions first) with box ``weights``."""
    per_box = values.mean(axis=1) if values.ndim == 2 else values
    return float(np.average(per_box, weights=weights))


def coverage(boxes: np.ndarray, generator: dict, iou: float = DEFAULT_POSITIVE_IOU,
             weights: Optional[np.ndarray] = None, matched_iou: float = DEFAULT_MATCHED_IOU) -> AnchorCoverage:
    """How the anchors of ``generator`` fit the box shapes ``boxes`` ``(M, 2)`` (in input pixels), over the
    boxes' positions on the anchor grid (:func:`best_grid_iou`), each box counting with its weight (``weights``;
    default: equally)."""
    anchors = anchor_shapes(generator)
    best = best_grid_iou(boxes, anchors, anchor_strides(generator))
    sides = np.sqrt(anchors.prod(axis=1))
    return AnchorCoverage(covered=_weighted_mean(best >= iou, weights),
                          matched=_weighted_mean(best >= matched_iou, weights), mean_iou=_weighted_mean(best, weights),
                          iou=iou, matched_iou=matched_iou, smallest=float(sides.min()), largest=float(sides.max()),
                          balanced=weights is not None)


def kmeans_log_ratios(boxes: np.ndarray, count: int, iterations: int = 50) -> list:
    """``count`` aspect ratios (height / width) for ``boxes``: a 1-D k-means of their log ratios started at
    the quantiles, each centre rounded to 2 decimals, sorted (the boxes given count equally: pass a sample drawn
    by weight)."""
    values = np.log(boxes[:, 1] / boxes[:, 0])
    centres = np.quantile(values, (np.arange(count) + 0.5) / count)
    for _ in range(iterations):
        nearest = np.abs(values[:, None] - centres[None, :]).argmin(axis=1)
        updated = np.array([values[nearest == k].mean() if np.any(nearest == k) else centres[k] for k in range(count)])
        if np.allclose(updated, centres):
            break
        centres = updated
    return sorted(float(round(np.exp(c), 2)) for c in centres)


def _thinned(boxes: np.ndarray, weights: np.ndarray, limit: int = MAX_SEARCH_BOXES) -> Tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` boxes for the search: a weighted random sample (fixed seed) when there are more."""
    if len(boxes) <= limit:
        return boxes, weights
    chosen = np.random.default_rng(0).choice(len(boxes), size=limit, replace=False, p=weights / weights.sum())
    return boxes[chosen], np.ones(limit)


def fit_anchors(boxes: np.ndarray, generator: dict, iou: float = DEFAULT_POSITIVE_IOU,
                weights: Optional[np.ndarray] = None, matched_iou: float = DEFAULT_MATCHED_IOU) -> Tuple[list, list]:
    """``(scales, ratios)`` for ``generator`` (as many of each as it has; its strides and base sizes kept)
    with the best fit to the box shapes ``boxes`` ``(M, 2)`` over their grid positions (:attr:`AnchorCoverage.fit`
    at ``iou`` and ``matched_iou``, boxes weighted by ``weights``), ties broken by the mean best IoU. The
    generator's own scales and ratios are among the candidates: the result never fits worse.

    Raises:
        ValueError: No box with a positive width and height.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 2)
    weights = np.ones(len(boxes)) if weights is None else np.asarray(weights, dtype=np.float64)
    positive = (boxes > 0).all(axis=1)
    if not positive.any():
        raise ValueError('no training box with a positive width and height: nothing to fit the anchors to')
    boxes, weights = _thinned(boxes[positive], weights[positive])
    own_scales, own_ratios = generator_scales(generator), [float(r) for r in generator['ratios']]
    count = len(own_scales)
    sides, bases = np.sqrt(boxes.prod(axis=1)), base_sizes(generator)
    low = np.quantile(sides, 0.01) / max(bases) / 2
    high = np.quantile(sides, 0.99) / min(bases) * 2
    firsts = low * FIRST_SCALE_STEP**np.arange(int(np.ceil(np.log(high / low) / np.log(FIRST_SCALE_STEP))) + 1)
    candidates = [(own_scales, own_ratios)]
    for ratios in (own_ratios, kmeans_log_ratios(boxes, len(own_ratios))):
        for first in firsts:
            for step in SCALE_STEPS if count > 1 else (1.0, ):
                candidates.append(([float(f'{first * step**i:.3g}') for i in range(count)], ratios))

    strides = anchor_strides(generator)

    def score(candidate) -> tuple:
        best = best_grid_iou(boxes, anchor_shapes(generator, *candidate), strides)
        fit = (_weighted_mean(best >= iou, weights) + _weighted_mean(best >= matched_iou, weights)) / 2
        return fit, _weighted_mean(best, weights)

    scores = [score(c) for c in candidates]
    return candidates[max(range(len(candidates)), key=lambda i: (round(scores[i][0], 4), scores[i][1], -i))]


def with_anchors(generator: dict, scales: Sequence[float], ratios: Sequence[float]) -> dict:
    """``generator`` with ``scales`` and ``ratios`` (an octave form of the scales is replaced by the list)."""
    fitted = {k: v for k, v in generator.items() if k not in ('octave_base_scale', 'scales_per_octave')}
    return dict(fitted, scales=list(scales), ratios=list(ratios))


def assigner_ious(model: dict) -> Tuple[float, float]:
    """The RPN assigner's positive IoU and low-quality match minimum of a model config (mmdet's RPN defaults,
    0.7 and 0.3, where it has none)."""
    assigner = ((model.get('train_cfg') or {}).get('rpn') or {}).get('assigner') or {}
    return (float(assigner.get('pos_iou_thr', DEFAULT_POSITIVE_IOU)),
            float(assigner.get('min_pos_iou', DEFAULT_MATCHED_IOU)))


def poorly_fitting(boxes: np.ndarray, generator: dict, weights: Optional[np.ndarray] = None) -> Tuple[float, float]:
    """The (weighted) shares of ``boxes`` smaller than half the smallest anchor side and larger than twice the
    largest (their best anchor overlaps them by at most 0.25 IoU)."""
    sides = np.sqrt(np.asarray(boxes, dtype=np.float64).reshape(-1, 2).prod(axis=1))
    anchors = np.sqrt(anchor_shapes(generator).prod(axis=1))
    return (_weighted_mean(sides < anchors.min() / 2, weights), _weighted_mean(sides > anchors.max() * 2, weights))


@dataclass
class AnchorChoice:
    """The demo's anchor decision for one dataset: ``generator`` is the fitted ``AnchorGenerator`` config to
    write into every generated config (None: the configs keep theirs); ``poor``, whether the configs' anchors
    fit the boxes poorly; ``before`` / ``after`` the coverage of the configs' anchors and of the fitted ones;
    ``message`` says it in words."""
    generator: Optional[dict]
    poor: bool
    before: AnchorCoverage
    after: Optional[AnchorCoverage]
    message: str


def choose_anchors(model: dict, boxes: np.ndarray, input_size: Sequence[int],
                   kept_because: Optional[str] = None, always: bool = False,
                   weights: Optional[np.ndarray] = None) -> Optional[AnchorChoice]:
    """Fits the RPN anchors of ``model`` (a model config) to ``boxes`` ``(M, 2)`` (the training boxes' width
    and height at ``input_size``) when they fit poorly: more than 10 % of the boxes smaller than half the
    smallest anchor or larger than twice the largest; with ``always`` also where they fit.
    ``kept_because`` (e.g. ``'--keep-anchors'``) keeps the configs' anchors and says so. ``weights`` weigh the
    boxes in every share and in the fit (the demo gives each class the same total: mAP averages over classes).
    None for a model without an RPN anchor generator or no box.
    """
    generator = (model.get('rpn_head') or {}).get('anchor_generator')
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 2)
    if not generator or not len(boxes):
        return None
    generator = dict(generator)
    iou, matched_iou = assigner_ious(model)
    before = coverage(boxes, generator, iou, weights, matched_iou)
    small, large = poorly_fitting(boxes, generator, weights)
    size = f'{input_size[0]}x{input_size[1]}'
    median = float(np.median(np.sqrt(boxes.prod(axis=1))))
    poor = small > 0.1 or large > 0.1
    if poor:
        misfit = (f'the anchors ({before.smallest:.0f}-{before.largest:.0f} px) do not fit the objects at {size} '
                  f'(median side {median:.0f} px): {100 * small:.0f} % are smaller than half the smallest anchor, '
                  f'{100 * large:.0f} % larger than twice the largest; the {before.describe()}')
    else:
        misfit = f'the {before.describe()} at {size} (median box side {median:.0f} px)'
        if not always:
            return AnchorChoice(None, False, before, None, f'{misfit}: kept')
    if kept_because:
        return AnchorChoice(None, poor, before, None, f'{misfit}. Kept ({kept_because})')
    scales, ratios = fit_anchors(boxes, generator, iou, weights, matched_iou)
    fitted = with_anchors(generator, scales, ratios)
    after = coverage(boxes, fitted, iou, weights, matched_iou)
    stride = float(anchor_strides(generator).min())
    if after.covered < 0.5 and median < stride:
        advice = (f'; the objects (median {median:.0f} px) are smaller than the finest anchor stride ({stride:g} px): '
                  'no anchor shape covers them on that grid; raise --input-size')
    else:
        advice = ''
    if (after.fit, after.mean_iou) <= (before.fit, before.mean_iou) and not always:
        return AnchorChoice(None, poor, before, None, f'{misfit}. Kept: no anchors of this generator fit them '
                                                       f'better{advice}')
    return AnchorChoice(fitted, poor, before, after, f'{misfit}. Fitted: scales {scales}, ratios {ratios} (strides '
                                               f'{list(generator["strides"])} kept): {after.describe()}, for the '
                                               f'teacher and the students alike{advice}')
