r"""PKD (Cao et al., NeurIPS 2022): feature imitation after standardising every channel, i.e. one minus the
Pearson correlation of the two maps, which ignores the scale and offset of each channel.

Per sample the mean over elements of :math:`(\hat s - \hat t)^2 / 2` with
:math:`\hat x = (x - \mathrm{mean}_{hw}(x)) / (\mathrm{std}_{hw}(x) + 10^{-6})` per channel (population std).
Needs equal channels.
"""
from typing import Optional

import torch
from torch import Tensor

from .feature_mask import check_pair, position_mask

#: Added to each channel's standard deviation: a constant channel standardises to 0 instead of NaN.
PKD_EPS = 1e-6


def standardize_channels(feat: Tensor, keep: Optional[Tensor] = None) -> Tensor:
    """``(N, C, L)`` -> each channel of each sample minus its mean over ``L``, over (population std + 1e-6);
    with ``keep`` (``(N, 1, L)`` booleans) the statistics are over the kept positions."""
    if keep is None:
        mean = feat.mean(dim=2, keepdim=True)
        std = feat.std(dim=2, unbiased=False, keepdim=True)
    else:
        weight = keep.float()
        count = weight.sum(dim=2, keepdim=True).clamp(min=1)
        mean = (feat * weight).sum(dim=2, keepdim=True) / count
        std = (((feat - mean) * weight).pow(2).sum(dim=2, keepdim=True) / count).sqrt()
    return (feat - mean) / (std + PKD_EPS)


def pearson_feature_distance(student_feat: Tensor, teacher_feat: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    """Per sample, the mean over elements of ``(standardised student - standardised teacher)^2 / 2``.

    Args:
        student_feat, teacher_feat (Tensor): ``(N, C, H, W)``; no gradient flows into the teacher's.
        mask (Tensor, optional): Booleans broadcastable to ``(N, 1, H, W)``: statistics and mean over these
            positions only (a sample without one gives 0). Defaults to None (all).

    Returns:
        Tensor: ``(N,)``.
    """
    check_pair(student_feat, teacher_feat, 'pearson_feature_distance', same_channels=True)
    batch, channels = student_feat.shape[:2]
    student = student_feat.float().reshape(batch, channels, -1)
    teacher = teacher_feat.detach().float().reshape(batch, channels, -1)
    keep = position_mask(mask, student_feat, 'pearson_feature_distance')
    keep = None if keep is None else keep[:, None, :]
    elements = (standardize_channels(student, keep) - standardize_channels(teacher, keep)).pow(2) / 2
    if keep is None:
        return elements.mean(dim=(1, 2))
    kept = torch.where(keep, elements, elements.new_zeros(()))
    return kept.sum(dim=(1, 2)) / (keep.sum(dim=(1, 2)).clamp(min=1) * channels)
