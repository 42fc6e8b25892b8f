"""The ``mask`` argument of the feature-distillation functionals: which teacher cells a loss compares."""
from typing import Optional

import torch
from torch import Tensor


def position_mask(mask: Optional[Tensor], feat: Tensor, what: str) -> Optional[Tensor]:
    """``mask`` (booleans broadcastable to ``(N, 1, H, W)``) as ``(N, H * W)`` booleans, or None.

    Raises:
        ValueError: Naming ``what`` (the functional) and both shapes when the mask does not broadcast.
    """
    if mask is None:
        return None
    batch, _, height, width = feat.shape
    try:
        return mask.to(device=feat.device, dtype=torch.bool).expand(batch, 1, height, width).reshape(batch, -1)
    except RuntimeError:
        raise ValueError(f'{what}: mask of shape {tuple(mask.shape)} does not broadcast to '
                         f'({batch}, 1, {height}, {width})') from None


def check_pair(student_feat: Tensor, teacher_feat: Tensor, what: str, same_channels: bool) -> None:
    """Raises unless the two maps are ``(N, C, H, W)`` with the same ``N, H, W`` (and ``C`` if asked)."""
    if student_feat.dim() != 4 or teacher_feat.dim() != 4:
        raise ValueError(f'{what}: needs (N, C, H, W) maps, got {tuple(student_feat.shape)} and '
                         f'{tuple(teacher_feat.shape)}')
    s_shape, t_shape = tuple(student_feat.shape), tuple(teacher_feat.shape)
    if same_channels and s_shape != t_shape:
        raise ValueError(f'{what}: student map {s_shape} and teacher map {t_shape} differ in shape (channels '
                         'differ: use an adapter)')
    if (s_shape[0], ) + s_shape[2:] != (t_shape[0], ) + t_shape[2:]:
        raise ValueError(f'{what}: student map {s_shape} and teacher map {t_shape} differ in batch or spatial '
                         'size (align them first)')
