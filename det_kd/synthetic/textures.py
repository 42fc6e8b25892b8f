"""Fills: texture patterns and the smooth noise background, rendered to float RGB values.

:class:`TextureSpec` fills objects, clutter shapes and background overlays;
:class:`BackgroundSpec` fills the whole image. :func:`render_texture` and
:func:`render_background` turn them into ``(height, width, 3)`` float32 RGB values in [0, 255].
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from PIL import Image

#: Fill patterns for objects, clutter and background overlays.
TEXTURES: Tuple[str, ...] = ('flat', 'stripes', 'dots', 'noise', 'gradient')

Color = Tuple[int, int, int]


@dataclass(frozen=True)
class TextureSpec:
    """How to fill a region with colour.

    Args:
        kind (str): One of :data:`TEXTURES`.
        color1 (Color): Base RGB colour.
        color2 (Color): Secondary RGB colour (stripes, dots, noise, gradient end).
        angle (float): Direction of stripes/gradient or rotation of the dot grid, in radians.
            Defaults to 0.0.
        period (float): Stripe period or dot spacing in pixels. Defaults to 6.0.
        dot_radius (float): Dot radius in pixels. Defaults to 1.5.
        seed (int): Seed of the ``noise`` pattern. Defaults to 0.
    """

    kind: str
    color1: Color
    color2: Color
    angle: float = 0.0
    period: float = 6.0
    dot_radius: float = 1.5
    seed: int = 0


@dataclass(frozen=True)
class BackgroundSpec:
    """A smooth two-colour noise field with an optional low-contrast texture overlay.

    Args:
        color1 (Color): Colour where the smooth field is 0.
        color2 (Color): Colour where the smooth field is 1.
        seed (int): Seed of the smooth field. Defaults to 0.
        cell (int): Size in pixels of one cell of the smooth field. Defaults to 48.
        overlay (TextureSpec, optional): Texture blended over the field. Defaults to None.
        overlay_alpha (float): Opacity of the overlay. Defaults to 0.0.
    """

    color1: Color
    color2: Color
    seed: int = 0
    cell: int = 48
    overlay: Optional[TextureSpec] = None
    overlay_alpha: float = 0.0


def _texture_weight(texture: TextureSpec, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Returns the per-pixel weight of ``color2`` (0..1) of a texture."""
    cos, sin = math.cos(texture.angle), math.sin(texture.angle)
    u = xs * cos + ys * sin
    if texture.kind == 'flat':
        return np.zeros_like(xs)
    if texture.kind == 'stripes':
        return (np.mod(u / texture.period, 1.0) < 0.5).astype(np.float32)
    if texture.kind == 'dots':
        v = -xs * sin + ys * cos
        du = np.mod(u, texture.period) - texture.period / 2
        dv = np.mod(v, texture.period) - texture.period / 2
        return (du * du + dv * dv <= texture.dot_radius**2).astype(np.float32)
    if texture.kind == 'noise':
        noise = np.random.default_rng(texture.seed).standard_normal(xs.shape)
        return np.clip(0.5 + 0.3 * noise, 0.0, 1.0).astype(np.float32)
    if texture.kind == 'gradient':
        span = float(u.max() - u.min())
        return ((u - u.min()) / span if span > 0 else np.zeros_like(u)).astype(np.float32)
    raise ValueError(f'unknown texture kind {texture.kind!r}')


def render_texture(texture: TextureSpec, x0: int, y0: int, height: int,
                   width: int) -> np.ndarray:
    """Renders a texture over an image-aligned rectangle.

    Args:
        texture (TextureSpec): The fill.
        x0 (int): Image column of the rectangle's first column.
        y0 (int): Image row of the rectangle's first row.
        height (int): Rectangle height.
        width (int): Rectangle width.

    Returns:
        np.ndarray: ``(height, width, 3)`` float32 RGB values in [0, 255].
    """
    ys, xs = np.mgrid[y0:y0 + height, x0:x0 + width].astype(np.float32)
    weight = _texture_weight(texture, xs, ys)[..., None]
    color1 = np.asarray(texture.color1, dtype=np.float32)
    color2 = np.asarray(texture.color2, dtype=np.float32)
    return color1 * (1.0 - weight) + color2 * weight


def render_background(background: BackgroundSpec, width: int, height: int) -> np.ndarray:
    """Renders the background.

    Args:
        background (BackgroundSpec): The background.
        width (int): Image width.
        height (int): Image height.

    Returns:
        np.ndarray: ``(height, width, 3)`` float32 RGB values in [0, 255].
    """
    grid_h = height // background.cell + 2
    grid_w = width // background.cell + 2
    grid = np.random.default_rng(background.seed).random((grid_h, grid_w)).astype(np.float32)
    field_ = Image.fromarray(grid).resize((width, height), Image.Resampling.BILINEAR)
    weight = np.asarray(field_, dtype=np.float32)[..., None]
    color1 = np.asarray(background.color1, dtype=np.float32)
    color2 = np.asarray(background.color2, dtype=np.float32)
    image = color1 * (1.0 - weight) + color2 * weight
    if background.overlay is not None:
        overlay = render_texture(background.overlay, 0, 0, height, width)
        image = image * (1.0 - background.overlay_alpha) + overlay * background.overlay_alpha
    return image
