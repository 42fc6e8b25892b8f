"""Images nobody annotated: the teacher's detections become their ground truth ("pseudo labels"), or they get
none and the student's hard losses leave them out ("soft only", :class:`~.hard_loss_mask.HardLossMask`)."""
from typing import Optional

from mmdet.structures import SampleList
from mmengine.structures import InstanceData
from torch import Tensor

from ...datasets.unlabeled_images import unlabeled_indices
from .box_checks import too_small
from .teachers.base import TeacherKind


def check_label_classes(teacher: TeacherKind, num_classes: int) -> None:
    """Raises unless every network / file of ``teacher`` scores the student's ``num_classes`` classes (its labels
    are then the student's class indices; their names and order are compared at start-up)."""
    wrong = {what: count for what, count in teacher.label_classes().items() if count != num_classes}
    if wrong:
        what, count = next(iter(wrong.items()))
        raise ValueError(f'pseudo labels: {what} detects {count} classes, the student {num_classes}: its detections '
                         'cannot label the student\'s unlabeled images (a label k would be the student\'s class k, '
                         f'or its background). Use a teacher of the student\'s classes, or pseudo_label_thr=None '
                         '(soft only)')


def with_pseudo_labels(teacher: TeacherKind, inputs: Tensor, samples: SampleList, thr: Optional[float]) -> SampleList:
    """The samples with the teacher's detections scoring at least ``thr`` as the ground truth of those marked
    ``unlabeled`` (``UnlabeledImageDataset``); labeled samples are returned as they are (so is every sample when
    ``thr`` is None: soft only). The input samples are not modified.

    The teacher must detect the student's classes (:func:`check_label_classes`); a box under one pixel in the
    batch's frame (a zero-width ground truth is a NaN box loss) is dropped and counted.
    """
    indices = unlabeled_indices(samples)
    if not indices or thr is None:
        return samples
    num_classes = teacher.context.student.roi_head.bbox_head.num_classes
    check_label_classes(teacher, num_classes)
    labeled = list(samples)
    for index, (boxes, scores, labels) in zip(indices, teacher.detections(inputs, samples, indices)):
        if len(labels) and not bool(((labels >= 0) & (labels < num_classes)).all()):
            raise ValueError(f'pseudo labels: {teacher.name} labelled {samples[index].metainfo.get("img_path")!r} '
                             f'with classes {sorted(set(labels.tolist()))}, outside the student\'s '
                             f'0..{num_classes - 1}')
        small = too_small(boxes)
        keep = (scores >= thr) & ~small
        dropped = int(((scores >= thr) & small).sum())
        if dropped and hasattr(teacher, 'dropped_boxes'):
            teacher.dropped_boxes.add(dropped, samples[index].metainfo.get('img_path', f'batch image {index}'))
        sample = samples[index].clone()
        sample.gt_instances = InstanceData(bboxes=boxes[keep], labels=labels[keep])
        labeled[index] = sample
    return labeled
