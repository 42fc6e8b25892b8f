r"""The paper's RoI-head (RCN) terms on the student's sampled RoIs: soft classification and bounded
regression; the teacher's RoI head classifies and regresses the same RoIs."""
from typing import Any, Dict

from mmdet.registry import MODELS
from torch import Tensor

from ..compatibility import check_same_box_coder, check_same_roi_classes
from ..head_distillation import rcn_distillation_losses
from .base import DistillationInputs, LossModuleTerm


def check_rcn_pairing(pair: Any) -> None:
    """Raises unless the teacher has a RoI head over the same classes as the student's."""
    if not getattr(pair.teacher, 'with_roi_head', False):
        raise ValueError('rcn distillation is on but the teacher has no roi_head')
    check_same_roi_classes(pair.student.roi_head.bbox_head, pair.teacher.roi_head.bbox_head)


@MODELS.register_module()
class RCNSoftClassTerm(LossModuleTerm):
    r"""Class-weighted soft cross-entropy :math:`(1 - \mu) L_{soft}` on the sampled RoIs
    (``loss_rcn_kd_cls``); the student's ``loss_cls`` becomes :math:`\mu L_{hard}`.

    Args:
        loss (dict): A :class:`~det_kd.models.losses.WeightedSoftCrossEntropyLoss` config.
    """
    loss_keys = ('loss_rcn_kd_cls', )
    uses_rcn = True
    uses_rcn_deltas = False

    def check_compatibility(self, pair: Any) -> None:
        check_rcn_pairing(pair)

    def hard_loss_weights(self, scale: float) -> Dict[str, float]:
        return {'loss_cls': 1.0 - (1.0 - self.loss.mu) * scale}

    def forward(self, inputs: DistillationInputs) -> Dict[str, Tensor]:
        rcn = inputs.rcn
        return rcn_distillation_losses(rcn.student_cls, rcn.student_reg, rcn.teacher_cls, rcn.teacher_reg,
                                       rcn.targets, rcn.num_classes, rcn.class_agnostic, self.loss, None,
                                       inputs.scale, rcn.teacher_covered)


@MODELS.register_module()
class RCNBoundedRegressionTerm(LossModuleTerm):
    r"""Teacher-bounded regression :math:`\nu L_b` on the positive RoIs (``loss_rcn_kd_bbox``).

    Args:
        loss (dict): A :class:`~det_kd.models.losses.TeacherBoundedRegressionLoss` config.
    """
    loss_keys = ('loss_rcn_kd_bbox', )
    uses_rcn = True

    def check_compatibility(self, pair: Any) -> None:
        check_rcn_pairing(pair)
        check_same_box_coder(pair.student.roi_head.bbox_head, pair.teacher.roi_head.bbox_head, 'rcn distillation')

    def forward(self, inputs: DistillationInputs) -> Dict[str, Tensor]:
        rcn = inputs.rcn
        return rcn_distillation_losses(rcn.student_cls, rcn.student_reg, rcn.teacher_cls, rcn.teacher_reg,
                                       rcn.targets, rcn.num_classes, rcn.class_agnostic, None, self.loss,
                                       inputs.scale)
