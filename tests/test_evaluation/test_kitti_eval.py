"""KITTI 2D evaluation: hand-computed devkit cases and a randomized check against a loop reference.

Notation in the comments: n_gt = counted GTs, T = thresholds of ``get_thresholds``,
prec = the 41-vector after the envelope, R11 = 100 * sum(prec[0::4]) / 11,
R40 = 100 * sum(prec[1:]) / 40.
"""
import math

import numpy as np
import pytest
from kitti_reference import get_thresholds as reference_thresholds
from kitti_reference import reference_eval

import det_kd_kitti.kitti_eval as kitti_eval_module
from det_kd_kitti import KittiObjects, box_overlap, format_kitti_table, get_thresholds, kitti_eval_2d

LEVELS = ('easy', 'moderate', 'hard')
ONE = 100 / 11  # R11 of prec = [1, 0, ...]: 9.0909...
HALF = 50 / 11  # R11 of prec = [0.5, 0, ...]: 4.5454...


def gt_image(*objects):
    """GT of one image from ``(name, box)`` or ``(name, box, truncated, occluded)`` tuples."""
    objects = [o if len(o) == 4 else (*o, 0.0, 0) for o in objects]
    return dict(name=np.array([o[0] for o in objects], dtype=str),
                bbox=np.array([o[1] for o in objects], dtype=np.float64).reshape(-1, 4),
                truncated=np.array([o[2] for o in objects], dtype=np.float64),
                occluded=np.array([o[3] for o in objects], dtype=np.int64))


def det_image(*objects):
    """Detections of one image from ``(name, box, score)`` tuples."""
    return dict(name=np.array([o[0] for o in objects], dtype=str),
                bbox=np.array([o[1] for o in objects], dtype=np.float64).reshape(-1, 4),
                score=np.array([o[2] for o in objects], dtype=np.float64))


def evaluate(gts, dets, classes=('Car', ), **kwargs):
    """Runs the evaluator on single images or lists of images."""
    gts = gts if isinstance(gts, list) else [gts]
    dets = dets if isinstance(dets, list) else [dets]
    return kitti_eval_2d(gts, dets, classes=classes, **kwargs)


def assert_levels(result, cls, metric, expected):
    """Checks one metric at (easy, moderate, hard)."""
    got = [result[cls][metric][lvl] for lvl in LEVELS]
    assert got == pytest.approx(list(expected), abs=1e-9, nan_ok=True), (metric, got)


BOX = [0.0, 0.0, 100.0, 100.0]
FAR = [300.0, 0.0, 400.0, 100.0]


# --------------------------------------------------------------------------- overlap threshold
@pytest.mark.parametrize('cls,boundary_x2', [('Car', 70.0), ('Pedestrian', 50.0)])
def test_iou_equal_to_min_overlap_does_not_match(cls, boundary_x2):
    # det [0,0,x2,100] inside GT [0,0,100,100]: IoU = 100*x2 / 10000 = x2/100, exactly 0.7 / 0.5.
    det_box = [0.0, 0.0, boundary_x2, 100.0]
    assert box_overlap(np.array([det_box]), np.array([BOX]))[0] == boundary_x2 / 100
    result = evaluate(gt_image((cls, BOX)), det_image((cls, det_box, 0.9)), classes=(cls, ))
    assert_levels(result, cls, 'R11', [0, 0, 0])  # no TP in pass 1 -> no threshold -> AP 0
    # x2 + 0.01 -> IoU = 0.7001 / 0.5001 > threshold: one TP, T = [0.9], prec = [1, 0, ...]
    det_box[2] += 0.01
    result = evaluate(gt_image((cls, BOX)), det_image((cls, det_box, 0.9)), classes=(cls, ))
    assert_levels(result, cls, 'R11', [ONE] * 3)


def test_single_perfect_detection_gives_devkit_values():
    # n_gt = 1, TP scores [0.9] -> T = [0.9] (the last score is always kept).
    # prec = [1, 0, ..., 0] -> R11 = 100 * 1 / 11 = 9.0909, R40 = 100 * 0 / 40 = 0.
    result = evaluate(gt_image(('Car', BOX)), det_image(('Car', BOX, 0.9)))
    assert_levels(result, 'Car', 'R11', [ONE] * 3)
    assert_levels(result, 'Car', 'R40', [0, 0, 0])
    details = result['details']['Car']['easy']
    assert details['num_gt'] == 1
    assert details['thresholds'].tolist() == [0.9]
    assert details['precision'].tolist() == [1.0] + [0.0] * 40


def test_two_and_three_gts():
    # two GTs, two perfect dets (0.9, 0.8); n_gt = 2:
    # i=0: l=0.5, r=1.0, cur=0: (1-0) < (0-0.5) is False -> keep 0.9; i=1 is last -> keep 0.8.
    # prec = [1, 1, 0...] -> R11 = 100/11, R40 = 100 * 1 / 40 = 2.5
    gts = gt_image(('Car', BOX), ('Car', FAR))
    result = evaluate(gts, det_image(('Car', BOX, 0.9), ('Car', FAR, 0.8)))
    assert_levels(result, 'Car', 'R11', [ONE] * 3)
    assert_levels(result, 'Car', 'R40', [2.5] * 3)
    # three GTs, TPs at 0.9 / 0.8 / 0.7 and a FP at 0.85; T = [0.9, 0.8, 0.7]:
    # t=0.9: 1/1; t=0.8: TP 2, FP 1 -> 2/3; t=0.7: TP 3, FP 1 -> 3/4.
    # envelope: [1, 3/4, 3/4, 0...] -> R11 = 100/11, R40 = 100 * 1.5 / 40 = 3.75
    third = [600.0, 0.0, 700.0, 100.0]
    gts = gt_image(('Car', BOX), ('Car', FAR), ('Car', third))
    dets = det_image(('Car', BOX, 0.9), ('Car', FAR, 0.8), ('Car', third, 0.7),
                     ('Car', [900.0, 0.0, 1000.0, 100.0], 0.85))
    result = evaluate(gts, dets)
    assert result['details']['Car']['easy']['precision'][:4].tolist() == [1.0, 0.75, 0.75, 0.0]
    assert_levels(result, 'Car', 'R11', [ONE] * 3)
    assert_levels(result, 'Car', 'R40', [3.75] * 3)


# --------------------------------------------------------------------------- classes
@pytest.mark.parametrize('gt_name,expected', [('Van', ONE), ('Truck', HALF), ('van', ONE)])
def test_neighbour_gt_is_neither_tp_nor_fp(gt_name, expected):
    # Car GT + perfect det 0.9 (the only TP, T = [0.9]); second det 0.95 lies on a Van / Truck GT.
    # Van: the pair is ignored -> prec = 1 -> 100/11. Truck: "other class" -> FP -> 1/2 -> 50/11.
    gts = gt_image(('Car', BOX), (gt_name, FAR))
    result = evaluate(gts, det_image(('Car', BOX, 0.9), ('Car', FAR, 0.95)))
    assert_levels(result, 'Car', 'R11', [expected] * 3)


def test_person_sitting_is_neighbour_of_pedestrian_only():
    gts = gt_image(('Pedestrian', BOX), ('Person_sitting', FAR))
    dets = det_image(('Pedestrian', BOX, 0.9), ('Pedestrian', FAR, 0.95), ('Cyclist', BOX, 0.9),
                     ('Cyclist', FAR, 0.95))
    result = evaluate([gts], [dets], classes=('Pedestrian', 'Cyclist'))
    assert_levels(result, 'Pedestrian', 'R11', [ONE] * 3)  # the Person_sitting pair is ignored
    assert_levels(result, 'Cyclist', 'R11', [0, 0, 0])  # no Cyclist GT at all


def test_van_detection_is_not_evaluated():
    # a Van det (h = 100) anywhere is neither TP nor FP for Car, and cannot match a Car GT.
    result = evaluate(gt_image(('Car', BOX)), det_image(('Van', FAR, 0.95), ('Car', BOX, 0.9)))
    assert_levels(result, 'Car', 'R11', [ONE] * 3)
    result = evaluate(gt_image(('Car', BOX)), det_image(('Van', BOX, 0.95)))
    assert_levels(result, 'Car', 'R11', [0, 0, 0])


def test_names_are_case_insensitive_and_keys_keep_spelling():
    result = evaluate(gt_image(('cAr', BOX)), det_image(('CAR', BOX, 0.9)), classes=('car', ))
    assert_levels(result, 'car', 'R11', [ONE] * 3)


def test_custom_classes_use_default_min_overlap():
    # det [0,0,60,100] on GT [0,0,100,100]: IoU = 0.6 > 0.5 (default) but not > 0.7.
    gts = gt_image(('Circle', BOX), ('Square', FAR))
    dets = det_image(('Circle', [0.0, 0.0, 60.0, 100.0], 0.9), ('Square', FAR, 0.8))
    result = evaluate(gts, dets, classes=('Circle', 'Square'))
    assert_levels(result, 'Circle', 'R11', [ONE] * 3)
    assert_levels(result, 'mean', 'R11', [ONE] * 3)
    result = evaluate(gts, dets, classes=('Circle', 'Square'), min_overlaps={'circle': 0.7})
    assert_levels(result, 'Circle', 'R11', [0, 0, 0])
    result = evaluate(gts, dets, classes=('Circle', 'Square'), default_min_overlap=0.65)
    assert_levels(result, 'Circle', 'R11', [0, 0, 0])
    assert_levels(result, 'Square', 'R11', [ONE] * 3)


def test_custom_neighbours_replace_defaults():
    gts = gt_image(('Circle', BOX), ('Ellipse', FAR))
    dets = det_image(('Circle', BOX, 0.9), ('Circle', FAR, 0.95))
    assert_levels(evaluate(gts, dets, classes=('Circle', )), 'Circle', 'R11', [HALF] * 3)
    result = evaluate(gts, dets, classes=('Circle', ), neighbours={'Circle': 'Ellipse'})
    assert_levels(result, 'Circle', 'R11', [ONE] * 3)
    # with an explicit table, Van is no longer Car's neighbour: the det on it becomes a FP
    dets = det_image(('Car', BOX, 0.9), ('Car', FAR, 0.95))
    result = evaluate(gt_image(('Car', BOX), ('Van', FAR)), dets, neighbours={})
    assert_levels(result, 'Car', 'R11', [HALF] * 3)


def test_class_without_detections_is_zero_and_mean_is_over_requested_classes():
    gts = gt_image(('Car', BOX), ('Pedestrian', FAR))
    result = evaluate(gts, det_image(('Car', BOX, 0.9)), classes=('Car', 'Pedestrian'))
    assert_levels(result, 'Pedestrian', 'R11', [0, 0, 0])
    assert_levels(result, 'mean', 'R11', [ONE / 2] * 3)
    assert set(result) == {'Car', 'Pedestrian', 'mean', 'details'}


# --------------------------------------------------------------------------- DontCare
@pytest.mark.parametrize('cls,shift,absorbed', [
    ('Car', 20.0, True), ('Car', 30.0, False), ('Car', 40.0, False), ('Pedestrian', 40.0, True)])
def test_dontcare_uses_intersection_over_detection_area(cls, shift, absorbed):
    # FP det [0,0,100,100] (score 0.95); DontCare [s,0,s+200,100] covers f = (100-s)/100 of it:
    # inter / area(det) = f (0.8 / 0.7 / 0.6), while IoU = 100f / (300 - 100f) (0.36 at f=0.8)
    # and inter / area(DontCare) = f / 2. Absorbed iff f > min overlap (strict);
    # a real TP at 0.9 gives T = [0.9] -> prec 1 (absorbed) or 1/2.
    dontcare = [shift, 0.0, shift + 200.0, 100.0]
    gts = gt_image((cls, [500.0, 0.0, 600.0, 100.0]), ('DontCare', dontcare, -1.0, -1))
    dets = det_image((cls, [500.0, 0.0, 600.0, 100.0], 0.9), (cls, BOX, 0.95))
    assert_levels(evaluate(gts, dets, classes=(cls, )), cls, 'R11', [ONE if absorbed else HALF] * 3)


def test_dontcare_is_case_insensitive_and_absorbs_small_regions_inside_large_ones():
    # det [10,10,110,110] inside DontCare [0,0,400,400]: ratio 1.0 > 0.7, IoU only 0.0625.
    gts = gt_image(('Car', FAR), ('dontcare', [0.0, 0.0, 250.0, 400.0], -1.0, -1))
    dets = det_image(('Car', FAR, 0.9), ('Car', [10.0, 10.0, 110.0, 110.0], 0.95))
    assert_levels(evaluate(gts, dets), 'Car', 'R11', [ONE] * 3)


# --------------------------------------------------------------------------- difficulty filters
@pytest.mark.parametrize('height,expected', [(30.0, [ONE, HALF, HALF]), (40.0, [HALF] * 3),
                                             (24.99, [ONE] * 3)])
def test_detection_min_height(height, expected):
    # Car GT + perfect det 0.9 (T = [0.9]); a FP det of height h at 0.95.
    # ignored iff h < MIN_HEIGHT (40 easy, 25 moderate/hard): ignored -> prec 1, else 1/2.
    dets = det_image(('Car', BOX, 0.9), ('Car', [300.0, 0.0, 400.0, height], 0.95))
    assert_levels(evaluate(gt_image(('Car', BOX)), dets), 'Car', 'R11', expected)


@pytest.mark.parametrize('height,expected', [(40.0, [0, ONE, ONE]), (40.01, [ONE] * 3),
                                             (25.0, [0, 0, 0])])
def test_gt_min_height_is_inclusive(height, expected):
    # a GT is ignored if height <= MIN_HEIGHT; its det then matches an ignored GT (not a FP).
    box = [0.0, 0.0, 100.0, height]
    result = evaluate(gt_image(('Car', box)), det_image(('Car', box, 0.9)))
    assert_levels(result, 'Car', 'R11', expected)


def test_small_detection_of_any_class_absorbs_gt_in_pass_one():
    # Easy: the 39 px Pedestrian det has ignored_det = 1 (height < 40, class irrelevant);
    # pass 1 picks the highest score (0.95, IoU 39/41 > 0.7) -> ignored pair, no TP -> AP 0.
    # Moderate / hard: it is a plain other-class det (-1); the Car det is a TP -> 100/11.
    gt_box = [0.0, 0.0, 100.0, 41.0]
    dets = det_image(('Pedestrian', [0.0, 0.0, 100.0, 39.0], 0.95), ('Car', gt_box, 0.9))
    assert_levels(evaluate(gt_image(('Car', gt_box)), dets), 'Car', 'R11', [0, ONE, ONE])


@pytest.mark.parametrize('truncated,occluded,counted', [
    (0.0, 1, (False, True, True)), (0.0, 2, (False, False, True)), (0.0, 3, (False, False, False)),
    (0.15, 0, (True, True, True)), (0.2, 0, (False, True, True)), (0.31, 0, (False, False, True)),
    (0.5, 0, (False, False, True)), (0.51, 0, (False, False, False))])
def test_truncation_and_occlusion_limits(truncated, occluded, counted):
    # GT A (tested, det 0.9) + GT B (always counted, det 0.5).
    # counted: n_gt 2, T = [0.9, 0.5], prec [1, 1] -> R40 = 2.5.
    # ignored: n_gt 1, T = [0.5]; the 0.9 det sits on an ignored GT -> not a FP -> R40 = 0.
    # R11 = 100/11 in both cases (prec[0] = 1).
    gts = gt_image(('Car', BOX, truncated, occluded), ('Car', FAR))
    result = evaluate(gts, det_image(('Car', BOX, 0.9), ('Car', FAR, 0.5)))
    assert_levels(result, 'Car', 'R40', [2.5 if c else 0.0 for c in counted])
    assert_levels(result, 'Car', 'R11', [ONE] * 3)


# --------------------------------------------------------------------------- matching passes
def test_pass_one_picks_highest_score():
    # d1: IoU 0.95, score 0.6; d2: IoU 0.75, score 0.9. Pass 1 takes d2 -> T = [0.9];
    # at 0.9 d1 is below -> prec 1 -> 100/11. (Taking d1 would give T = [0.6] and prec 1/2.)
    dets = det_image(('Car', [0.0, 0.0, 95.0, 100.0], 0.6), ('Car', [0.0, 0.0, 75.0, 100.0], 0.9))
    result = evaluate(gt_image(('Car', BOX)), dets)
    assert result['details']['Car']['easy']['thresholds'].tolist() == [0.9]
    assert_levels(result, 'Car', 'R11', [ONE] * 3)


def test_pass_one_breaks_score_ties_by_file_order():
    # GT A [0,0,100,100], GT B [10,0,110,100]; d1 [5,0,105,100] (IoU 0.905 with both) and
    # d2 [-15,0,85,100] (IoU 0.739 with A, 0.6 with B), both 0.9, d1 first.
    # Pass 1: A <- d1 (first of the tied), B has none -> TP scores [0.9], n_gt 2, T = [0.9].
    # Pass 2: A <- d1, d2 is a FP -> prec [1/2] -> R11 = 50/11, R40 = 0.
    # (A <- d2 would leave d1 for B: T = [0.9, 0.9], prec [1/2, 1/2], R40 = 1.25.)
    gts = gt_image(('Car', BOX), ('Car', [10.0, 0.0, 110.0, 100.0]))
    dets = det_image(('Car', [5.0, 0.0, 105.0, 100.0], 0.9), ('Car', [-15.0, 0.0, 85.0, 100.0], 0.9))
    result = evaluate(gts, dets)
    assert_levels(result, 'Car', 'R11', [HALF] * 3)
    assert_levels(result, 'Car', 'R40', [0, 0, 0])


def test_pass_two_picks_largest_overlap():
    # GT1 [0,0,100,100], GT2 [10,0,110,100] (file order). d_a [-15,0,85,100] (0.9): IoU 0.739 with
    # GT1, 0.6 with GT2. d_b [5,0,105,100] (0.8): IoU 0.905 with both.
    # Pass 1: GT1 <- d_a (score), GT2 <- d_b: T = [0.9, 0.8].
    # Pass 2, t=0.8: GT1 <- d_b (overlap), GT2 has nothing -> TP 1, FP 1 (d_a) -> 1/2.
    # prec = [1, 0.5, 0...] -> R11 = 100/11, R40 = 100 * 0.5 / 40 = 1.25.
    gts = gt_image(('Car', BOX), ('Car', [10.0, 0.0, 110.0, 100.0]))
    dets = det_image(('Car', [-15.0, 0.0, 85.0, 100.0], 0.9), ('Car', [5.0, 0.0, 105.0, 100.0], 0.8))
    result = evaluate(gts, dets)
    assert result['details']['Car']['easy']['precision'][:3].tolist() == [1.0, 0.5, 0.0]
    assert_levels(result, 'Car', 'R40', [1.25] * 3)


def test_pass_two_prefers_non_ignored_detection():
    # GT A [0,0,100,41]: s [0,0,100,39.9] (0.8, listed first, IoU 0.973, ignored at easy: h < 40)
    # and n [0,0,100,44] (0.9, IoU 0.932). GT B with a perfect det at 0.7. T = [0.9, 0.7].
    # Easy, pass 2 at 0.7: A takes n although s overlaps more -> TP 2, FP 0 -> prec [1, 1] -> R40 2.5.
    # Moderate/hard: s (h >= 25) is a normal det, A takes it (larger overlap) and n becomes a FP:
    # prec [1, 2/3] -> R40 = 100 * (2/3) / 40.
    gts = gt_image(('Car', [0.0, 0.0, 100.0, 41.0]), ('Car', FAR))
    dets = det_image(('Car', [0.0, 0.0, 100.0, 39.9], 0.8), ('Car', [0.0, 0.0, 100.0, 44.0], 0.9),
                     ('Car', FAR, 0.7))
    assert_levels(evaluate(gts, dets), 'Car', 'R40', [2.5, 100 * (2 / 3) / 40, 100 * (2 / 3) / 40])


def test_tied_scores_enter_together():
    # two GTs with perfect dets at 0.8 and a FP at 0.8; T = [0.8, 0.8];
    # at t=0.8 all three count (only score < t is removed): prec = [2/3, 2/3, 0...].
    gts = gt_image(('Car', BOX), ('Car', FAR))
    dets = det_image(('Car', BOX, 0.8), ('Car', FAR, 0.8), ('Car', [600.0, 0.0, 700.0, 100.0], 0.8))
    result = evaluate(gts, dets)
    assert_levels(result, 'Car', 'R11', [100 * (2 / 3) / 11] * 3)
    assert_levels(result, 'Car', 'R40', [100 * (2 / 3) / 40] * 3)
    # one GT, TP and FP tied at 0.9: prec = [1/2] -> 50/11
    dets = det_image(('Car', BOX, 0.9), ('Car', FAR, 0.9))
    assert_levels(evaluate(gt_image(('Car', BOX)), dets), 'Car', 'R11', [HALF] * 3)


def test_zero_tp_and_fp_at_a_threshold_gives_nan_like_the_port():
    # GT1 Van [0,0,100,100], GT2 Car [10,0,110,100]; e [-15,0,85,100] (0.9), d [5,0,105,100] (0.5);
    # DontCare [-20,-10,90,110] contains e. Pass 1: Van <- e (score), Car <- d -> T = [0.5].
    # Pass 2 at 0.5: Van <- d (overlap 0.905 > 0.739), Car: e has IoU 0.6 -> FN;
    # e is unassigned but absorbed by DontCare -> TP = FP = 0 -> prec[0] = 0/0 = NaN.
    # The envelope only rewrites prec[0] -> R11 = NaN, R40 = 0.
    gts = gt_image(('Van', BOX), ('Car', [10.0, 0.0, 110.0, 100.0]),
                   ('DontCare', [-20.0, -10.0, 90.0, 110.0], -1.0, -1))
    dets = det_image(('Car', [-15.0, 0.0, 85.0, 100.0], 0.9), ('Car', [5.0, 0.0, 105.0, 100.0], 0.5))
    result = evaluate(gts, dets)
    assert all(math.isnan(result['Car']['R11'][lvl]) for lvl in LEVELS)
    assert_levels(result, 'Car', 'R40', [0, 0, 0])
    assert math.isnan(reference_eval([gts], [dets], ['Car'])['Car']['R11']['easy'])


# --------------------------------------------------------------------------- thresholds
def test_get_thresholds_samples_recall_steps():
    # n_gt = 120: score i (0-based, descending) is kept iff 2i + 3 >= 6k (k = kept so far),
    # i.e. i = 0 and i = 3k - 1; 120 TPs -> 41 thresholds; 60 TPs -> ... i = 56, then 59 (last).
    scores = np.linspace(1.0, 0.01, 120)
    kept = get_thresholds(scores[::-1].copy(), 120)
    assert kept.tolist() == scores[[0] + [3 * k - 1 for k in range(1, 41)]].tolist()
    kept = get_thresholds(scores[:60], 120)
    assert kept.tolist() == scores[[0] + [3 * k - 1 for k in range(1, 20)] + [59]].tolist()
    assert get_thresholds(np.zeros(0), 0).tolist() == []


def test_get_thresholds_matches_loop_on_random_inputs():
    rng = np.random.default_rng(0)
    for n_gt in [1, 2, 7, 40, 41, 42, 79, 80, 81, 100, 333, 1000]:
        n_tp = int(rng.integers(1, n_gt + 1))
        scores = np.round(rng.random(n_tp), 2)
        assert get_thresholds(scores, n_gt).tolist() == reference_thresholds(scores.tolist(), n_gt)


# --------------------------------------------------------------------------- API and inputs
def test_accepts_kitti_objects_and_formats_table():
    gt = KittiObjects(names=np.array(['Car']), truncated=np.zeros(1), occluded=np.zeros(1, np.int64),
                      boxes=np.array([BOX]))
    det = KittiObjects(names=np.array(['Car']), truncated=-np.ones(1), occluded=-np.ones(1, np.int64),
                       boxes=np.array([BOX]), scores=np.array([0.9]))
    result = kitti_eval_2d([gt], [det])
    assert_levels(result, 'Car', 'R11', [ONE] * 3)
    table = format_kitti_table(result)
    assert table.splitlines()[0].startswith('Class')
    assert [line.split()[0] for line in table.splitlines()[2:]] == ['Car', 'Pedestrian', 'Cyclist', 'mean']
    assert '9.09' in table.splitlines()[2]


def test_empty_dataset_and_images():
    result = kitti_eval_2d([], [])
    assert_levels(result, 'mean', 'R40', [0, 0, 0])
    result = kitti_eval_2d([gt_image(), gt_image(('Car', BOX))], [det_image(('Car', BOX, 0.9)), det_image()])
    assert_levels(result, 'Car', 'R11', [0, 0, 0])


@pytest.mark.parametrize('kwargs,gts,dets', [
    (dict(), [gt_image()], []),
    (dict(classes=('Car', 'car')), [gt_image()], [det_image()]),
    (dict(classes=('mean', )), [gt_image()], [det_image()]),
    (dict(min_overlaps={'Car': 1.5}), [gt_image()], [det_image()]),
    (dict(), [gt_image()], [det_image(('Car', [0.0, 0.0, np.nan, 1.0], 0.5))]),
    (dict(), [gt_image()], [det_image(('Car', BOX, np.inf))]),
])
def test_invalid_inputs_raise(kwargs, gts, dets):
    with pytest.raises(ValueError):
        kitti_eval_2d(gts, dets, **kwargs)


# --------------------------------------------------------------------------- randomized reference check
GT_NAMES = ['Car', 'Car', 'car', 'Pedestrian', 'Pedestrian', 'Cyclist', 'Van', 'Person_sitting', 'Truck',
            'DontCare', 'dontcare', 'Misc']
DET_NAMES = ['Car', 'Car', 'CAR', 'Pedestrian', 'Cyclist', 'Cyclist', 'Van', 'Person_sitting', 'Truck']
HEIGHTS = [24, 25, 26, 39, 40, 41, 39.5, 40.5, 24.5, 25.5, 45, 60, 100]
TRUNCATIONS = [0, 0.1, 0.15, 0.2, 0.3, 0.31, 0.5, 0.6, -1]
SCORES = [0.1, 0.2, 0.5, 0.5, 0.7, 0.9, 0.9, 1.0, -3.0]
OCCLUSIONS = [0, 0, 1, 2, 3, -1]


def random_box(rng, crowded):
    """Integer box; crowded boxes all overlap (many conflicts between GTs)."""
    span, width = (12, (40, 60)) if crowded else (200, (5, 120))
    x1, y1 = float(rng.integers(0, span)), float(rng.integers(0, span // 2 + 1))
    height = float(rng.choice(HEIGHTS)) if rng.random() < 0.5 else float(rng.integers(5, 150))
    return [x1, y1, x1 + float(rng.integers(*width)), y1 + height]


def jitter(box, rng, size):
    """Moves each side by an integer in [-size, size], keeping the box non-empty."""
    out = [v + float(rng.integers(-size, size + 1)) for v in box]
    out[2], out[3] = max(out[2], out[0] + 1), max(out[3], out[1] + 1)
    return out


def random_gt_objects(rng, max_gt, crowded):
    """GT ``(name, box, truncated, occluded)`` tuples; some boxes are near-duplicates of others."""
    boxes = []
    for _ in range(int(rng.integers(0, max_gt + 1))):
        if boxes and rng.random() < 0.3:
            boxes.append(jitter(boxes[int(rng.integers(len(boxes)))], rng, 6))
        else:
            boxes.append(random_box(rng, crowded))
    return [(str(rng.choice(GT_NAMES)), box, float(rng.choice(TRUNCATIONS)), int(rng.choice(OCCLUSIONS)))
            for box in boxes]


def random_score(rng):
    """A score from a short list (many ties) or with 3 decimals."""
    return float(rng.choice(SCORES)) if rng.random() < 0.6 else float(np.round(rng.random(), 3))


def random_image(rng, max_gt, max_fp, crowded):
    """One image: GT, jittered copies named mostly like their GT, random FPs, tied scores."""
    objects = random_gt_objects(rng, max_gt, crowded)
    dets = []
    for name, box, _, _ in objects:
        for _ in range(int(rng.choice([0, 1, 1, 2, 3]))):
            det_name = name if rng.random() < 0.7 else str(rng.choice(DET_NAMES))
            dets.append((det_name, jitter(box, rng, int(rng.choice([0, 2, 5, 10])))))
    for _ in range(int(rng.integers(0, max_fp + 1))):
        dets.append((str(rng.choice(DET_NAMES)), random_box(rng, crowded)))
    dets = [(*dets[i], random_score(rng)) for i in rng.permutation(len(dets))]
    if dets and rng.random() < 0.05:
        dets[0] = (*dets[0][:2], -10000000.0)  # never beats NO_DETECTION in pass 1
    return gt_image(*objects), det_image(*dets)


@pytest.mark.parametrize('seed', range(30))
def test_matches_loop_reference_on_random_datasets(seed, monkeypatch):
    rng = np.random.default_rng(1000 + seed)
    n_images = {0: 80, 5: 40}.get(seed % 10, int(rng.integers(6, 16)))  # some with n_gt > 41 per class
    crowded = seed % 3 == 1
    images = [random_image(rng, 10, 5, crowded) for _ in range(n_images)]
    gts, dets = [g for g, _ in images], [d for _, d in images]
    if seed % 4 == 2:  # force many small chunks
        monkeypatch.setattr(kitti_eval_module, '_CHUNK_ELEMENTS', 64)
    classes = ['Car', 'Pedestrian', 'Cyclist']
    expected = reference_eval(gts, dets, classes)
    result = kitti_eval_2d(gts, dets, classes=classes)
    for cls in classes:
        for lvl in LEVELS:
            assert result['details'][cls][lvl]['precision'].tolist() == pytest.approx(
                expected[cls]['precision'][lvl], abs=1e-9, nan_ok=True), (cls, lvl)
        for metric in ('R11', 'R40'):
            assert_levels(result, cls, metric, [expected[cls][metric][lvl] for lvl in LEVELS])
    for metric in ('R11', 'R40'):
        mean = [np.mean([expected[c][metric][lvl] for c in classes]) for lvl in LEVELS]
        assert_levels(result, 'mean', metric, mean)
    assert any(result[cls]['R11'][lvl] > 0 for cls in classes for lvl in LEVELS)  # not a vacuous case
