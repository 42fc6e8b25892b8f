"""The paper's ``mu * hard + (1 - mu) * soft`` when the teacher has soft targets for only some RoIs.

A teacher known by its detections gives a soft target only to the RoIs that overlap one of them; the hard
classification loss of those RoIs weighs ``mu`` (more generally the soft term's hard-loss weight at the
schedule's scale), of the others 1: nothing replaces their hard loss.
"""
from typing import Any, Callable

import torch
from torch import Tensor, nn

from .recorders import shadowed_method


class CoveredRoIWeighting:
    """Within the ``with`` block, the box head's classification loss weighs ``weight`` on the RoIs that
    ``coverage(rois)`` marks and 1 on the others; the normaliser stays every sampled RoI (MMDetection divides
    by the RoIs of positive weight: at ``weight = 0`` the covered ones would drop out of it).

    Args:
        bbox_head (nn.Module): The student's box head (its ``loss`` is wrapped on the instance).
        coverage (callable): ``rois (N, 5) -> (N,)`` booleans.
        weight (float): The covered RoIs' weight.
    """

    def __init__(self, bbox_head: nn.Module, coverage: Callable[[Tensor], Tensor], weight: float) -> None:
        self._shadow = shadowed_method(bbox_head, 'loss', self._weighted)
        self.coverage = coverage
        self.weight = weight

    def __enter__(self) -> 'CoveredRoIWeighting':
        self._shadow.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._shadow.__exit__(*exc_info)

    def _weighted(self, hard_loss: Callable) -> Callable:

        def loss(cls_score, bbox_pred, rois, labels, label_weights, *args, **kwargs):
            covered = self.coverage(rois)
            weighted = torch.where(covered, label_weights * self.weight, label_weights)
            losses = hard_loss(cls_score, bbox_pred, rois, labels, weighted, *args, **kwargs)
            sampled, counted = (max(float((w > 0).sum()), 1.0) for w in (label_weights, weighted))
            if sampled != counted and torch.is_tensor(losses.get('loss_cls')):
                losses['loss_cls'] = losses['loss_cls'] * (counted / sampled)
            return losses

        return loss
