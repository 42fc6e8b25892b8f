r"""Focal and global distillation (FGD, Yang et al., CVPR 2022): feature imitation weighted by the ground
truth and by the teacher's attention (focal), plus a relation loss through GcBlocks (global).

On a pair of maps :math:`S, T \in \mathbb{R}^{C \times H \times W}` (per sample; the batch mean is the loss of
the reference ``FeatureLoss``, whose sums are divided by the batch size):

- attention with temperature :math:`\tau`: :math:`A^S(F) = HW\,\mathrm{softmax}_{hw}(\frac{1}{C}\sum_c |F_c| / \tau)`,
  :math:`A^C(F) = C\,\mathrm{softmax}_c(\frac{1}{HW}\sum_{hw} |F_{hw}| / \tau)`;
- masks from the boxes (:func:`fgd_masks`): :math:`M^{fg}_{hw} = \max_{r \ni (h, w)} 1 / (H_r W_r)` (a box's
  area in cells), :math:`M^{bg} = [M^{fg} = 0] / N_{bg}`;
- feature losses :math:`L_{fg} = \sum M^{fg} A^S(T) A^C(T) (S - T)^2`, :math:`L_{bg}` the same with
  :math:`M^{bg}` (the teacher's attention in both);
- attention loss :math:`L_{at} = \sum_c |A^C(S) - A^C(T)| + \sum_{hw} |A^S(S) - A^S(T)|`;
- relation loss :math:`L_{rela} = \sum (G_s(S) - G_t(T))^2` with
  :math:`G(F) = F + W_2\,\mathrm{ReLU}(\mathrm{LN}(W_1 \sum_{hw} \mathrm{softmax}_{hw}(W_k F) F))` (a GcBlock,
  :class:`FGDContextBlock`, learnable, one for each side).

The term weighs them :math:`\alpha L_{fg} + \beta L_{bg} + \gamma L_{at} + \lambda L_{rela}`.
"""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .box_masks import box_cell_ranges, paint_cells
from .feature_mask import check_pair


def fgd_masks(boxes: Sequence[Tensor], map_size: Sequence[int],
              cell_sizes: Sequence[Sequence[float]]) -> Tuple[Tensor, Tensor]:
    """FGD's foreground and background masks of a batch on a map of ``map_size``.

    A box covers the cells from ``floor`` of its top-left to ``ceil`` of its bottom-right corner on the map,
    both included; each covered cell gets ``1 / (rows x columns)`` of that range (counted before clipping to
    the map, as the reference does), the largest over overlapping boxes. The background is 1 on the cells no
    box covers, divided by their number (all zeros when every cell is foreground).

    Args:
        boxes (list[Tensor]): Per sample ``(K, 4)`` ``(x1, y1, x2, y2)`` in pixels.
        map_size (tuple): ``(H, W)``.
        cell_sizes (list[tuple]): Per sample a cell's ``(height, width)`` in pixels
            (:func:`~det_kd.models.losses.box_masks.map_cell_size`).

    Returns:
        tuple[Tensor, Tensor]: ``(fg, bg)``, each ``(N, H, W)`` float32.
    """
    fg_masks, bg_masks = [], []
    for sample_boxes, cell_size in zip(boxes, cell_sizes):
        ranges = box_cell_ranges(sample_boxes, cell_size, map_size, 'outward')
        area = ((ranges[:, 2] - ranges[:, 0]) * (ranges[:, 3] - ranges[:, 1])).float()
        fg = paint_cells(ranges, 1.0 / area.clamp(min=1), map_size)
        background = (fg == 0).float()
        bg = background / background.sum().clamp(min=1)
        fg_masks.append(fg)
        bg_masks.append(bg)
    return torch.stack(fg_masks), torch.stack(bg_masks)


def fgd_attention(feat: Tensor, temp: float) -> Tuple[Tensor, Tensor]:
    """FGD's spatial ``(N, H, W)`` and channel ``(N, C)`` attention of a map (they sum to ``H * W`` and ``C``)."""
    batch, channels, height, width = feat.shape
    value = feat.abs()
    spatial = height * width * F.softmax((value.mean(dim=1) / temp).reshape(batch, -1), dim=1)
    channel = channels * F.softmax(value.mean(dim=(2, 3)) / temp, dim=1)
    return spatial.reshape(batch, height, width), channel


def fgd_feature_losses(student_feat: Tensor, teacher_feat: Tensor, fg_mask: Tensor, bg_mask: Tensor,
                       temp: float) -> Tuple[Tensor, Tensor]:
    """Per sample ``(L_fg, L_bg)``: the squared differences weighted by the mask and the teacher's spatial and
    channel attention, summed over the map. Shapes: maps ``(N, C, H, W)``, masks ``(N, H, W)``; returns two
    ``(N,)``."""
    check_pair(student_feat, teacher_feat, 'fgd_feature_losses', same_channels=True)
    student, teacher = student_feat.float(), teacher_feat.detach().float()
    spatial, channel = fgd_attention(teacher, temp)
    weighted = (student - teacher).pow(2) * spatial[:, None] * channel[:, :, None, None]
    fg = (weighted * fg_mask[:, None].to(weighted)).sum(dim=(1, 2, 3))
    bg = (weighted * bg_mask[:, None].to(weighted)).sum(dim=(1, 2, 3))
    return fg, bg


def fgd_attention_loss(student_feat: Tensor, teacher_feat: Tensor, temp: float) -> Tensor:
    """Per sample ``(N,)``: L1 distance of the student's channel and spatial attention to the teacher's."""
    check_pair(student_feat, teacher_feat, 'fgd_attention_loss', same_channels=True)
    spatial_s, channel_s = fgd_attention(student_feat.float(), temp)
    spatial_t, channel_t = fgd_attention(teacher_feat.detach().float(), temp)
    return (channel_s - channel_t).abs().sum(dim=1) + (spatial_s - spatial_t).abs().sum(dim=(1, 2))


class FGDContextBlock(nn.Module):
    """The GcBlock of FGD's relation loss: ``x + channel_add(context(x))`` with the context a softmax-weighted
    sum over positions (weights from a 1x1 conv ``conv_mask``) and ``channel_add`` 1x1 conv (C -> C/2),
    LayerNorm, ReLU, 1x1 conv (C/2 -> C). Initialised as the reference: ``conv_mask`` Kaiming-normal (fan in)
    with a zero bias, the last conv of ``channel_add`` zero (the block starts as the identity).

    Args:
        channels (int): ``C`` (>= 2).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 2:
            raise ValueError(f'FGDContextBlock needs at least 2 channels (its bottleneck has C // 2), got {channels}')
        self.conv_mask = nn.Conv2d(channels, 1, kernel_size=1)
        self.channel_add = nn.Sequential(
            nn.Conv2d(channels, channels // 2, kernel_size=1), nn.LayerNorm([channels // 2, 1, 1]),
            nn.ReLU(inplace=True), nn.Conv2d(channels // 2, channels, kernel_size=1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_normal_(self.conv_mask.weight, mode='fan_in', nonlinearity='relu')
        nn.init.zeros_(self.conv_mask.bias)
        nn.init.zeros_(self.channel_add[-1].weight)
        nn.init.zeros_(self.channel_add[-1].bias)

    def context(self, x: Tensor) -> Tensor:
        """``(N, C, 1, 1)``: the map's positions summed with the softmax (over positions) of ``conv_mask``."""
        batch, channels = x.shape[:2]
        weights = F.softmax(self.conv_mask(x).reshape(batch, 1, -1), dim=2)  # (N, 1, HW)
        return torch.bmm(x.reshape(batch, channels, -1), weights.transpose(1, 2)).reshape(batch, channels, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        weight = self.conv_mask.weight
        x = x.to(weight.dtype)
        return x + self.channel_add(self.context(x))


def fgd_relation_loss(student_feat: Tensor, teacher_feat: Tensor, student_block: nn.Module,
                      teacher_block: nn.Module) -> Tensor:
    """Per sample ``(N,)``: the squared difference of the two maps after their GcBlocks, summed over the map (no
    gradient into the teacher's map; its block learns)."""
    check_pair(student_feat, teacher_feat, 'fgd_relation_loss', same_channels=True)
    student = student_block(student_feat.float())
    teacher = teacher_block(teacher_feat.detach().float())
    return (student - teacher).pow(2).sum(dim=(1, 2, 3))


def fgd_losses(student_feat: Tensor, teacher_feat: Tensor, fg_mask: Tensor, bg_mask: Tensor, temp: float,
               student_block: nn.Module, teacher_block: nn.Module) -> Dict[str, Tensor]:
    """FGD's four unweighted parts on a pair of maps, each ``(N,)``: ``fg``, ``bg``, ``attention``,
    ``relation`` (see the module's docstring)."""
    fg, bg = fgd_feature_losses(student_feat, teacher_feat, fg_mask, bg_mask, temp)
    return dict(fg=fg, bg=bg, attention=fgd_attention_loss(student_feat, teacher_feat, temp),
                relation=fgd_relation_loss(student_feat, teacher_feat, student_block, teacher_block))
