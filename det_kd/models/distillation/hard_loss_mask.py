"""Leaves some images of a batch out of a Faster R-CNN's own (hard) RPN and RoI losses.

For distillation on unlabeled images without pseudo ground truth ("soft only": the student learns from the
teacher's soft outputs alone there): those images have no boxes, so every anchor and RoI of theirs would
train as background. Inside the ``with`` block their anchors and RoIs get weight 0 in the hard losses and the
normalisers (the RPN's sampled anchors, the RoI head's RoIs) count only the other images', as if they were not
in the batch; the targets the
distillation terms read (recorded from the same calls, see :class:`~.recorders.MethodCallRecorder`) keep them.
"""
from contextlib import ExitStack
from typing import Any, Sequence

import torch
from mmdet.models.losses import accuracy

from .recorders import shadowed_method


class HardLossMask:
    """Within the ``with`` block, ``detector``'s hard losses leave out the images at ``indices`` of the batch.

    Wraps, on the instances, ``detector.rpn_head.get_targets`` (the RPN's per-level label / box weights, and
    its ``avg_factor``) and ``detector.roi_head.bbox_head.loss`` (the RoIs' label / box weights, by the image
    index in ``rois[:, 0]``). Enter it after any recorder of ``rpn_head.get_targets``: the recorder, called
    inside, then records the unmasked targets.

    Args:
        detector: A two-stage detector with ``rpn_head`` and ``roi_head.bbox_head``.
        indices (Sequence[int]): Positions in the batch of the images left out.
    """

    def __init__(self, detector: Any, indices: Sequence[int]) -> None:
        self.rpn_head = detector.rpn_head
        self.bbox_head = detector.roi_head.bbox_head
        self.indices = sorted(set(int(i) for i in indices))

    def __enter__(self) -> 'HardLossMask':
        self._shadows = ExitStack()
        self._shadows.enter_context(shadowed_method(self.rpn_head, 'get_targets', self._masked_rpn_targets))
        self._shadows.enter_context(shadowed_method(self.bbox_head, 'loss', self._masked_rcn_loss))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._shadows.__exit__(*exc_info)

    def _masked_rpn_targets(self, get_targets):
        head, indices = self.rpn_head, self.indices

        def wrapper(*args: Any, **kwargs: Any) -> tuple:
            labels, label_weights, bbox_targets, bbox_weights, _, *rest = get_targets(*args, **kwargs)
            label_weights = [weights.clone() for weights in label_weights]  # (B, anchors of the level)
            bbox_weights = [weights.clone() for weights in bbox_weights]  # (B, anchors of the level, 4)
            for weights in (*label_weights, *bbox_weights):
                weights[indices] = 0
            # MMDetection's normaliser (each image's sampled, or positive, anchors) over the kept images; its
            # get_targets keeps this call's sampling results there
            sampling_results = head._raw_positive_infos['sampling_results']
            avg_factor = sum(result.avg_factor for i, result in enumerate(sampling_results) if i not in indices)
            return (labels, label_weights, bbox_targets, bbox_weights, avg_factor, *rest)

        return wrapper

    def _masked_rcn_loss(self, loss):
        indices = self.indices

        def wrapper(cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights, *args, **kwargs):
            left_out = torch.isin(rois[:, 0].long(), torch.tensor(indices, device=rois.device))
            label_weights = label_weights.masked_fill(left_out, 0)
            bbox_weights = bbox_weights.masked_fill(left_out[:, None], 0)
            losses = loss(cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights, *args,
                          **kwargs)
            kept = ~left_out
            if 'loss_bbox' in losses:  # MMDetection divides the box loss by the number of RoIs: count the kept
                losses['loss_bbox'] = losses['loss_bbox'] * (rois.size(0) / max(int(kept.sum()), 1))
            if 'acc' in losses and kept.any():  # the logged accuracy, over the kept RoIs
                losses['acc'] = accuracy(cls_score[kept], labels[kept])
            return losses

        return wrapper
