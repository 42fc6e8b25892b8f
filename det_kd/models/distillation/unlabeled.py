"""Images nobody annotated: the teacher's detections become their ground truth ("pseudo labels"), or they get
none and the student's hard losses leave them out ("soft only", :class:`~.hard_loss_mask.HardLossMask`)."""
from typing import Optional

from mmdet.structures import SampleList
from mmengine.structures import InstanceData
from torch import Tensor

from ...datasets.unlabeled_images import unlabeled_indices
from .teachers.base import TeacherKind


def with_pseudo_labels(teacher: TeacherKind, inputs: Tensor, samples: SampleList, thr: Optional[float]) -> SampleList:
    """The samples with the teacher's detections scoring at least ``thr`` as the ground truth of those marked
    ``unlabeled`` (``UnlabeledImageDataset``); labeled samples are returned as they are (so is every sample when
    ``thr`` is None: soft only). The input samples are not modified."""
    indices = unlabeled_indices(samples)
    if not indices or thr is None:
        return samples
    labeled = list(samples)
    for index, (boxes, scores, labels) in zip(indices, teacher.detections(inputs, samples, indices)):
        keep = scores >= thr
        sample = samples[index].clone()
        sample.gt_instances = InstanceData(bboxes=boxes[keep], labels=labels[keep])
        labeled[index] = sample
    return labeled
