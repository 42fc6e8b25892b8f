r"""DeFeat (Guo et al., CVPR 2021, "Distilling Object Detectors via Decoupled Features"): feature imitation and
RoI-logit distillation, each decoupled into an object (foreground) and a background part with their own
weights (and, on the logits, temperatures).

Neck, on one level with object mask :math:`M` (the ground-truth boxes assigned to this level, on its cells:
:func:`defeat_object_mask`) and maps :math:`S` (student, adapted) and :math:`T` (teacher), over the whole batch:

.. math::

    L_{obj} = \frac{\sum M (S - T)^2}{\max(1, 2 C \sum M)}, \qquad
    L_{bg} = \frac{\sum (1 - M) (S - T)^2}{\max(1, 2 C \sum (1 - M))}

(the sums over samples, channels and cells; :math:`\sum M` over samples and cells), i.e. half the mean squared
difference over the object / background elements (:func:`decoupled_feature_imitation`).

RoI head, on the sampled RoIs with student / teacher logits :math:`z^s, z^t` (background last), the RoIs
labelled an object class (:math:`\mathcal{P}`) and background (:math:`\mathcal{N}`):

.. math::

    L^{cls}_{obj} = \frac{T_{obj}^2}{|\mathcal{P}|} \sum_{i \in \mathcal{P}}
        KL(\mathrm{softmax}(z^t_i / T_{obj}) \,\|\, \mathrm{softmax}(z^s_i / T_{obj})),

and :math:`L^{cls}_{bg}` the same over :math:`\mathcal{N}` with :math:`T_{bg}` (0 when the set is empty;
:func:`decoupled_roi_distillation`).
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .box_masks import box_cell_ranges, paint_cells
from .feature_mask import check_pair, position_mask

#: The object scale that maps to the finest level (DeFeat's ``_map_roi_levels``, as MMDetection's RoI levels).
DEFEAT_FINEST_SCALE = 56.0


def defeat_box_levels(boxes: Tensor, num_levels: int, finest_scale: float = DEFEAT_FINEST_SCALE) -> Tensor:
    """The pyramid level of each box: ``floor(log2(sqrt((w + 1) * (h + 1)) / finest_scale + 1e-6))`` clipped to
    ``[0, num_levels - 1]`` (``(K,)`` int64); with the default, scales below 112 go to level 0, [112, 224) to
    level 1, and so on."""
    boxes = boxes.reshape(-1, 4).double()
    scale = ((boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)).clamp(min=0).sqrt()
    return torch.floor(torch.log2(scale / finest_scale + 1e-6)).clamp(0, num_levels - 1).long()


def defeat_object_mask(boxes: Sequence[Tensor], map_size: Sequence[int], level: int, level_strides: Sequence[float],
                       finest_scale: float = DEFEAT_FINEST_SCALE) -> Tensor:
    """DeFeat's object mask of a batch on the map of pyramid level ``level``: the boxes assigned to that level
    (:func:`defeat_box_levels` over ``len(level_strides)`` levels) divided by the level's stride, their cells from
    ``int(x1 / s)`` to ``int(x2 / s)`` (end excluded, clipped to the map; a box less than a cell wide or high
    marks the one cell at its top-left).

    Args:
        boxes (list[Tensor]): Per sample ``(K, 4)`` ``(x1, y1, x2, y2)`` in pixels.
        map_size (tuple): ``(H, W)`` of the level's map.
        level (int): The map's level, an index into ``level_strides``.
        level_strides (list[float]): The strides of the pyramid's levels in pixels, finest first.
        finest_scale (float): Defaults to 56.

    Returns:
        Tensor: ``(N, H, W)`` booleans.
    """
    stride = float(level_strides[level])
    masks = []
    for sample_boxes in boxes:
        on_level = sample_boxes.reshape(-1, 4)[defeat_box_levels(sample_boxes, len(level_strides), finest_scale) ==
                                               level]
        ranges = box_cell_ranges(on_level, (stride, stride), map_size, 'truncate')
        masks.append(paint_cells(ranges, torch.ones(len(ranges), device=ranges.device), map_size) > 0)
    return torch.stack(masks)


def decoupled_feature_imitation(student_feat: Tensor, teacher_feat: Tensor, object_mask: Tensor,
                                mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """``(L_obj, L_bg)`` on one level over the batch (two scalars; see the module's docstring).

    Args:
        student_feat, teacher_feat (Tensor): ``(N, C, H, W)``; no gradient flows into the teacher's.
        object_mask (Tensor): ``(N, H, W)`` booleans (:func:`defeat_object_mask`).
        mask (Tensor, optional): Booleans broadcastable to ``(N, 1, H, W)``: the cells compared at all (both
            parts leave the others out). Defaults to None (all).
    """
    check_pair(student_feat, teacher_feat, 'decoupled_feature_imitation', same_channels=True)
    batch, channels = student_feat.shape[:2]
    squared = (student_feat.float() - teacher_feat.detach().float()).pow(2).reshape(batch, channels, -1)
    objects = object_mask.to(device=squared.device, dtype=torch.bool).reshape(batch, -1)
    keep = position_mask(mask, student_feat, 'decoupled_feature_imitation')
    if keep is None:
        keep = torch.ones_like(objects)
    losses = []
    for cells in (objects & keep, ~objects & keep):
        weight = cells[:, None, :].float()
        losses.append((squared * weight).sum() / max(1.0, 2.0 * channels * float(cells.sum())))
    return losses[0], losses[1]


def _kl_over(student_logits: Tensor, teacher_logits: Tensor, rows: Tensor, T: float) -> Tensor:
    """``T^2`` times the mean over ``rows`` of KL(teacher || student) at temperature ``T`` (0 without a row)."""
    if not bool(rows.any()):
        return student_logits.sum() * 0.0
    log_q = F.log_softmax(student_logits[rows] / T, dim=1)
    log_p = F.log_softmax(teacher_logits[rows] / T, dim=1)
    return (log_p.exp() * (log_p - log_q)).sum() / float(rows.sum()) * T * T


def decoupled_roi_distillation(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor, num_classes: int,
                               T_obj: float = 1.0, T_bg: float = 1.0,
                               covered: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """``(L_obj, L_bg)`` on the sampled RoIs (two scalars; see the module's docstring).

    Args:
        student_logits, teacher_logits (Tensor): ``(R, C + 1)``, background last; no gradient flows into the
            teacher's.
        labels (Tensor): ``(R,)`` the RoIs' targets: ``0 <= label < num_classes`` an object, ``num_classes``
            background.
        num_classes (int): ``C``.
        T_obj, T_bg (float): Temperatures (> 0). Default to 1.
        covered (Tensor, optional): ``(R,)`` booleans, the RoIs the teacher has class scores for (the others are
            in neither set). Defaults to None (all).
    """
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError('decoupled_roi_distillation: needs student and teacher logits of one shape (R, C + 1), '
                         f'got {tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}')
    for name, T in (('T_obj', T_obj), ('T_bg', T_bg)):
        if not (T > 0 and math.isfinite(T)):
            raise ValueError(f'decoupled_roi_distillation: {name} must be > 0, got {T!r}')
    student, teacher = student_logits.float(), teacher_logits.detach().float()
    labels = labels.to(student.device)
    keep = torch.ones_like(labels, dtype=torch.bool) if covered is None else covered.to(student.device).bool()
    objects = (labels >= 0) & (labels < num_classes) & keep
    background = (labels == num_classes) & keep
    return _kl_over(student, teacher, objects, T_obj), _kl_over(student, teacher, background, T_bg)
