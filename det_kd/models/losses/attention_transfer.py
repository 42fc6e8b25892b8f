r"""Attention transfer (Zagoruyko & Komodakis, ICLR 2017): match where the two networks look.

An attention map sums (or maxes) the channels away: :math:`F_{sum}^p(A) = \sum_c |A_c|^p`,
:math:`F_{max}^p(A) = \max_c |A_c|^p`; with :math:`Q = vec(F(A))` the loss compares the L2-normalised
:math:`Q_s / \|Q_s\|_2` and :math:`Q_t / \|Q_t\|_2`. As in the authors' reference code (and MMRazor's
``ATLoss``) it is the mean over positions of the squared difference; the weight :math:`\beta` is the term's
``loss_weight``. Channel counts may differ.
"""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from .feature_mask import check_pair, position_mask

ATTENTION_MODES = ('sum', 'max')


def attention_map(feat: Tensor, p: float = 2.0, mode: str = 'sum') -> Tensor:
    r"""``(N, C, H, W)`` -> ``(N, H * W)``: :math:`\sum_c |A_c|^p` (``'sum'``) or :math:`\max_c |A_c|^p`."""
    if mode not in ATTENTION_MODES:
        raise ValueError(f'attention_map: mode must be one of {ATTENTION_MODES}, got {mode!r}')
    if not p > 0:
        raise ValueError(f'attention_map: p must be > 0, got {p!r}')
    powered = feat.abs().pow(p)
    return (powered.sum(dim=1) if mode == 'sum' else powered.amax(dim=1)).flatten(1)


def attention_transfer(student_feat: Tensor,
                       teacher_feat: Tensor,
                       p: float = 2.0,
                       mode: str = 'sum',
                       mask: Optional[Tensor] = None) -> Tensor:
    """Per sample, the mean over positions of ``(Q_s/|Q_s| - Q_t/|Q_t|)^2``.

    Args:
        student_feat (Tensor): ``(N, C_s, H, W)``.
        teacher_feat (Tensor): ``(N, C_t, H, W)``; no gradient flows into it.
        p (float): The power. Defaults to 2.
        mode (str): ``'sum'`` or ``'max'`` over channels. Defaults to 'sum'.
        mask (Tensor, optional): Booleans broadcastable to ``(N, 1, H, W)``: only these positions enter the
            attention vectors and the mean (a sample without one gives 0). Defaults to None (all).

    Returns:
        Tensor: ``(N,)``.
    """
    check_pair(student_feat, teacher_feat, 'attention_transfer', same_channels=False)
    student = attention_map(student_feat.float(), p, mode)
    teacher = attention_map(teacher_feat.detach().float(), p, mode)
    keep = position_mask(mask, student_feat, 'attention_transfer')
    if keep is None:
        count = student.new_full((student.size(0), ), float(student.size(1)))
    else:
        student, teacher = student * keep, teacher * keep
        count = keep.sum(dim=1).clamp(min=1).float()
    difference = F.normalize(student, dim=1) - F.normalize(teacher, dim=1)
    return difference.pow(2).sum(dim=1) / count
