"""Ground-truth boxes on the cells of a feature map: the masks of the ground-truth-aware feature methods
(FGD's focal masks, DeFeat's object / background masks).

Both methods put a box on a map by dividing its pixel coordinates by the size of a cell and rounding; they
round differently, so :func:`box_cell_ranges` has one ``rounding`` per method and the rest (the frame of the
boxes, painting the cells) is shared.
"""
from typing import Sequence, Tuple

import torch
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor

#: ``'outward'``: FGD (floor of the top-left, ceil of the bottom-right, both cells included);
#: ``'truncate'``: DeFeat (``int()`` of both corners, the bottom-right cell excluded).
ROUNDINGS = ('outward', 'truncate')


def sample_boxes(sample) -> Tensor:
    """A sample's ground-truth boxes ``(K, 4)`` ``(x1, y1, x2, y2)`` in the batch's pixels (``(0, 4)`` when it
    has none)."""
    instances = getattr(sample, 'gt_instances', None)
    boxes = getattr(instances, 'bboxes', None) if instances is not None else None
    if boxes is None:
        return torch.zeros(0, 4)
    return get_box_tensor(boxes).reshape(-1, 4)


def map_cell_size(metainfo: dict, map_size: Sequence[int]) -> Tuple[float, float]:
    """``(height, width)`` in the batch's pixels of one cell of a map of ``map_size`` ``(H, W)`` computed on
    the batch: the padded batch (``batch_input_shape``, else ``pad_shape``, else ``img_shape``) over the map's
    size. Exact for every map whose stride divides the padding (an FPN level up to the pad divisor)."""
    frame = metainfo.get('batch_input_shape') or metainfo.get('pad_shape') or metainfo.get('img_shape')
    if frame is None:
        raise ValueError('map_cell_size: the sample has no batch_input_shape / pad_shape / img_shape in its '
                         'metainfo; the boxes cannot be put on the map')
    return float(frame[0]) / int(map_size[0]), float(frame[1]) / int(map_size[1])


def box_cell_ranges(boxes: Tensor, cell_size: Sequence[float], map_size: Sequence[int], rounding: str) -> Tensor:
    """The cells of a map each box covers, as half-open ranges ``(x0, y0, x1, y1)`` (columns ``x0 <= x < x1``,
    rows ``y0 <= y < y1``).

    Args:
        boxes (Tensor): ``(K, 4)`` ``(x1, y1, x2, y2)`` in pixels.
        cell_size (tuple): ``(height, width)`` of a cell in pixels (the map's stride).
        map_size (tuple): ``(H, W)``.
        rounding (str): ``'outward'`` (FGD): from ``floor(x1 / w)`` to ``ceil(x2 / w)`` with both ends included,
            not clipped to the map (FGD counts a box's cells, for its ``1 / area`` weight, before clipping);
            ``'truncate'`` (DeFeat): from ``max(int(x1 / w), 0)`` to ``min(int(x2 / w), W)`` with the end
            excluded; a box whose range is empty on either axis gets the one cell ``(x0, y0)``.

    Returns:
        Tensor: ``(K, 4)`` int64.
    """
    if rounding not in ROUNDINGS:
        raise ValueError(f'box_cell_ranges: rounding must be one of {ROUNDINGS}, got {rounding!r}')
    boxes = boxes.reshape(-1, 4).double()
    cell_h, cell_w = float(cell_size[0]), float(cell_size[1])
    scaled = boxes / boxes.new_tensor([cell_w, cell_h, cell_w, cell_h])
    if rounding == 'outward':
        start, end = scaled[:, :2].floor(), scaled[:, 2:].ceil() + 1
        return torch.cat([start, end], dim=1).long()
    height, width = int(map_size[0]), int(map_size[1])
    truncated = scaled.trunc().long()
    start = truncated[:, :2].clamp(min=0)
    end = torch.minimum(truncated[:, 2:], truncated.new_tensor([width, height]))
    empty = (end <= start).any(dim=1, keepdim=True)
    end = torch.where(empty, start + 1, end)
    return torch.cat([start, end], dim=1)


def paint_cells(ranges: Tensor, values: Tensor, map_size: Sequence[int]) -> Tensor:
    """``(H, W)``: at each cell the largest of ``values`` over the ranges that cover it, 0 where none does.

    Args:
        ranges (Tensor): ``(K, 4)`` half-open cell ranges ``(x0, y0, x1, y1)`` (:func:`box_cell_ranges`); the
            parts outside the map are ignored.
        values (Tensor): ``(K,)`` non-negative values, one per range.
        map_size (tuple): ``(H, W)``.
    """
    height, width = int(map_size[0]), int(map_size[1])
    values = values.reshape(-1)
    if len(values) == 0:
        return values.new_zeros(height, width)
    ranges = ranges.to(values.device)
    rows = torch.arange(height, device=values.device)
    cols = torch.arange(width, device=values.device)
    in_rows = (rows[None, :] >= ranges[:, 1:2]) & (rows[None, :] < ranges[:, 3:4])  # (K, H)
    in_cols = (cols[None, :] >= ranges[:, 0:1]) & (cols[None, :] < ranges[:, 2:3])  # (K, W)
    covered = in_rows[:, :, None] & in_cols[:, None, :]
    painted = torch.where(covered, values[:, None, None], values.new_zeros(()))
    return painted.max(dim=0).values
