"""Rendering of a scene layout, with annotations measured on the rendered masks.

:func:`render_scene` draws a :class:`~det_kd.synthetic.layout.SceneLayout` while recording which
drawing owns each pixel, then derives each object's box, truncation and occlusion (and each
"don't care" region's box) from those masks, following the conventions described in
:mod:`det_kd.synthetic.structures`.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageFilter

from .classes import SYNTHETIC_CLASSES
from .config import SceneConfig
from .layout import SceneLayout
from .shapes import Clutter, Raster, ShapeSpec, StrokeSpec, rasterize_shape, rasterize_stroke
from .structures import Box, IgnoreRegion, Scene, SceneObject
from .textures import render_background, render_texture

_BACKGROUND_ID = -1
_CLUTTER_ID = -2
_DONT_CARE_ID_OFFSET = 1_000_000
_DONT_CARE_ALPHA = 0.5
_DONT_CARE_BOX_ALPHA = 0.1


class _Canvas:
    """An RGB float image plus a map of which drawing owns each pixel."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image
        self.owner = np.full(image.shape[:2], _BACKGROUND_ID, dtype=np.int64)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def paint(self, raster: Raster, colors: np.ndarray, owner: int) -> None:
        """Paints ``colors`` (local canvas sized) where the raster's mask is set.

        Float masks are alpha-blended and take ownership where alpha >= 0.5.
        """
        window = raster.window(self.width, self.height)
        if window is None:
            return
        rows, cols, local_rows, local_cols = window
        mask = raster.mask[local_rows, local_cols]
        color = colors[local_rows, local_cols]
        target = self.image[rows, cols]
        if mask.dtype == bool:
            target[mask] = color[mask]
            self.owner[rows, cols][mask] = owner
        else:
            alpha = mask[..., None]
            target[...] = target * (1.0 - alpha) + color * alpha
            self.owner[rows, cols][mask >= _DONT_CARE_ALPHA] = owner

    def visible_fraction(self, raster: Raster, owner: int, threshold: float = 0.5) -> float:
        """Fraction of the raster's in-image pixels still owned by ``owner`` (1.0 if none)."""
        window = raster.window(self.width, self.height)
        if window is None:
            return 0.0
        rows, cols, local_rows, local_cols = window
        mask = raster.mask[local_rows, local_cols] >= threshold
        total = int(mask.sum())
        if total == 0:
            return 0.0
        return int((self.owner[rows, cols][mask] == owner).sum()) / total


def _shape_colors(spec: ShapeSpec, raster: Raster) -> np.ndarray:
    """Renders a shape's texture over its raster canvas (blurred like the shape)."""
    h, w = raster.mask.shape
    colors = render_texture(spec.texture, raster.x0, raster.y0, h, w)
    if spec.blur > 0:
        pil = Image.fromarray(np.clip(np.rint(colors), 0, 255).astype(np.uint8))
        colors = np.asarray(pil.filter(ImageFilter.GaussianBlur(spec.blur)), dtype=np.float32)
    return colors


def _stroke_colors(spec: StrokeSpec, raster: Raster) -> np.ndarray:
    """Returns a constant-colour canvas for a stroke."""
    h, w = raster.mask.shape
    return np.broadcast_to(np.asarray(spec.color, dtype=np.float32), (h, w, 3))


def _draw(canvas: _Canvas, item: Clutter, owner: int) -> Raster:
    """Rasterises and paints a shape or a stroke; returns its raster."""
    if isinstance(item, StrokeSpec):
        raster = rasterize_stroke(item)
        canvas.paint(raster, _stroke_colors(item, raster), owner)
    else:
        raster = rasterize_shape(item)
        canvas.paint(raster, _shape_colors(item, raster), owner)
    return raster


def clip_box(box: Box, width: int, height: int) -> Optional[Box]:
    """Clips a box to the image.

    Args:
        box (Box): ``(x1, y1, x2, y2)`` with exclusive ``x2``/``y2``.
        width (int): Image width.
        height (int): Image height.

    Returns:
        Box | None: The clipped box, or None if nothing of it lies inside the image.
    """
    x1, y1 = max(box[0], 0), max(box[1], 0)
    x2, y2 = min(box[2], width), min(box[3], height)
    if x1 >= x2 or y1 >= y2:
        return None
    return (x1, y1, x2, y2)


def _box_area(box: Box) -> int:
    """Returns the area of an ``(x1, y1, x2, y2)`` box."""
    return (box[2] - box[0]) * (box[3] - box[1])


def occlusion_level(hidden: float, thresholds: Tuple[float, float] = (0.1, 0.5)) -> int:
    """Maps a hidden fraction to a KITTI-style occlusion level.

    Args:
        hidden (float): Fraction of the object's in-image pixels hidden by later drawings.
        thresholds (tuple[float, float]): Level 0 below the first, level 1 up to and including
            the second, level 2 above. Defaults to (0.1, 0.5).

    Returns:
        int: 0 (fully visible), 1 (partly occluded) or 2 (largely occluded).
    """
    if hidden < thresholds[0]:
        return 0
    return 1 if hidden <= thresholds[1] else 2


def _annotate_object(label: int, raster: Raster, canvas: _Canvas, owner: int,
                     config: SceneConfig) -> Optional[SceneObject]:
    """Builds the annotation of a drawn object, or None if it is (almost) fully hidden."""
    full_box = raster.box()
    box = clip_box(full_box, canvas.width, canvas.height) if full_box else None
    if box is None:
        return None
    hidden = 1.0 - canvas.visible_fraction(raster, owner)
    if hidden > config.max_occlusion:
        return None
    truncation = 1.0 - _box_area(box) / _box_area(full_box)
    level = occlusion_level(hidden, config.occlusion_thresholds)
    difficult = (box[3] - box[1] < config.difficult_min_height or level == 2
                 or truncation > config.difficult_truncation)
    return SceneObject(
        label=label,
        box=box,
        truncation=float(truncation),
        occluded_fraction=float(hidden),
        occlusion=level,
        difficult=bool(difficult))


def _annotate_dont_care(label: int, raster: Raster, canvas: _Canvas, owner: int,
                        config: SceneConfig) -> Optional[IgnoreRegion]:
    """Builds a "don't care" region (box of its visible halo), or None if mostly hidden."""
    full_box = raster.box(_DONT_CARE_BOX_ALPHA)
    box = clip_box(full_box, canvas.width, canvas.height) if full_box else None
    if box is None:
        return None
    if 1.0 - canvas.visible_fraction(raster, owner) > config.max_dont_care_hidden:
        return None
    return IgnoreRegion(label=label, box=box)


def _finish_image(canvas: _Canvas, layout: SceneLayout) -> np.ndarray:
    """Adds pixel noise and quantises to uint8."""
    image = canvas.image
    if layout.noise_sigma > 0:
        noise = np.random.default_rng(layout.noise_seed).standard_normal(image.shape)
        image = image + layout.noise_sigma * noise.astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def render_scene(layout: SceneLayout, config: Optional[SceneConfig] = None) -> Scene:
    """Renders a layout and derives its annotations from the rendered masks.

    Drawing order: background, clutter, "don't care" shapes, objects, foreground strokes,
    pixel noise. Annotations are computed after everything is drawn, so an object's occlusion
    accounts for every later object and stroke.

    Args:
        layout (SceneLayout): What to draw.
        config (SceneConfig, optional): Annotation policy (its sampling fields are unused).
            Defaults to ``SceneConfig()``.

    Returns:
        Scene: The image with annotated objects and "don't care" regions.
    """
    config = config or SceneConfig()
    canvas = _Canvas(render_background(layout.background, layout.width, layout.height))
    for item in layout.clutter:
        _draw(canvas, item, _CLUTTER_ID)
    dont_care = [(_DONT_CARE_ID_OFFSET + i, spec, _draw(canvas, spec, _DONT_CARE_ID_OFFSET + i))
                 for i, spec in enumerate(layout.dont_care)]
    objects = [(i, spec, _draw(canvas, spec, i)) for i, spec in enumerate(layout.objects)]
    for stroke in layout.foreground:
        _draw(canvas, stroke, _CLUTTER_ID)

    annotated = [
        _annotate_object(SYNTHETIC_CLASSES.index(spec.kind), raster, canvas, owner, config)
        for owner, spec, raster in objects
    ]
    regions = [
        _annotate_dont_care(SYNTHETIC_CLASSES.index(spec.kind), raster, canvas, owner, config)
        for owner, spec, raster in dont_care
    ]
    return Scene(
        image=_finish_image(canvas, layout),
        objects=[obj for obj in annotated if obj is not None],
        ignore_regions=[region for region in regions if region is not None])
