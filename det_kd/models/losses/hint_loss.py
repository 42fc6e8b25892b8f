r"""Hint loss of Chen et al. (2017): :math:`L_{hint} = \|adapt(V) - Z\|_2^2` (an L1 variant is also given).

The paper does not give a normalisation; we take the mean over all elements so that the loss scale does not
depend on the feature map size.
"""
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn


def hint_loss(student_feat: Tensor, teacher_feat: Tensor, mode: str = 'l2') -> Tensor:
    r"""Mean over elements of :math:`(V' - Z)^2` (``'l2'``) or :math:`|V' - Z|` (``'l1'``).

    Args:
        student_feat (Tensor): Adapted, spatially aligned student map :math:`V'`, ``(B, C, H, W)``.
        teacher_feat (Tensor): Teacher hint map :math:`Z` of the same shape; no gradient flows into it.
        mode (str): ``'l2'`` or ``'l1'``. Defaults to ``'l2'``.

    Returns:
        Tensor: A scalar.
    """
    if student_feat.shape != teacher_feat.shape:
        raise ValueError(f'hint_loss: adapted student map {tuple(student_feat.shape)} and teacher map '
                         f'{tuple(teacher_feat.shape)} differ in shape')
    teacher_feat = teacher_feat.detach().float()
    if mode == 'l2':
        return F.mse_loss(student_feat.float(), teacher_feat, reduction='mean')
    if mode == 'l1':
        return F.l1_loss(student_feat.float(), teacher_feat, reduction='mean')
    raise ValueError(f"hint_loss: mode must be 'l2' or 'l1', got {mode!r}")


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
        self.loss_weight = loss_weight

    def forward(self, student_feat: Tensor, teacher_feat: Tensor, scale: float = 1.0) -> Tensor:
        """Returns ``scale * loss_weight * hint_loss(student_feat, teacher_feat, mode)``."""
        return scale * self.loss_weight * hint_loss(student_feat, teacher_feat, self.mode)

    def extra_repr(self) -> str:
        return f'mode={self.mode!r}, loss_weight={self.loss_weight}'
