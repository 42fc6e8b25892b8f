"""A teacher known only by its detections: a results file (``tools/pseudo_label.py``, or any detector writing the
format of :mod:`~det_kd.models.distillation.teacher_results`), no weights, no network run during training."""
from typing import List, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox_overlaps, bbox_project
from torch import Tensor

from ....utils.settings import check_number
from ..teacher_results import ImageDetections, TeacherResults
from .base import TeacherContext, TeacherKind, TeacherOutputs, TeacherRequest
from .combination import probability_logits


@MODELS.register_module()
class TeacherDetections(TeacherKind):
    """Per image, the teacher's boxes, labels, scores and a class-probability vector per box.

    - **Soft classification**: a student's sampled RoI that overlaps a detection by at least ``iou_thr`` (the one
      it overlaps most) gets that detection's probability vector as its soft target (handed to the terms as
      logits at their temperature); the other RoIs have none (:attr:`TeacherOutputs.rcn_covered`).
    - **Labels**: the detections label unlabeled images (``KDFasterRCNN.pseudo_label_thr``).

    Boxes go from the original image into the augmented batch through each sample's ``homography_matrix`` (the
    train pipeline's ``PackDetInputs`` must keep it). Feature, RPN and RoI-regression terms are refused.

    Args:
        context (TeacherContext): The student it teaches.
        results (str): The results file.
        iou_thr (float): Defaults to 0.5.
        name (str): How errors name it. Defaults to ``'KDFasterRCNN.teacher'``.
    """
    provides = frozenset({'rcn_cls'})
    covers_every_roi = False

    def __init__(self, context: TeacherContext, results: str, iou_thr: float = 0.5,
                 name: str = 'KDFasterRCNN.teacher') -> None:
        super().__init__(context, name)
        if context.student_input_scale != 1.0:
            raise ValueError(f'{name}: a teacher known by its detections needs the student at the batch\'s '
                             f'resolution (student_input_scale=1), got {context.student_input_scale:g}')
        self.results = TeacherResults(results)
        num_classes = context.student.roi_head.bbox_head.num_classes
        if self.results.num_classes != num_classes:
            raise ValueError(f'{name}.results: the file has {self.results.num_classes} classes '
                             f'{self.results.classes}, the student {num_classes}')
        self.iou_thr = float(check_number(iou_thr, f'{name}.iou_thr', 0.0, 1.0, low_open=True))
        self._last_match = None

    def _in_batch(self, sample) -> Tuple[ImageDetections, Tensor]:
        """The sample's detections and their boxes in the batch frame."""
        detections = self.results.get(sample.metainfo['img_path'])
        if 'homography_matrix' not in sample.metainfo:
            raise KeyError(f"{self.name}: the samples carry no 'homography_matrix' (how the pipeline moved the "
                           'image); add it to PackDetInputs meta_keys in the train pipeline')
        matrix = torch.as_tensor(sample.metainfo['homography_matrix'], dtype=torch.float32)
        return detections, bbox_project(torch.from_numpy(detections.boxes), matrix, sample.metainfo['img_shape'][:2])

    def detections(self, inputs: Tensor, samples: SampleList,
                   indices: Sequence[int]) -> List[Tuple[Tensor, Tensor, Tensor]]:
        found = []
        for index in indices:
            detections, boxes = self._in_batch(samples[index])
            found.append((boxes.to(inputs.device), torch.from_numpy(detections.scores).to(inputs.device),
                          torch.from_numpy(detections.labels).to(inputs.device)))
        return found

    def match(self, rois: Tensor, samples: SampleList) -> Tuple[Tensor, Tensor]:
        """Per RoI ``(N, 5)``: the class probabilities of the detection it overlaps most and whether that overlap
        reaches ``iou_thr`` (``(N,)`` booleans). The RoIs of a step are matched once."""
        if self._last_match is not None and self._last_match[0] is rois and self._last_match[1] is samples:
            return self._last_match[2]
        probs = rois.new_zeros((rois.size(0), self.results.num_classes + 1))
        matched = torch.zeros(rois.size(0), dtype=torch.bool, device=rois.device)
        for index, sample in enumerate(samples):
            in_image = rois[:, 0] == index
            detections, boxes = self._in_batch(sample)
            if not in_image.any() or len(boxes) == 0:
                continue
            best_iou, best = bbox_overlaps(rois[in_image, 1:], boxes.to(rois.device)).max(dim=1)
            probs[in_image] = torch.from_numpy(detections.class_probs).to(rois.device)[best]
            matched[in_image] = best_iou >= self.iou_thr
        self._last_match = (rois, samples, (probs, matched))
        return probs, matched

    def rcn_coverage(self, rois: Tensor, samples: SampleList) -> Tensor:
        return self.match(rois, samples)[1]

    def forward(self, request: TeacherRequest) -> TeacherOutputs:
        outputs = TeacherOutputs()
        if request.rois is not None:
            probs, matched = self.match(request.rois, request.samples)
            outputs.rcn_cls, outputs.rcn_covered = probability_logits(probs, request.rcn_temperature), matched
        return outputs
