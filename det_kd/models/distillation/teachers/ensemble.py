"""Several trained detectors as one teacher (Hinton et al.'s "set of cumbersome models"): each runs as a
:class:`~.network.NetworkTeacher`; their outputs are combined by the rules of :mod:`.combination`."""
from typing import Dict, List, Sequence, Tuple

import torch
from mmcv.ops import batched_nms
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from torch import Tensor, nn

from ..teacher import naming_errors, teacher_names, teacher_specs
from .base import FeatureSource, TeacherContext, TeacherKind, TeacherOutputs, TeacherRequest
from .combination import (check_weights, ensemble_rcn_deltas, ensemble_rpn_deltas, ensemble_rpn_scores,
                          mean_probability_logits)
from .network import NetworkTeacher


@MODELS.register_module()
class TeacherEnsemble(TeacherKind):
    """A list of teachers, each a :class:`~.network.NetworkTeacher` dict with an optional ``weight`` (default 1,
    normalised to sum to 1) and, after the first, optional ``hints`` (its own feature pairs; ``[]``: no feature
    term compares the student with it, it teaches through the head terms only).

    The head terms see the weighted mean of the teachers' probabilities (as logits at the terms' temperature)
    and their deltas combined as ``distill.ensemble_reg`` says; every feature term gets one copy per teacher
    and logs the weighted sum over the teachers it compares with. A list of one is the single teacher, bit for
    bit.

    Args:
        context (TeacherContext): The student it teaches.
        members (list[dict]): The teachers.
        name (str): How errors name it. Defaults to ``'KDFasterRCNN.teacher'``.
    """

    def __init__(self, context: TeacherContext, members: Sequence[dict], name: str = 'KDFasterRCNN.teacher') -> None:
        super().__init__(context, name)
        specs = teacher_specs(list(members))
        self.members: List[NetworkTeacher] = []
        for index, (spec, member_name) in enumerate(zip(specs, teacher_names(specs, True))):
            with naming_errors(member_name):
                self.members.append(NetworkTeacher(context, name=member_name, index=index, **spec))
        #: The teachers' weights, normalised to sum to 1.
        self.weights = check_weights([spec.get('weight', 1.0) for spec in specs], name)
        self._pairs = [spec.get('hints') for spec in specs]
        #: The teachers' shares of the feature terms: 0 for a teacher with ``hints=[]``, renormalised.
        self.feature_weights = self.weights
        for index, pairs in enumerate(self._pairs):
            if isinstance(pairs, (list, tuple)) and not pairs:
                self.feature_weights = check_weights(
                    [0.0 if i == index else w for i, w in enumerate(self.feature_weights)], f'{name} (feature terms)')

    def networks(self) -> List[nn.Module]:
        return [member.network for member in self.members]

    def feature_sources(self) -> List[FeatureSource]:
        return [FeatureSource(member.index, self.feature_weights[member.index], member.name, pairs)
                for member, pairs in zip(self.members, self._pairs)
                if not (isinstance(pairs, (list, tuple)) and not pairs)]

    def class_names(self) -> Dict[str, Tuple[str, ...]]:
        return {what: names for member in self.members for what, names in member.class_names().items()}

    def label_classes(self) -> Dict[str, int]:
        return {what: count for member in self.members for what, count in member.label_classes().items()}

    def check_term(self, term: nn.Module, where: str) -> None:
        for member in self.members:
            with naming_errors(member.name):
                member.check_term(term, where)

    def build_adapters(self, terms: Sequence[nn.Module], probe: Tensor) -> None:
        for member in self.members:
            with naming_errors(member.name):
                member.build_adapters(terms, probe)

    def forward(self, request: TeacherRequest) -> TeacherOutputs:
        answers = [member.forward(request) for member in self.members]
        outputs = TeacherOutputs(maps=[answer.maps[0] for answer in answers])
        student = self.context.student
        mode = self.context.ensemble_reg
        if request.student_rpn_cls is not None:
            aligned = [answer.rpn for answer in answers]
            scores = ensemble_rpn_scores([a[0] for a in aligned], self.weights, request.rpn_temperature,
                                         student.rpn_head.cls_out_channels)
            deltas = ensemble_rpn_deltas([a[1] for a in aligned], self.weights, mode, request.rpn_targets[2])
            masks = [a[2] for a in aligned if a[2] is not None]
            valid = None if not masks else [torch.stack(level).all(dim=0) for level in zip(*masks)]
            outputs.rpn = (scores, deltas, valid)
        if request.rois is not None:
            bbox_head = student.roi_head.bbox_head
            labels, _, bbox_targets, _ = request.rcn_targets
            outputs.rcn_cls = mean_probability_logits([answer.rcn_cls for answer in answers], self.weights,
                                                      request.rcn_temperature)
            outputs.rcn_reg = ensemble_rcn_deltas([answer.rcn_reg for answer in answers], self.weights, mode, labels,
                                                  bbox_targets, bbox_head.num_classes, bbox_head.reg_class_agnostic)
        return outputs

    @torch.no_grad()
    def detections(self, inputs: Tensor, samples: SampleList,
                   indices: Sequence[int]) -> List[Tuple[Tensor, Tensor, Tensor]]:
        """Every teacher's detections, each score times the teacher's weight relative to the heaviest teacher's,
        merged by class-wise NMS (the first teacher's test-time RoI NMS)."""
        per_teacher = [member.detections(inputs, samples, indices) for member in self.members]
        heaviest = max(self.weights)
        merged = []
        for position in range(len(indices)):
            found = [teacher[position] for teacher in per_teacher]
            boxes = torch.cat([bboxes for bboxes, _, _ in found])
            scores = torch.cat([weight / heaviest * s for weight, (_, s, _) in zip(self.weights, found)])
            labels = torch.cat([labels for _, _, labels in found])
            if len(found) > 1 and len(boxes):
                _, keep = batched_nms(boxes, scores, labels, self.members[0].network.roi_head.test_cfg.nms)
                boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            merged.append((boxes, scores, labels))
        return merged
