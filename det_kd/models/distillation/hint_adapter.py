"""Adaptation layer and spatial alignment between a student's guided layer and a teacher's hint layer."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .receptive_field import Geometry, as_geometry

ADAPTERS = ('conv1x1', 'conv3x3', 'none')
#: ``'pad'`` | ``'resample'`` | ``'strict'``: :func:`align_spatial`; ``'centre'``: :func:`align_centres`.
ALIGNMENTS = ('pad', 'resample', 'strict', 'centre')
#: Tolerance, in student cells, of the test whether a teacher cell lies inside the student map.
_INDEX_EPS = 1e-6


def align_spatial(student_feat: Tensor, size: tuple, mode: str = 'pad') -> Tensor:
    """Brings a student map to the teacher map's spatial ``size``.

    Architectures with the same stride can differ by a few pixels (padding); the paper pads.

    Args:
        student_feat (Tensor): ``(B, C, h, w)`` student map.
        size (tuple): Target ``(H, W)``.
        mode (str): ``'pad'``: zero-pad at the bottom/right where the student map is smaller and crop
            where it is larger (the top-left corner stays aligned, as on the image); ``'resample'``:
            bilinear interpolation (e.g. a student at half the teacher's input resolution);
            ``'strict'``: sizes must already match. Defaults to 'pad'.

    Returns:
        Tensor: ``(B, C, H, W)``.
    """
    if mode not in ('pad', 'resample', 'strict'):
        raise ValueError(f"align_spatial: mode must be 'pad', 'resample' or 'strict', got {mode!r} "
                         "(align='centre' needs the maps' geometries: see align_centres)")
    height, width = student_feat.shape[-2:]
    target_h, target_w = int(size[0]), int(size[1])
    if (height, width) == (target_h, target_w):
        return student_feat
    if mode == 'pad':
        student_feat = student_feat[..., :target_h, :target_w]
        return F.pad(student_feat, (0, target_w - student_feat.shape[-1], 0, target_h - student_feat.shape[-2]))
    if mode == 'resample':
        return F.interpolate(student_feat, size=(target_h, target_w), mode='bilinear', align_corners=False)
    raise ValueError(f'hint alignment {mode!r}: student map {height}x{width} differs from the teacher map '
                     f"{target_h}x{target_w}; configure align='pad' or 'resample'")


def _interpolation_matrix(index: Tensor, size: int) -> Tuple[Tensor, Tensor]:
    """Linear interpolation along one axis as a matrix, and which rows lie inside the map.

    Args:
        index (Tensor): ``(n, )`` float64 fractional indices into an axis of ``size`` cells.
        size (int): Cells on that axis.

    Returns:
        tuple[Tensor, Tensor]: ``(weights, inside)``: ``(n, size)`` float64 weights, row ``i`` holding
        ``1 - f`` at ``floor(index[i])`` and ``f`` at the next cell (``f`` the fractional part), all zero
        for the indices outside ``[0, size - 1]``; and ``(n, )`` booleans, True inside.
    """
    inside = (index >= -_INDEX_EPS) & (index <= size - 1 + _INDEX_EPS)
    index = index.clamp(0, size - 1)
    low = index.floor().clamp(max=max(size - 2, 0))
    frac = index - low
    weights = index.new_zeros(len(index), size)
    rows = torch.arange(len(index))
    weights[rows, low.long()] = 1 - frac
    if size > 1:
        weights[rows, low.long() + 1] += frac
    weights[~inside] = 0
    return weights, inside


def centre_index(student_geometry: Geometry, teacher_geometry: Geometry, length: int) -> Tensor:
    """Fractional student index at the image coordinate of each of ``length`` teacher cells.

    Teacher cell ``n`` is centred at ``t_offset + t_stride * n``; the student cell index there is
    ``u = (t_offset + t_stride * n - s_offset) / s_stride``. Both geometries are in one image frame.

    Returns:
        Tensor: ``(length, )`` float64.
    """
    return student_geometry.index(teacher_geometry.centre(torch.arange(length, dtype=torch.float64)))


def _centre_interpolation(student_size: Sequence[int], teacher_size: Sequence[int],
                          student_geometry: Geometry, teacher_geometry: Geometry) -> Tuple[Tensor, Tensor, Tensor]:
    """Row and column interpolation matrices of :func:`align_centres` and the ``(H, W)`` coverage."""
    rows, rows_inside = _interpolation_matrix(
        centre_index(student_geometry, teacher_geometry, int(teacher_size[0])), int(student_size[0]))
    cols, cols_inside = _interpolation_matrix(
        centre_index(student_geometry, teacher_geometry, int(teacher_size[1])), int(student_size[1]))
    return rows, cols, rows_inside[:, None] & cols_inside[None, :]


def align_centres(student_feat: Tensor, size: Sequence[int], student_geometry: Geometry,
                  teacher_geometry: Geometry) -> Tuple[Tensor, Tensor]:
    """Resamples a student map onto the teacher's grid so that cells centred at one image point pair up.

    Each teacher cell ``(n_y, n_x)`` gets the student map interpolated bilinearly at the student index of
    its image coordinate (:func:`centre_index` on each axis), i.e. ``grid_sample`` with
    ``align_corners=True`` on the index coordinates, computed as two interpolation matrices (exact and
    deterministic). Teacher cells whose coordinate falls outside the student map (index outside
    ``[0, h - 1]`` or ``[0, w - 1]``) get zero and are False in the returned coverage.

    Args:
        student_feat (Tensor): ``(B, C, h, w)`` student map (after the adapter's convolution).
        size (Sequence[int]): The teacher map's ``(H, W)``.
        student_geometry (Geometry): The student map's ``(stride, offset)``, in the same image frame as
            ``teacher_geometry``.
        teacher_geometry (Geometry): The teacher map's.

    Returns:
        tuple[Tensor, Tensor]: ``(aligned, covered)``: ``(B, C, H, W)`` in ``student_feat``'s dtype and
        an ``(H, W)`` bool tensor on its device.
    """
    rows, cols, covered = _centre_interpolation(student_feat.shape[-2:], size, student_geometry,
                                                teacher_geometry)
    like = dict(dtype=student_feat.dtype, device=student_feat.device)
    return rows.to(**like) @ student_feat @ cols.t().to(**like), covered.to(student_feat.device)


def image_mask(teacher_geometry: Geometry, size: Sequence[int],
               img_shapes: Sequence[Sequence[int]]) -> Tensor:
    """Which teacher cells are centred on each sample's real image rather than on the batch padding.

    A cell counts when its centre lies in the image area ``[-0.5, h - 0.5) x [-0.5, w - 0.5)`` (pixel
    centres at ``0 .. h - 1``) of the sample's ``img_shape``.

    Args:
        teacher_geometry (Geometry): The teacher map's geometry in the frame of ``img_shapes``.
        size (Sequence[int]): The teacher map's ``(H, W)``.
        img_shapes (Sequence[Sequence[int]]): ``(h, w, ...)`` of every sample (metainfo ``img_shape``).

    Returns:
        Tensor: ``(B, 1, H, W)`` bool.
    """
    ys = teacher_geometry.centre(torch.arange(int(size[0]), dtype=torch.float64))
    xs = teacher_geometry.centre(torch.arange(int(size[1]), dtype=torch.float64))
    masks = [((ys >= -0.5) & (ys < h - 0.5))[:, None] & ((xs >= -0.5) & (xs < w - 0.5))[None, :]
             for h, w in (tuple(shape[:2]) for shape in img_shapes)]
    return torch.stack(masks)[:, None]


class HintAdapter(nn.Module):
    """Adaptation layer on the student side of a hint pair, followed by spatial alignment.

    The paper uses a 1x1 conv even when the channel counts match (Table 4: 56.9 without vs 58.0 with).

    Args:
        in_channels (int): Channels of the student's guided layer.
        out_channels (int): Channels of the teacher's hint layer.
        adapter (str): ``'conv1x1'``, ``'conv3x3'`` or ``'none'`` (identity; channels must match).
            Defaults to 'conv1x1'.
        align (str): ``'pad'``, ``'resample'`` or ``'strict'`` (see :func:`align_spatial`), or
            ``'centre'`` (see :func:`align_centres` and :meth:`valid_mask`). Defaults to 'pad'.
        name (str): Name of the pair for error messages. Defaults to 'hint'.
        student_geometry (Geometry, optional): Receptive-field geometry of the student map, needed by
            (and only used with) ``align='centre'``. Defaults to None.
        teacher_geometry (Geometry, optional): The teacher map's, in the same image frame. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 adapter: str = 'conv1x1',
                 align: str = 'pad',
                 name: str = 'hint',
                 student_geometry: Optional[Geometry] = None,
                 teacher_geometry: Optional[Geometry] = None) -> None:
        super().__init__()
        if adapter not in ADAPTERS:
            raise ValueError(f'{name}: adapter must be one of {ADAPTERS}, got {adapter!r}')
        if align not in ALIGNMENTS:
            raise ValueError(f'{name}: align must be one of {ALIGNMENTS}, got {align!r}')
        if align == 'centre' and (student_geometry is None or teacher_geometry is None):
            raise ValueError(f"{name}: align='centre' needs student_geometry and teacher_geometry")
        centre = align == 'centre'
        self.student_geometry = as_geometry(student_geometry, f'{name}: student_geometry') if centre else None
        self.teacher_geometry = as_geometry(teacher_geometry, f'{name}: teacher_geometry') if centre else None
        if adapter == 'none' and in_channels != out_channels:
            raise ValueError(f"{name}: adapter='none' needs equal channels, but the student layer has "
                             f'{in_channels} and the teacher layer {out_channels}; use a conv adapter')
        self.align = align
        if adapter == 'none':
            self.conv = nn.Identity()
        else:
            kernel_size = 1 if adapter == 'conv1x1' else 3
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)

    def forward(self, student_feat: Tensor, teacher_size: tuple) -> Tensor:
        """Adapts channels, then aligns to ``teacher_size`` ``(H, W)``.

        With ``align='centre'`` the teacher cells that :meth:`valid_mask` excludes hold zeros or values
        over the padding; give the loss that mask.
        """
        weight = getattr(self.conv, 'weight', None)
        if weight is not None and student_feat.dtype != weight.dtype:
            student_feat = student_feat.to(weight.dtype)
        if self.align == 'centre':
            return align_centres(self.conv(student_feat), teacher_size, self.student_geometry,
                                 self.teacher_geometry)[0]
        return align_spatial(self.conv(student_feat), teacher_size, self.align)

    def valid_mask(self, student_size: Sequence[int], teacher_size: Sequence[int],
                   img_shapes: Optional[Sequence[Sequence[int]]] = None) -> Optional[Tensor]:
        """The teacher cells that get a hint loss; None (all of them) unless ``align='centre'``.

        With ``align='centre'``: the cells centred inside the student map (:func:`align_centres`) and,
        if ``img_shapes`` is given, on each sample's real image (:func:`image_mask`; ``img_shapes`` and
        both geometries in one frame).

        Args:
            student_size (Sequence[int]): ``(h, w)`` of the student map.
            teacher_size (Sequence[int]): ``(H, W)`` of the teacher map.
            img_shapes (Sequence[Sequence[int]], optional): Every sample's ``img_shape``. Defaults to None.

        Returns:
            Tensor | None: ``(B, 1, H, W)`` bool (``B = 1`` without ``img_shapes``), on the CPU.
        """
        if self.align != 'centre':
            return None
        mask = _centre_interpolation(student_size, teacher_size, self.student_geometry,
                                     self.teacher_geometry)[2][None, None]
        if img_shapes is not None:
            mask = mask & image_mask(self.teacher_geometry, teacher_size, img_shapes)
        return mask

    def extra_repr(self) -> str:
        if self.align != 'centre':
            return f'align={self.align!r}'
        return (f'align={self.align!r}, student_geometry={tuple(self.student_geometry)}, '
                f'teacher_geometry={tuple(self.teacher_geometry)}')
