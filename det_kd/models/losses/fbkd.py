r"""Feature-based KD of Zhang & Ma (FBKD, ICLR 2021): attention-guided feature imitation, pooled-feature
("attention") imitation and non-local relation imitation, as the authors' code computes them.

With :math:`F^S, F^T` the student / teacher maps ``(N, C, H, W)``:

- attention (:func:`fbkd_attention`): spatial :math:`A_s(F) = HW \cdot \mathrm{softmax}_{hw}\big(\frac{1}{C}
  \sum_c |F_c| / T_s\big)`, channel :math:`A_c(F) = C \cdot \mathrm{softmax}_c\big(\frac{1}{HW} \sum_{hw}
  |F_{hw}| / T_c\big)`;
- feature loss :math:`\sqrt{\sum (F^T - a(F^S))^2 \, \bar A_s}` with :math:`\bar A_s = (A_s(F^T) + A_s(F^S)) / 2`
  (no gradient; optionally also times :math:`\bar A_c`, the paper's formula, off in the authors' code);
- channel loss :math:`\| \mathrm{mean}_{hw} F^T - l(\mathrm{mean}_{hw} F^S) \|_2`, spatial loss
  :math:`\| \mathrm{mean}_c F^T - k(\mathrm{mean}_c F^S) \|_2`;
- non-local loss :math:`\| b(r^S) - r^T \|_2` between the two maps through their non-local blocks.

:math:`a, l, k, b` are the student-side adaptations (1x1 conv, linear, 3x3 conv on one channel, 1x1 conv). Every
sum / norm runs over the whole batch (the reference's ``torch.dist`` on the batch), so each value is one scalar.
"""
from typing import Callable, Dict, Tuple

import torch
from torch import Tensor

from .feature_mask import check_pair

#: The entries :func:`fbkd_losses` returns, in the reference's order.
FBKD_PARTS = ('feature', 'channel', 'spatial', 'nonlocal')


def fbkd_attention(feat: Tensor, spatial_T: float = 0.5, channel_T: float = 0.5) -> Tuple[Tensor, Tensor]:
    """FBKD's spatial and channel attention of a map (each sums to its number of positions / channels).

    Args:
        feat (Tensor): ``(N, C, H, W)``.
        spatial_T, channel_T (float): Temperatures (> 0). Default to 0.5.

    Returns:
        tuple[Tensor, Tensor]: ``(N, 1, H, W)`` and ``(N, C, 1, 1)``, float32.
    """
    if not (spatial_T > 0 and channel_T > 0):
        raise ValueError(f'fbkd_attention: temperatures must be > 0, got spatial_T={spatial_T!r}, '
                         f'channel_T={channel_T!r}')
    batch, channels, height, width = feat.shape
    magnitude = feat.float().abs()
    spatial = torch.softmax(magnitude.mean(dim=1).reshape(batch, -1) / spatial_T, dim=1) * (height * width)
    channel = torch.softmax(magnitude.mean(dim=(2, 3)) / channel_T, dim=1) * channels
    return spatial.reshape(batch, 1, height, width), channel.reshape(batch, channels, 1, 1)


def _norm(value: Tensor) -> Tensor:
    """The L2 norm of all elements (its gradient at 0 is 0, where ``sqrt(sum(x ** 2))``'s is NaN)."""
    return torch.linalg.vector_norm(value.float().flatten())


def fbkd_losses(student_feat: Tensor,
                teacher_feat: Tensor,
                student_relation: Tensor,
                teacher_relation: Tensor,
                adapt_feature: Callable[[Tensor], Tensor],
                adapt_channel: Callable[[Tensor], Tensor],
                adapt_spatial: Callable[[Tensor], Tensor],
                adapt_relation: Callable[[Tensor], Tensor],
                spatial_T: float = 0.5,
                channel_T: float = 0.5,
                channel_mask: bool = False) -> Dict[str, Tensor]:
    """FBKD's four losses on one pair of maps, unweighted.

    Args:
        student_feat (Tensor): ``(N, Cs, H, W)``.
        teacher_feat (Tensor): ``(N, Ct, H, W)``; no gradient flows into it.
        student_relation (Tensor): The student map through its non-local block, ``(N, Cs, H, W)``.
        teacher_relation (Tensor): The teacher map through its (learnable) non-local block, ``(N, Ct, H, W)``;
            its gradient is kept (the teacher's block trains on the non-local loss, as in the reference).
        adapt_feature (callable): ``(N, Cs, H, W) -> (N, Ct, H, W)`` (the reference's 1x1 conv).
        adapt_channel (callable): ``(N, Cs) -> (N, Ct)`` (a linear layer).
        adapt_spatial (callable): ``(N, 1, H, W) -> (N, 1, H, W)`` (a 3x3 conv).
        adapt_relation (callable): ``(N, Cs, H, W) -> (N, Ct, H, W)`` (a 1x1 conv).
        spatial_T, channel_T (float): Attention temperatures. Default to 0.5.
        channel_mask (bool): Also weigh the feature loss by the mean channel attention (the paper's formula;
            needs ``Cs == Ct``). Defaults to False (the authors' code and MMRazor's).

    Returns:
        dict[str, Tensor]: Scalars ``feature``, ``channel``, ``spatial``, ``nonlocal`` (:data:`FBKD_PARTS`).
    """
    what = 'fbkd_losses'
    check_pair(student_feat, teacher_feat, what, same_channels=channel_mask)
    teacher = teacher_feat.detach()
    with torch.no_grad():
        student_spatial, student_channel = fbkd_attention(student_feat, spatial_T, channel_T)
        teacher_spatial, teacher_channel = fbkd_attention(teacher, spatial_T, channel_T)
        weight = (teacher_spatial + student_spatial) / 2
        if channel_mask:
            weight = weight * (teacher_channel + student_channel) / 2
    outputs = {
        'feature': adapt_feature(student_feat),
        'channel': adapt_channel(student_feat.mean(dim=(2, 3))),
        'spatial': adapt_spatial(student_feat.mean(dim=1, keepdim=True)),
        'nonlocal': adapt_relation(student_relation),
    }
    targets = {
        'feature': teacher,
        'channel': teacher.mean(dim=(2, 3)),
        'spatial': teacher.mean(dim=1, keepdim=True),
        'nonlocal': teacher_relation,
    }
    losses = {}
    for part in FBKD_PARTS:
        output, target = outputs[part], targets[part]
        if output.shape != target.shape:
            raise ValueError(f'{what}: the {part} adaptation gives {tuple(output.shape)} for a target of '
                             f'{tuple(target.shape)}')
        error = target.float() - output.float()
        losses[part] = _norm(error * weight.sqrt() if part == 'feature' else error)
    return losses
