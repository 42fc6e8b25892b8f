r"""The paper's RPN terms on the anchors the student's RPN sampled: soft objectness and bounded regression.

The teacher's RPN maps reach the terms on the student's anchor grid (``KDFasterRCNN``'s ``rpn_align``), so
both terms need the two RPNs to have anchors that pair up; :func:`check_rpn_pairing` says when they do not.
"""
from typing import Any, Dict

from mmdet.registry import MODELS
from torch import Tensor

from ..compatibility import check_same_anchor_shapes, check_same_anchors, check_same_box_coder
from ..head_distillation import rpn_distillation_losses
from .base import DistillationInputs, LossModuleTerm


def check_rpn_pairing(pair: Any) -> None:
    """Raises unless the teacher has an RPN whose anchors pair with the student's under ``rpn_align``."""
    teacher, student = pair.teacher, pair.student
    if not getattr(teacher, 'with_rpn', False):
        raise ValueError('rpn distillation is on but the teacher has no rpn_head')
    if pair.rpn_align == 'grid':
        ratio = pair.teacher_resolution_ratio
        if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
            raise ValueError(f'rpn distillation: the teacher sees the image {ratio:g}x the student\'s '
                             "size; rpn_align='grid' pairs anchors only at an integer ratio >= 1. Set "
                             "distill.rpn_align='resample' or switch rpn_cls / rpn_reg off")
        check_same_anchors(student.rpn_head, teacher.rpn_head, teacher_scale=round(ratio))
    elif student.rpn_head.num_base_priors != teacher.rpn_head.num_base_priors:
        raise ValueError('rpn distillation: the two RPNs have a different number of anchors per '
                         'position; resampling cannot pair them')
    else:
        check_same_anchor_shapes(student.rpn_head, teacher.rpn_head, pair.teacher_resolution_ratio)


@MODELS.register_module()
class RPNSoftClassTerm(LossModuleTerm):
    r"""Soft objectness :math:`(1 - \mu) L_{soft}` on the sampled anchors (``loss_rpn_kd_cls``); the student's
    ``loss_rpn_cls`` becomes :math:`\mu L_{hard}`.

    Args:
        loss (dict): A :class:`~det_kd.models.losses.WeightedSoftCrossEntropyLoss` config.
    """
    loss_keys = ('loss_rpn_kd_cls', )
    uses_rpn = True

    def check_compatibility(self, pair: Any) -> None:
        check_rpn_pairing(pair)
        self.loss.use_sigmoid = bool(pair.student.rpn_head.use_sigmoid_cls)

    def hard_loss_weights(self, scale: float) -> Dict[str, float]:
        return {'loss_rpn_cls': 1.0 - (1.0 - self.loss.mu) * scale}

    def forward(self, inputs: DistillationInputs) -> Dict[str, Tensor]:
        rpn = inputs.rpn
        return rpn_distillation_losses(rpn.student_cls, rpn.student_reg, rpn.teacher_cls, rpn.teacher_reg,
                                       rpn.targets, rpn.cls_out_channels, self.loss, None, inputs.scale,
                                       rpn.valid)


@MODELS.register_module()
class RPNBoundedRegressionTerm(LossModuleTerm):
    r"""Teacher-bounded regression :math:`\nu L_b` on the positive anchors (``loss_rpn_kd_bbox``).

    Args:
        loss (dict): A :class:`~det_kd.models.losses.TeacherBoundedRegressionLoss` config.
    """
    loss_keys = ('loss_rpn_kd_bbox', )
    uses_rpn = True

    def check_compatibility(self, pair: Any) -> None:
        check_rpn_pairing(pair)
        check_same_box_coder(pair.student.rpn_head, pair.teacher.rpn_head, 'rpn distillation')

    def forward(self, inputs: DistillationInputs) -> Dict[str, Tensor]:
        rpn = inputs.rpn
        return rpn_distillation_losses(rpn.student_cls, rpn.student_reg, rpn.teacher_cls, rpn.teacher_reg,
                                       rpn.targets, rpn.cls_out_channels, None, self.loss, inputs.scale,
                                       rpn.valid)
