"""The picture of what distillation changed (det_kd.experiments.pictures): which objects a model finds, and the
images where the two students differ most, on hand-made boxes."""
import numpy as np
import pytest

from det_kd.experiments.pictures import box_iou, difference_order, found_objects

GROUND_TRUTH = dict(bboxes=np.array([[0, 0, 9, 9], [20, 20, 29, 29], [40, 40, 49, 49]], dtype=np.float32),
                    labels=np.array([0, 0, 1]))


def detections(*rows):
    """Per class (2 classes) ``(K, 5)`` arrays from ``(class, x1, y1, x2, y2, score)`` rows."""
    return [np.array([row[1:] for row in rows if row[0] == c], dtype=np.float32).reshape(-1, 5) for c in (0, 1)]


def test_box_iou_by_hand():
    # 10 x 10 boxes (VOC areas, +1 px) shifted by 5: overlap 5 x 10 = 50, union 100 + 100 - 50
    assert box_iou(np.array([[0, 0, 9, 9.0]]), np.array([[5, 0, 14, 9.0]]))[0, 0] == pytest.approx(50 / 150)


def test_found_objects_by_class_score_and_overlap():
    found = found_objects(GROUND_TRUTH, detections((0, 0, 0, 9, 9, 0.9),  # finds object 0
                                                   (0, 40, 40, 49, 49, 0.9),  # wrong class for object 2
                                                   (0, 20, 20, 29, 29, 0.2),  # below the threshold
                                                   (1, 45, 40, 54, 49, 0.8)), 0.3)  # IoU 1/3 with object 2
    assert found.tolist() == [True, False, False]
    # one detection finds one object: the highest-scored takes the object, the other overlapping one finds nothing
    two = found_objects(GROUND_TRUTH, detections((0, 0, 0, 9, 9, 0.9), (0, 1, 0, 10, 9, 0.8)), 0.3)
    assert two.tolist() == [True, False, False]


def test_images_where_the_students_differ_most_come_first():
    annotations = [GROUND_TRUTH] * 3
    none = detections()
    everything = detections((0, 0, 0, 9, 9, 0.9), (0, 20, 20, 29, 29, 0.9), (1, 40, 40, 49, 49, 0.9))
    one = detections((0, 0, 0, 9, 9, 0.9))
    baseline = [none, one, everything]
    distilled = [one, everything, none]
    # image 0: distilled +1; image 1: +2; image 2: baseline finds 3 the distilled student misses
    assert difference_order(annotations, baseline, distilled, 0.3) == [(2, 0, 3), (1, 2, 0), (0, 1, 0)]
