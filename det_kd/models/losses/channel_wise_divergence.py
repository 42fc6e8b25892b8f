r"""Channel-wise distillation (CWD, Shu et al., ICCV 2021): each channel as a distribution over positions.

Per sample :math:`\frac{T^2}{C} \sum_c KL(\mathrm{softmax}_{hw}(t_c / T) \,\|\, \mathrm{softmax}_{hw}(s_c / T))`
(MMRazor's ``ChannelWiseDivergence``, whose batch mean this is). Needs equal channels.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .feature_mask import check_pair, position_mask


def channel_wise_divergence(student_feat: Tensor,
                            teacher_feat: Tensor,
                            T: float = 1.0,
                            mask: Optional[Tensor] = None) -> Tensor:
    """Per sample, ``T^2 / C`` times the sum over channels of the KL divergence teacher -> student.

    Args:
        student_feat, teacher_feat (Tensor): ``(N, C, H, W)``; no gradient flows into the teacher's.
        T (float): Temperature (> 0). Defaults to 1.
        mask (Tensor, optional): Booleans broadcastable to ``(N, 1, H, W)``: the softmax runs over these
            positions only (a sample without one gives 0). Defaults to None (all).

    Returns:
        Tensor: ``(N,)``.
    """
    check_pair(student_feat, teacher_feat, 'channel_wise_divergence', same_channels=True)
    if not T > 0:
        raise ValueError(f'channel_wise_divergence: T must be > 0, got {T!r}')
    batch, channels = student_feat.shape[:2]
    student = student_feat.float().reshape(batch, channels, -1) / T
    teacher = teacher_feat.detach().float().reshape(batch, channels, -1) / T
    keep = position_mask(mask, student_feat, 'channel_wise_divergence')
    if keep is None:
        log_q, log_p = F.log_softmax(student, dim=2), F.log_softmax(teacher, dim=2)
        return (log_p.exp() * (log_p - log_q)).sum(dim=(1, 2)) * (T * T) / channels
    # A sample without a kept position is computed over all of them (finite values and gradients) and
    # then multiplied by 0; the excluded positions get -inf logits, no probability and no gradient.
    has_position = keep.any(dim=1)
    keep = (keep | ~has_position[:, None])[:, None, :].expand_as(student)
    log_q = F.log_softmax(student.masked_fill(~keep, float('-inf')), dim=2)
    log_p = F.log_softmax(teacher.masked_fill(~keep, float('-inf')), dim=2)
    zero = student.new_zeros(())
    elements = torch.where(keep, log_p.exp() * (torch.where(keep, log_p, zero) - torch.where(keep, log_q, zero)),
                           zero)
    return elements.sum(dim=(1, 2)) * (T * T) / channels * has_position.float()
