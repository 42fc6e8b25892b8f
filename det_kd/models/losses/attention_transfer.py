r"""Attention transfer (Zagoruyko & Komodakis, ICLR 2017): match where the two networks look.

An attention map sums (or maxes) the channels away: :math:`F_{sum}^p(A) = \sum_c |A_c|^p`,
:math:`F_{max}^p(A) = \max_c |A_c|^p`; with :math:`Q = vec(F(A))` the loss compares the L2-normalised
:math:`Q_s / \|Q_s\|_2` and :math:`Q_t / \|Q_t\|_2`. As in the authors' reference code (and MMRazor's
``ATLoss``) it is the mean over positions of the squared difference; the weight :math:`\beta` is the term's
``loss_weight``. Channel counts may differ. Where ``|A| ** p`` would overflow (a large ``p``), a map is computed
on the features divided by their largest magnitude (a factor the normalisation removes): no NaN for any ``p``.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .feature_mask import check_pair, position_mask

ATTENTION_MODES = ('sum', 'max')
#: A sample whose ``max |A| ** p`` is beyond ``exp(+-30)`` gets its attention map rescaled: the L2 norm squares
#: the map's values (summed over up to thousands of channels and 1e5 positions), and float32 overflows at
#: ``exp(88.7)`` and flushes to zero below ``exp(-87)``.
_MAX_LOG_PEAK = 30.0


def attention_map(feat: Tensor, p: float = 2.0, mode: str = 'sum', rescale: bool = False) -> Tensor:
    r"""``(N, C, H, W)`` -> ``(N, H * W)``: :math:`\sum_c |A_c|^p` (``'sum'``) or :math:`\max_c |A_c|^p`.

    With ``rescale``, a sample whose :math:`\max|A|^p` is out of float32's comfortable range (beyond
    :math:`e^{\pm 30}`: :math:`|A|^{64}` overflows from :math:`|A| \approx 4`, its square in the norm from
    :math:`|A| \approx 2`) has its map computed on :math:`A / \max|A|` (the maximum detached), i.e. divided by
    :math:`\max|A|^p`: the same map up to a per-sample factor, which the L2 normalisation of
    :func:`attention_transfer` removes, and finite for any ``p`` (every value in ``[0, C]``). Other samples
    are computed as they are, bit for bit.
    """
    if mode not in ATTENTION_MODES:
        raise ValueError(f'attention_map: mode must be one of {ATTENTION_MODES}, got {mode!r}')
    if not p > 0:
        raise ValueError(f'attention_map: p must be > 0, got {p!r}')
    magnitude = feat.abs()
    if rescale:
        peak = magnitude.detach().flatten(1).amax(dim=1).clamp_min(torch.finfo(magnitude.dtype).tiny)
        extreme = (p * peak.log()).abs() > _MAX_LOG_PEAK  # elsewhere a division by 1: bit for bit (no host sync)
        magnitude = magnitude / torch.where(extreme, peak, torch.ones_like(peak))[:, None, None, None]
    powered = magnitude.pow(p)
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
    # L2-normalised maps do not depend on a per-sample factor: rescaled where needed, they stay finite for any p
    student = attention_map(student_feat.float(), p, mode, rescale=True)
    teacher = attention_map(teacher_feat.detach().float(), p, mode, rescale=True)
    keep = position_mask(mask, student_feat, 'attention_transfer')
    if keep is None:
        count = student.new_full((student.size(0), ), float(student.size(1)))
    else:
        student, teacher = student * keep, teacher * keep
        count = keep.sum(dim=1).clamp(min=1).float()
    difference = F.normalize(student, dim=1) - F.normalize(teacher, dim=1)
    return difference.pow(2).sum(dim=1) / count
