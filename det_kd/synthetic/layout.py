"""Scene layouts and their seeded sampling: what to draw, where, and in which order.

:func:`scene_rng` seeds the generator of one image from ``(seed, split, index)`` only;
:func:`sample_layout` draws a :class:`SceneLayout` (background, clutter, "don't care" shapes,
labelled objects, foreground strokes, sensor noise) from it, within the ranges of a
:class:`~det_kd.synthetic.config.SceneConfig`.
"""
from __future__ import annotations

import colorsys
import dataclasses
import math
import zlib
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from .classes import CLUTTER_SHAPES, SYNTHETIC_CLASSES
from .config import SceneConfig
from .shapes import Clutter, ShapeSpec, StrokeSpec
from .textures import TEXTURES, BackgroundSpec, Color, TextureSpec


@dataclass(frozen=True)
class SceneLayout:
    """Everything needed to render one scene, in drawing order.

    Args:
        width (int): Image width in pixels.
        height (int): Image height in pixels.
        background (BackgroundSpec): Background fill.
        clutter (tuple[Clutter, ...]): Unlabelled shapes and strokes drawn on the background.
            Defaults to ().
        dont_care (tuple[ShapeSpec, ...]): Tiny or blurred class shapes reported as ignore
            regions. Defaults to ().
        objects (tuple[ShapeSpec, ...]): Labelled objects; later ones occlude earlier ones.
            Defaults to ().
        foreground (tuple[StrokeSpec, ...]): Strokes drawn over the objects (they occlude).
            Defaults to ().
        noise_sigma (float): Standard deviation of additive pixel noise. Defaults to 0.0.
        noise_seed (int): Seed of the pixel noise. Defaults to 0.
    """

    width: int
    height: int
    background: BackgroundSpec
    clutter: Tuple[Clutter, ...] = ()
    dont_care: Tuple[ShapeSpec, ...] = ()
    objects: Tuple[ShapeSpec, ...] = ()
    foreground: Tuple[StrokeSpec, ...] = ()
    noise_sigma: float = 0.0
    noise_seed: int = 0


def scene_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """Builds the random generator of one image from ``(seed, split, index)`` only.

    Args:
        seed (int): Dataset seed (non-negative).
        split (str): Split name.
        index (int): Index of the image within its split.

    Returns:
        np.random.Generator: An independent PCG64 stream.
    """
    split_key = zlib.crc32(split.encode('utf-8'))
    return np.random.default_rng(np.random.SeedSequence([seed, split_key, index]))


def _sample_color(rng: np.random.Generator, muted: bool) -> Color:
    """Samples an RGB colour: saturated for objects, muted for backgrounds."""
    hue = rng.uniform(0.0, 1.0)
    saturation = rng.uniform(0.0, 0.4) if muted else rng.uniform(0.3, 1.0)
    value = rng.uniform(0.2, 0.85) if muted else rng.uniform(0.3, 1.0)
    rgb = colorsys.hsv_to_rgb(hue, saturation, value)
    return tuple(int(round(255 * c)) for c in rgb)


def _sample_texture(rng: np.random.Generator, muted: bool = False) -> TextureSpec:
    """Samples a fill; the second colour is either unrelated or a darker shade of the first."""
    kind = TEXTURES[int(rng.integers(len(TEXTURES)))]
    color1 = _sample_color(rng, muted)
    if rng.random() < 0.5:
        color2 = _sample_color(rng, muted)
    else:
        shade = rng.uniform(0.3, 0.75)
        color2 = tuple(int(round(c * shade)) for c in color1)
    period = rng.uniform(3.0, 10.0)
    return TextureSpec(
        kind=kind,
        color1=color1,
        color2=color2,
        angle=rng.uniform(0.0, math.pi),
        period=period,
        dot_radius=rng.uniform(0.8, 0.4 * period),
        seed=int(rng.integers(2**31)))


def _sample_detail(rng: np.random.Generator, kind: str) -> float:
    """Samples the kind-specific detail parameter of a shape."""
    ranges = {'ring': (0.35, 0.65), 'star': (0.38, 0.6), 'crescent': (0.35, 0.7)}
    low, high = ranges.get(kind, (0.5, 0.5))
    return rng.uniform(low, high)


def _sample_shape(rng: np.random.Generator, kind: str, cx: float, cy: float, size: float,
                  config: SceneConfig, blur: float = 0.0) -> ShapeSpec:
    """Samples the appearance of a shape of a given kind, position and size."""
    jitter: Tuple[float, ...] = ()
    if kind == 'blob':
        jitter = tuple(float(v) for v in rng.uniform(0.5, 1.0, int(rng.integers(7, 13))))
    return ShapeSpec(
        kind=kind,
        cx=cx,
        cy=cy,
        size=size,
        aspect=rng.uniform(*config.aspect_range),
        angle=rng.uniform(0.0, 2.0 * math.pi),
        detail=_sample_detail(rng, kind),
        texture=_sample_texture(rng),
        blur=blur,
        jitter=jitter)


def _sample_count(rng: np.random.Generator, bounds: Tuple[int, int]) -> int:
    """Samples an integer uniformly from an inclusive range."""
    return int(rng.integers(bounds[0], bounds[1] + 1))


def _sample_object_size(rng: np.random.Generator, config: SceneConfig) -> float:
    """Samples an object's major axis log-uniformly between the configured bounds."""
    low = config.min_object_size
    high = max(low, config.max_object_size_frac * min(config.width, config.height))
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _sample_center(rng: np.random.Generator, config: SceneConfig, size: float,
                   previous: Sequence[ShapeSpec]) -> Tuple[float, float]:
    """Samples a centre inside the image, next to a previous object with some probability."""
    if previous and rng.random() < config.overlap_prob:
        anchor = previous[int(rng.integers(len(previous)))]
        reach = 0.5 * (anchor.size + size)
        cx = anchor.cx + rng.uniform(-0.6, 0.6) * reach
        cy = anchor.cy + rng.uniform(-0.6, 0.6) * reach
        return (float(np.clip(cx, 0, config.width - 1)), float(np.clip(cy, 0, config.height - 1)))
    return (rng.uniform(0, config.width), rng.uniform(0, config.height))


def _sample_objects(rng: np.random.Generator, config: SceneConfig) -> Tuple[ShapeSpec, ...]:
    """Samples the labelled objects in drawing order."""
    objects: List[ShapeSpec] = []
    for _ in range(_sample_count(rng, config.num_objects)):
        kind = SYNTHETIC_CLASSES[int(rng.integers(len(SYNTHETIC_CLASSES)))]
        size = _sample_object_size(rng, config)
        cx, cy = _sample_center(rng, config, size, objects)
        objects.append(_sample_shape(rng, kind, cx, cy, size, config))
    return tuple(objects)


def _sample_stroke(rng: np.random.Generator, config: SceneConfig) -> StrokeSpec:
    """Samples a random-walk polyline or a circular arc."""
    span = min(config.width, config.height)
    x, y = rng.uniform(0, config.width), rng.uniform(0, config.height)
    if rng.random() < 0.5:
        steps = rng.uniform(-0.3, 0.3, size=(int(rng.integers(1, 5)), 2)) * span
        points = np.vstack([[x, y], [x, y] + np.cumsum(steps, axis=0)])
    else:
        radius = rng.uniform(0.05, 0.3) * span
        start = rng.uniform(0, 2 * math.pi)
        theta = start + np.linspace(0.0, rng.uniform(0.5, 1.5) * math.pi, 12)
        points = np.stack([x + radius * np.cos(theta), y + radius * np.sin(theta)], axis=1)
    return StrokeSpec(
        points=tuple((float(px), float(py)) for px, py in points),
        width=int(rng.integers(1, 5)),
        color=_sample_color(rng, muted=bool(rng.random() < 0.5)))


def _sample_clutter(rng: np.random.Generator, config: SceneConfig) -> Tuple[Clutter, ...]:
    """Samples background clutter: near-miss shapes and strokes."""
    clutter: List[Clutter] = []
    for _ in range(_sample_count(rng, config.num_clutter)):
        if rng.random() < config.clutter_shape_prob:
            kind = CLUTTER_SHAPES[int(rng.integers(len(CLUTTER_SHAPES)))]
            size = _sample_object_size(rng, config)
            cx, cy = rng.uniform(0, config.width), rng.uniform(0, config.height)
            clutter.append(_sample_shape(rng, kind, cx, cy, size, config))
        else:
            clutter.append(_sample_stroke(rng, config))
    return tuple(clutter)


def _sample_dont_care(rng: np.random.Generator, config: SceneConfig) -> Tuple[ShapeSpec, ...]:
    """Samples "don't care" class shapes: tiny and sharp, or medium and heavily blurred."""
    shapes: List[ShapeSpec] = []
    for _ in range(_sample_count(rng, config.num_dont_care)):
        kind = SYNTHETIC_CLASSES[int(rng.integers(len(SYNTHETIC_CLASSES)))]
        tiny = rng.random() < 0.5
        if tiny:
            size = rng.uniform(5.0, 9.0)
        else:
            size = rng.uniform(16.0, max(17.0, 0.3 * min(config.width, config.height)))
        cx, cy = rng.uniform(0, config.width), rng.uniform(0, config.height)
        shape = _sample_shape(rng, kind, cx, cy, size, config)
        if not tiny:
            # sigma of 20-30 % of the minor axis: the shape's detail is gone, its core survives
            blur = rng.uniform(0.2, 0.3) * shape.size * shape.aspect
            shape = dataclasses.replace(shape, blur=blur)
        shapes.append(shape)
    return tuple(shapes)


def _sample_background(rng: np.random.Generator, config: SceneConfig) -> BackgroundSpec:
    """Samples a smooth muted background, sometimes with a faint texture overlay."""
    overlay = _sample_texture(rng, muted=True) if rng.random() < 0.6 else None
    return BackgroundSpec(
        color1=_sample_color(rng, muted=True),
        color2=_sample_color(rng, muted=True),
        seed=int(rng.integers(2**31)),
        cell=int(rng.integers(24, 97)),
        overlay=overlay,
        overlay_alpha=rng.uniform(0.1, 0.4) if overlay is not None else 0.0)


def sample_layout(rng: np.random.Generator, config: SceneConfig) -> SceneLayout:
    """Samples a complete scene layout.

    Args:
        rng (np.random.Generator): Source of randomness (consumed in a fixed order).
        config (SceneConfig): Sampling ranges.

    Returns:
        SceneLayout: The layout, ready for :func:`~det_kd.synthetic.render.render_scene`.
    """
    background = _sample_background(rng, config)
    clutter = _sample_clutter(rng, config)
    dont_care = _sample_dont_care(rng, config)
    objects = _sample_objects(rng, config)
    foreground = tuple(
        _sample_stroke(rng, config) for _ in range(_sample_count(rng, config.num_foreground_strokes)))
    return SceneLayout(
        width=config.width,
        height=config.height,
        background=background,
        clutter=clutter,
        dont_care=dont_care,
        objects=objects,
        foreground=foreground,
        noise_sigma=rng.uniform(0.0, config.max_noise_sigma),
        noise_seed=int(rng.integers(2**31)))
