"""Classification and regression distillation terms of the RPN and the RoI head (RCN).

Both take the student's head outputs, the teacher's outputs **for the same samples** (the same anchors for
the RPN, the student's sampled RoIs for the RCN) and the targets the student's own loss sampled, so the
distillation terms act on exactly the samples and normalisers of the hard losses.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..losses import TeacherBoundedRegressionLoss, WeightedSoftCrossEntropyLoss


def _flatten_level(score_map: Tensor, channels: int) -> Tensor:
    """(B, A * channels, H, W) -> (B * H * W * A, channels), the order of MMDetection's anchor targets."""
    return score_map.permute(0, 2, 3, 1).reshape(-1, channels)


def rpn_distillation_losses(student_cls: Sequence[Tensor],
                            student_reg: Sequence[Tensor],
                            teacher_cls: Sequence[Tensor],
                            teacher_reg: Sequence[Tensor],
                            targets: tuple,
                            cls_out_channels: int,
                            cls_loss: Optional[WeightedSoftCrossEntropyLoss],
                            reg_loss: Optional[TeacherBoundedRegressionLoss],
                            scale: float = 1.0,
                            valid: Optional[Sequence[Tensor]] = None) -> dict:
    """Soft objectness and bounded regression terms of the RPN, summed over levels.

    Args:
        student_cls, student_reg (list[Tensor]): Student RPN outputs per level,
            ``(B, A * cls_out_channels, H, W)`` and ``(B, A * 4, H, W)``.
        teacher_cls, teacher_reg (list[Tensor]): Teacher RPN outputs at the same anchors.
        targets (tuple): What ``AnchorHead.get_targets`` returned for the student's loss:
            ``(labels, label_weights, bbox_targets, bbox_weights, avg_factor)`` with per-level lists.
        cls_out_channels (int): 1 for a sigmoid objectness, 2 for a softmax one (background last).
        cls_loss (WeightedSoftCrossEntropyLoss, optional): Soft term; ``None`` disables it.
        reg_loss (TeacherBoundedRegressionLoss, optional): Bounded term; ``None`` disables it.
        scale (float): Distillation-schedule multiplier. Defaults to 1.0.
        valid (list[Tensor], optional): Per level, ``(B * H * W * A,)`` booleans marking the anchors the
            teacher has outputs for; the others get no distillation. Defaults to None (all).

    Returns:
        dict: ``loss_rpn_kd_cls`` and/or ``loss_rpn_kd_bbox``.
    """
    labels, label_weights, bbox_targets, bbox_weights, avg_factor = targets
    cls_terms: List[Tensor] = []
    reg_terms: List[Tensor] = []
    for level in range(len(student_cls)):
        covered = 1.0 if valid is None else valid[level].float()
        if cls_loss is not None:
            s_logits = _flatten_level(student_cls[level], cls_out_channels)
            t_logits = _flatten_level(teacher_cls[level], cls_out_channels)
            if cls_out_channels == 1:
                s_logits, t_logits = s_logits.squeeze(1), t_logits.squeeze(1)
            weights = label_weights[level].reshape(-1) * covered
            cls_terms.append(cls_loss(s_logits, t_logits, weights, avg_factor, scale))
        if reg_loss is not None:
            weights = bbox_weights[level].reshape(-1, 4)[:, 0] * covered
            positive = weights > 0
            reg_terms.append(
                reg_loss(_flatten_level(student_reg[level], 4)[positive],
                         _flatten_level(teacher_reg[level], 4)[positive],
                         bbox_targets[level].reshape(-1, 4)[positive], weights[positive], avg_factor, scale))
    losses = {}
    if cls_loss is not None:
        losses['loss_rpn_kd_cls'] = sum(cls_terms)
    if reg_loss is not None:
        losses['loss_rpn_kd_bbox'] = sum(reg_terms)
    return losses


def select_class_deltas(bbox_pred: Tensor, labels: Tensor, num_classes: int,
                        class_agnostic: bool) -> Tensor:
    """The ``(N, 4)`` deltas of each sample's ground-truth class (or the class-agnostic deltas)."""
    if class_agnostic:
        return bbox_pred.view(bbox_pred.size(0), -1)
    return bbox_pred.view(bbox_pred.size(0), num_classes, -1)[torch.arange(labels.numel()), labels]


def rcn_distillation_losses(student_cls: Tensor,
                            student_reg: Tensor,
                            teacher_cls: Tensor,
                            teacher_reg: Tensor,
                            targets: Tuple[Tensor, Tensor, Tensor, Tensor],
                            num_classes: int,
                            class_agnostic: bool,
                            cls_loss: Optional[WeightedSoftCrossEntropyLoss],
                            reg_loss: Optional[TeacherBoundedRegressionLoss],
                            scale: float = 1.0,
                            covered: Optional[Tensor] = None) -> dict:
    """Soft classification and bounded regression terms of the RoI head on the student's sampled RoIs.

    Args:
        student_cls, teacher_cls (Tensor): ``(N, C + 1)`` logits, background last.
        student_reg, teacher_reg (Tensor): ``(N, 4 * C)`` (or ``(N, 4)`` class-agnostic) deltas.
        targets (tuple): ``(labels, label_weights, bbox_targets, bbox_weights)`` from
            ``BBoxHead.get_targets`` for the student's sampled RoIs.
        num_classes (int): ``C``.
        class_agnostic (bool): Whether the box head regresses class-agnostic deltas.
        cls_loss, reg_loss: As in :func:`rpn_distillation_losses`.
        scale (float): Distillation-schedule multiplier. Defaults to 1.0.
        covered (Tensor, optional): ``(N,)`` booleans, the RoIs the teacher has class scores for (the others get
            no soft term; the normaliser stays every sampled RoI). Defaults to None (all).

    Returns:
        dict: ``loss_rcn_kd_cls`` and/or ``loss_rcn_kd_bbox``.
    """
    labels, label_weights, bbox_targets, bbox_weights = targets
    losses = {}
    if cls_loss is not None:
        # Same normaliser as BBoxHead.loss: the number of RoIs with a positive label weight.
        avg_factor = max(float((label_weights > 0).sum()), 1.0)
        weights = label_weights if covered is None else label_weights * covered.float()
        losses['loss_rcn_kd_cls'] = cls_loss(student_cls, teacher_cls, weights, avg_factor, scale)
    if reg_loss is not None:
        positive = (labels >= 0) & (labels < num_classes)
        pos_labels = labels[positive]
        losses['loss_rcn_kd_bbox'] = reg_loss(
            select_class_deltas(student_reg[positive], pos_labels, num_classes, class_agnostic),
            select_class_deltas(teacher_reg[positive], pos_labels, num_classes, class_agnostic),
            bbox_targets[positive], bbox_weights[positive][:, 0],
            avg_factor=bbox_targets.size(0), scale=scale)
    return losses
