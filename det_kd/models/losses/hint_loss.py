r"""Hint loss of Chen et al. (2017): :math:`L_{hint} = \|adapt(V) - Z\|_2^2` (an L1 variant is also given).

The paper does not give a normalisation; we take the mean over all elements so that the loss scale does not
depend on the feature map size (over the elements of a mask, when one is given: ``align='centre'`` excludes
teacher cells that the student map does not cover or that lie on the batch padding).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn

from det_kd.utils.settings import check_number


def hint_loss(student_feat: Tensor,
              teacher_feat: Tensor,
              mode: str = 'l2',
              mask: Optional[Tensor] = None) -> Tensor:
    r"""Mean over elements of :math:`(V' - Z)^2` (``'l2'``) or :math:`|V' - Z|` (``'l1'``).

    Args:
        student_feat (Tensor): Adapted, spatially aligned student map :math:`V'`, ``(B, C, H, W)``.
        teacher_feat (Tensor): Teacher hint map :math:`Z` of the same shape; no gradient flows into it.
        mode (str): ``'l2'`` or ``'l1'``. Defaults to ``'l2'``.
        mask (Tensor, optional): Booleans broadcastable to the maps' shape (e.g. ``(B, 1, H, W)``): the
            mean is then over the True elements only (the others get no loss and no gradient), and a
            mask without a True element gives 0, still attached to the graph. Defaults to None (all
            elements).

    Returns:
        Tensor: A scalar.
    """
    if student_feat.shape != teacher_feat.shape:
        raise ValueError(f'hint_loss: adapted student map {tuple(student_feat.shape)} and teacher map '
                         f'{tuple(teacher_feat.shape)} differ in shape')
    if mode not in ('l2', 'l1'):
        raise ValueError(f"hint_loss: mode must be 'l2' or 'l1', got {mode!r}")
    teacher_feat = teacher_feat.detach().float()
    loss = F.mse_loss if mode == 'l2' else F.l1_loss
    if mask is None:
        return loss(student_feat.float(), teacher_feat, reduction='mean')
    try:
        mask = mask.to(device=student_feat.device, dtype=torch.bool).expand(student_feat.shape)
    except RuntimeError:
        raise ValueError(f'hint_loss: mask of shape {tuple(mask.shape)} does not broadcast to the map '
                         f'shape {tuple(student_feat.shape)}') from None
    elements = loss(student_feat.float(), teacher_feat, reduction='none')
    total = torch.where(mask, elements, elements.new_zeros(())).sum()
    return total / mask.sum().clamp(min=1)


@MODELS.register_module()
class HintLoss(nn.Module):
    r"""Weighted hint loss :math:`\gamma \cdot` :func:`hint_loss`.

    Args:
        mode (str): ``'l2'`` (the paper's default) or ``'l1'``. Defaults to ``'l2'``.
        loss_weight (float): :math:`\gamma`. Defaults to 0.5.
    """

    def __init__(self, mode: str = 'l2', loss_weight: float = 0.5) -> None:
        super().__init__()
        if mode not in ('l2', 'l1'):
            raise ValueError(f"HintLoss: mode must be 'l2' or 'l1', got {mode!r}")
        self.mode = mode
        self.loss_weight = check_number(loss_weight, 'HintLoss: loss_weight', 0.0)

    def forward(self, student_feat: Tensor, teacher_feat: Tensor, scale: float = 1.0,
                mask: Optional[Tensor] = None) -> Tensor:
        """Returns ``scale * loss_weight * hint_loss(student_feat, teacher_feat, mode, mask)``.

        ``mask`` (optional booleans broadcastable to the maps): see :func:`hint_loss`. Defaults to None.
        """
        return scale * self.loss_weight * hint_loss(student_feat, teacher_feat, self.mode, mask)

    def extra_repr(self) -> str:
        return f'mode={self.mode!r}, loss_weight={self.loss_weight}'
