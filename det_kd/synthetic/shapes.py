"""Shape geometry and rasterisation: filled shapes and strokes turned into masks.

:class:`ShapeSpec` (a labelled class, clutter or "don't care" shape) and :class:`StrokeSpec` (a
polyline) describe what to draw. :func:`shape_polygons` gives a shape's outline in image
coordinates; :func:`rasterize_shape` and :func:`rasterize_stroke` draw either onto a
:class:`Raster`, a mask on a local canvas that holds the whole (unclipped) drawing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .structures import Box
from .textures import Color, TextureSpec

_ELLIPSE_VERTICES = 64


@dataclass(frozen=True)
class ShapeSpec:
    """A filled shape: a labelled object, a clutter shape or a "don't care" shape.

    Args:
        kind (str): A class of :data:`~det_kd.synthetic.classes.SYNTHETIC_CLASSES` or a shape of
            :data:`~det_kd.synthetic.classes.CLUTTER_SHAPES`.
        cx (float): Centre x in pixels.
        cy (float): Centre y in pixels.
        size (float): Length of the major axis in pixels, before rotation.
        aspect (float): Minor/major axis ratio in (0, 1]. Defaults to 1.0.
        angle (float): Rotation in radians. Defaults to 0.0.
        detail (float): Shape detail: hole radius of ``ring``, inner radius of ``star``, offset
            of the cut of ``crescent`` (all relative to the outer radius). Defaults to 0.5.
        texture (TextureSpec): Fill. Defaults to flat white.
        blur (float): Gaussian blur radius in pixels (0 = sharp). Defaults to 0.0.
        jitter (tuple[float, ...]): Per-vertex radius factors of ``blob``. Defaults to ().
    """

    kind: str
    cx: float
    cy: float
    size: float
    aspect: float = 1.0
    angle: float = 0.0
    detail: float = 0.5
    texture: TextureSpec = TextureSpec('flat', (255, 255, 255), (255, 255, 255))
    blur: float = 0.0
    jitter: Tuple[float, ...] = ()


@dataclass(frozen=True)
class StrokeSpec:
    """A polyline drawn with a constant width and colour.

    Args:
        points (tuple[tuple[float, float], ...]): Vertices in pixels (at least two).
        width (int): Line width in pixels.
        color (Color): RGB colour.
    """

    points: Tuple[Tuple[float, float], ...]
    width: int
    color: Color


Clutter = Union[ShapeSpec, StrokeSpec]


def _regular_polygon(n: int, radius: float = 1.0, phase: float = -math.pi / 2) -> np.ndarray:
    """Returns the vertices of a regular n-gon of circumradius ``radius``."""
    theta = phase + 2.0 * math.pi * np.arange(n) / n
    return radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)


def _star(inner: float, points: int = 5) -> np.ndarray:
    """Returns the vertices of a star with outer radius 1 and the given inner radius."""
    theta = -math.pi / 2 + math.pi * np.arange(2 * points) / points
    radius = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)


def _unit_outline(spec: ShapeSpec) -> List[np.ndarray]:
    """Returns the shape in unit coordinates: the filled polygon followed by holes."""
    circle = _regular_polygon(_ELLIPSE_VERTICES)
    if spec.kind == 'ellipse':
        return [circle]
    if spec.kind == 'ring':
        return [circle, circle * spec.detail]
    if spec.kind == 'rectangle':
        return [np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])]
    if spec.kind == 'pentagon':
        return [_regular_polygon(5)]
    if spec.kind == 'star':
        return [_star(spec.detail)]
    if spec.kind == 'triangle':
        return [_regular_polygon(3)]
    if spec.kind == 'hexagon':
        return [_regular_polygon(6)]
    if spec.kind == 'crescent':
        return [circle, circle * 0.9 + np.array([spec.detail, 0.0])]
    if spec.kind == 'blob':
        jitter = np.asarray(spec.jitter, dtype=np.float64)
        return [_regular_polygon(len(jitter)) * jitter[:, None]]
    raise ValueError(f'unknown shape kind {spec.kind!r}')


def shape_polygons(spec: ShapeSpec) -> List[np.ndarray]:
    """Returns the shape's polygons in image coordinates.

    Args:
        spec (ShapeSpec): The shape.

    Returns:
        list[np.ndarray]: ``(N, 2)`` vertex arrays (x, y); the first is filled, the others are
        holes cut out of it.
    """
    scale = np.array([spec.size / 2.0, spec.size * spec.aspect / 2.0])
    cos, sin = math.cos(spec.angle), math.sin(spec.angle)
    rotation = np.array([[cos, sin], [-sin, cos]])
    center = np.array([spec.cx, spec.cy])
    return [(poly * scale) @ rotation + center for poly in _unit_outline(spec)]


@dataclass(frozen=True)
class Raster:
    """A mask on a local canvas placed at ``(x0, y0)`` in image coordinates.

    Args:
        mask (np.ndarray): ``(h, w)`` bool mask or float alpha in [0, 1].
        x0 (int): Image column of the canvas' first column.
        y0 (int): Image row of the canvas' first row.
    """

    mask: np.ndarray
    x0: int
    y0: int

    def box(self, threshold: float = 0.5) -> Optional[Box]:
        """Returns the tight unclipped box of ``mask >= threshold`` in image coordinates.

        Args:
            threshold (float): Alpha threshold (any value in (0, 1] for bool masks). Defaults
                to 0.5.

        Returns:
            Box | None: ``(x1, y1, x2, y2)`` with exclusive ``x2``/``y2``, or None if empty.
        """
        rows = np.flatnonzero((self.mask >= threshold).any(axis=1))
        cols = np.flatnonzero((self.mask >= threshold).any(axis=0))
        if rows.size == 0:
            return None
        return (self.x0 + int(cols[0]), self.y0 + int(rows[0]), self.x0 + int(cols[-1]) + 1,
                self.y0 + int(rows[-1]) + 1)

    def window(self, width: int, height: int) -> Optional[Tuple[slice, slice, slice, slice]]:
        """Returns the overlap of the canvas with a ``width`` x ``height`` image.

        Args:
            width (int): Image width.
            height (int): Image height.

        Returns:
            tuple[slice, slice, slice, slice] | None: Image rows, image columns, local rows and
            local columns of the overlap, or None if the canvas lies outside the image.
        """
        h, w = self.mask.shape
        ix0, iy0 = max(self.x0, 0), max(self.y0, 0)
        ix1, iy1 = min(self.x0 + w, width), min(self.y0 + h, height)
        if ix0 >= ix1 or iy0 >= iy1:
            return None
        return (slice(iy0, iy1), slice(ix0, ix1), slice(iy0 - self.y0, iy1 - self.y0),
                slice(ix0 - self.x0, ix1 - self.x0))


def _local_canvas(points: np.ndarray, margin: int) -> Tuple[int, int, int, int]:
    """Returns ``(x0, y0, w, h)`` of a canvas enclosing ``points`` with a margin."""
    x0 = int(math.floor(points[:, 0].min())) - margin
    y0 = int(math.floor(points[:, 1].min())) - margin
    x1 = int(math.ceil(points[:, 0].max())) + margin + 1
    y1 = int(math.ceil(points[:, 1].max())) + margin + 1
    return x0, y0, x1 - x0, y1 - y0


def rasterize_shape(spec: ShapeSpec) -> Raster:
    """Rasterises a shape onto a local canvas holding the whole (unclipped) shape.

    Sharp shapes give a bool mask; blurred shapes (``spec.blur > 0``) give a float alpha.

    Args:
        spec (ShapeSpec): The shape.

    Returns:
        Raster: The mask and its placement.
    """
    polygons = shape_polygons(spec)
    margin = 2 + int(math.ceil(3 * spec.blur))
    x0, y0, w, h = _local_canvas(np.vstack(polygons), margin)
    canvas = Image.new('L', (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for i, polygon in enumerate(polygons):
        local = [(float(x - x0), float(y - y0)) for x, y in polygon]
        draw.polygon(local, fill=255 if i == 0 else 0)
    if spec.blur > 0:
        canvas = canvas.filter(ImageFilter.GaussianBlur(spec.blur))
        return Raster(np.asarray(canvas, dtype=np.float32) / 255.0, x0, y0)
    return Raster(np.asarray(canvas) > 0, x0, y0)


def rasterize_stroke(spec: StrokeSpec) -> Raster:
    """Rasterises a polyline onto a local canvas.

    Args:
        spec (StrokeSpec): The stroke.

    Returns:
        Raster: A bool mask and its placement.
    """
    points = np.asarray(spec.points, dtype=np.float64)
    x0, y0, w, h = _local_canvas(points, spec.width + 1)
    canvas = Image.new('L', (w, h), 0)
    local = [(float(x - x0), float(y - y0)) for x, y in points]
    ImageDraw.Draw(canvas).line(local, fill=255, width=spec.width, joint='curve')
    return Raster(np.asarray(canvas) > 0, x0, y0)
