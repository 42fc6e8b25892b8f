r"""PKD (Cao et al., NeurIPS 2022): feature imitation after standardising every channel, i.e. one minus the
Pearson correlation of the two maps, which ignores the scale and offset of each channel.

Per sample the mean over elements of :math:`(\hat s - \hat t)^2 / 2` with :math:`\hat x = (x - \mathrm{mean}(x)) /
(\mathrm{std}(x) + 10^{-6})` per channel, the statistics taken

- ``normalize='batch'`` (default, the reference's): over the whole batch ``N x H x W``, unbiased std (MMRazor's
  ``PKDLoss.norm``, ``mmrazor/models/losses/pkd_loss.py``); the batch mean of the result is then MMRazor's
  ``F.mse_loss(norm_S, norm_T) / 2``. An image's channel is compared relative to the batch: a teacher image
  that is an affine copy of the student's is not a perfect match when the other images are not scaled alike.
- ``normalize='image'``: over each image's ``H x W`` alone, population std (det_kd's form before issue 32):
  each image's channels are compared up to their own scale and offset.

Needs equal channels.
"""
from typing import Optional

import torch
from torch import Tensor

from .feature_mask import check_pair, position_mask

#: Added to each channel's standard deviation: a constant channel standardises to 0 instead of NaN.
PKD_EPS = 1e-6
#: ``normalize`` values: where each channel's mean and std are taken.
PKD_NORMALIZE = ('batch', 'image')


def _sqrt(variance: Tensor) -> Tensor:
    """``sqrt`` with a finite gradient (0) where the variance is 0 (a constant channel)."""
    positive = variance > 0
    return torch.where(positive, variance.clamp(min=torch.finfo(variance.dtype).tiny).sqrt(),
                       variance.new_zeros(()))


def standardize_channels(feat: Tensor, keep: Optional[Tensor] = None, normalize: str = 'image') -> Tensor:
    """``(N, C, L)`` -> each channel minus its mean, over (its std + 1e-6).

    Args:
        feat (Tensor): ``(N, C, L)``.
        keep (Tensor, optional): ``(N, 1, L)`` booleans: the statistics are over the kept positions only.
        normalize (str): ``'image'``: per sample over ``L``, population std; ``'batch'``: over ``N x L``,
            unbiased std (a channel with a single value has std 0). Defaults to ``'image'``.
    """
    if normalize == 'image':
        if keep is None:
            mean = feat.mean(dim=2, keepdim=True)
            std = feat.std(dim=2, unbiased=False, keepdim=True)
        else:
            weight = keep.float()
            count = weight.sum(dim=2, keepdim=True).clamp(min=1)
            mean = (feat * weight).sum(dim=2, keepdim=True) / count
            std = _sqrt(((feat - mean) * weight).pow(2).sum(dim=2, keepdim=True) / count)
    elif normalize == 'batch':
        dims = (0, 2)
        if keep is None:
            mean = feat.mean(dim=dims, keepdim=True)
            std = (feat.std(dim=dims, unbiased=True, keepdim=True) if feat.size(0) * feat.size(2) > 1 else
                   torch.zeros_like(mean))
        else:
            weight = keep.float()
            count = weight.sum(dim=dims, keepdim=True)
            mean = (feat * weight).sum(dim=dims, keepdim=True) / count.clamp(min=1)
            squares = ((feat - mean) * weight).pow(2).sum(dim=dims, keepdim=True)
            std = _sqrt(squares / (count - 1).clamp(min=1))
    else:
        raise ValueError(f'standardize_channels: normalize must be one of {PKD_NORMALIZE}, got {normalize!r}')
    return (feat - mean) / (std + PKD_EPS)


def pearson_feature_distance(student_feat: Tensor,
                             teacher_feat: Tensor,
                             mask: Optional[Tensor] = None,
                             normalize: str = 'batch') -> Tensor:
    """Per sample, the mean over elements of ``(standardised student - standardised teacher)^2 / 2``.

    Args:
        student_feat, teacher_feat (Tensor): ``(N, C, H, W)``; no gradient flows into the teacher's.
        mask (Tensor, optional): Booleans broadcastable to ``(N, 1, H, W)``: statistics and mean over these
            positions only (with ``'batch'``, each channel's statistics over the kept positions of every image);
            a sample without one gives 0. Defaults to None (all).
        normalize (str): Where each channel is standardised: ``'batch'`` (over ``N x H x W``, unbiased std: the
            reference's, MMRazor's ``PKDLoss``) or ``'image'`` (over each image's ``H x W``, population std).
            Defaults to ``'batch'``.

    Returns:
        Tensor: ``(N,)``. Without a mask its mean is MMRazor's ``F.mse_loss(norm_S, norm_T) / 2`` (with
        ``'batch'``).
    """
    check_pair(student_feat, teacher_feat, 'pearson_feature_distance', same_channels=True)
    if normalize not in PKD_NORMALIZE:
        raise ValueError(f'pearson_feature_distance: normalize must be one of {PKD_NORMALIZE}, got {normalize!r}')
    batch, channels = student_feat.shape[:2]
    student = student_feat.float().reshape(batch, channels, -1)
    teacher = teacher_feat.detach().float().reshape(batch, channels, -1)
    keep = position_mask(mask, student_feat, 'pearson_feature_distance')
    keep = None if keep is None else keep[:, None, :]
    elements = (standardize_channels(student, keep, normalize) -
                standardize_channels(teacher, keep, normalize)).pow(2) / 2
    if keep is None:
        return elements.mean(dim=(1, 2))
    kept = torch.where(keep, elements, elements.new_zeros(()))
    return kept.sum(dim=(1, 2)) / (keep.sum(dim=(1, 2)).clamp(min=1) * channels)
