"""Seeded sampling and rendering of one synthetic object-detection scene.

A scene is produced in two steps that are both pure functions of their inputs:

1. :func:`sample_layout` draws a :class:`SceneLayout` (background, clutter, "don't care" shapes,
   labelled objects, foreground strokes, sensor noise) from a :class:`numpy.random.Generator`.
2. :func:`render_scene` rasterises the layout with PIL/numpy into an RGB image and derives the
   annotations (:class:`SceneObject`, :class:`IgnoreRegion`) from the rendered binary masks.

:func:`generate_scene` chains both, seeding the generator from ``(seed, split, index)`` only, so a
given image never depends on how many other images are generated.

Annotation conventions (shared by every writer):

* Boxes are integer ``(x1, y1, x2, y2)`` in continuous pixel coordinates: pixel columns
  ``x1 .. x2 - 1`` and rows ``y1 .. y2 - 1`` are covered, so ``0 <= x1 < x2 <= width``. A box is
  the tight box of the object's *whole* rendered mask (parts hidden by later objects included),
  clipped to the image.
* ``truncation = 1 - clipped_box_area / full_box_area`` (0 for objects fully inside the image).
* Occlusion is measured on the rendered masks: the fraction of the object's in-image pixels that
  later objects or foreground strokes paint over. Level 0: < 10 %, level 1: <= 50 %, level 2:
  more. Objects hidden by more than 90 % are not annotated (their pixels stay as clutter).
* ``difficult`` (used by VOC): clipped box height < 16 px, occlusion level 2, or truncation
  > 0.5.
* "Don't care" regions are tiny (< 10 px) or heavily blurred class shapes that are deliberately
  not labelled as objects; regions more than half hidden by objects are dropped.

Only numpy and PIL are used; nothing here imports torch or mmdet.
"""
from __future__ import annotations

import colorsys
import dataclasses
import math
import os
import zlib
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

#: Labelled object classes, in label order. Pairs differ only in details: ``ellipse``/``ring``
#: (a hole), ``pentagon``/``star`` (convex vs. concave five-fold), ``rectangle``/``pentagon``
#: (number of corners).
SYNTHETIC_CLASSES: Tuple[str, ...] = ('ellipse', 'ring', 'rectangle', 'pentagon', 'star')

#: One RGB colour per class for visualisation (a list, as MMDetection's ``metainfo['palette']``
#: expects; a tuple would be read as one colour for every class).
SYNTHETIC_PALETTE: List[Tuple[int, int, int]] = [(220, 20, 60), (0, 130, 200), (255, 160, 0),
                                                 (60, 180, 75), (145, 30, 180)]

#: Unlabelled near-miss shapes used as background clutter (hard negatives).
CLUTTER_SHAPES: Tuple[str, ...] = ('triangle', 'hexagon', 'crescent', 'blob')

#: Fill patterns for objects, clutter and background overlays.
TEXTURES: Tuple[str, ...] = ('flat', 'stripes', 'dots', 'noise', 'gradient')

Box = Tuple[int, int, int, int]
Color = Tuple[int, int, int]

_BACKGROUND_ID = -1
_CLUTTER_ID = -2
_DONT_CARE_ID_OFFSET = 1_000_000
_ELLIPSE_VERTICES = 64
_DONT_CARE_ALPHA = 0.5
_DONT_CARE_BOX_ALPHA = 0.1


# ----------------------------------------------------------------------------------------------
# Specifications (inputs of rendering)
# ----------------------------------------------------------------------------------------------
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
class ShapeSpec:
    """A filled shape: a labelled object, a clutter shape or a "don't care" shape.

    Args:
        kind (str): A class of :data:`SYNTHETIC_CLASSES` or a shape of :data:`CLUTTER_SHAPES`.
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


Clutter = Union[ShapeSpec, StrokeSpec]


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


@dataclass(frozen=True)
class SceneConfig:
    """Sampling ranges and annotation policy of a scene.

    Integer ranges are inclusive ``(low, high)`` pairs.

    Args:
        width (int): Image width in pixels. Defaults to 320.
        height (int): Image height in pixels. Defaults to 240.
        num_objects (tuple[int, int]): Labelled objects drawn per image (some may be dropped
            as fully hidden). Defaults to (2, 8).
        min_object_size (float): Smallest major axis of an object in pixels. Defaults to 12.0.
        max_object_size_frac (float): Largest major axis as a fraction of ``min(width, height)``.
            Defaults to 0.55.
        aspect_range (tuple[float, float]): Range of minor/major axis ratios. Defaults to
            (0.6, 1.0).
        overlap_prob (float): Probability that an object is placed next to a previous one.
            Defaults to 0.35.
        num_clutter (tuple[int, int]): Background clutter items. Defaults to (3, 10).
        clutter_shape_prob (float): Probability that a clutter item is a near-miss shape
            rather than a stroke. Defaults to 0.5.
        num_foreground_strokes (tuple[int, int]): Strokes drawn over the objects. Defaults to
            (0, 2).
        num_dont_care (tuple[int, int]): "Don't care" shapes. Defaults to (0, 2).
        max_noise_sigma (float): Largest pixel-noise standard deviation. Defaults to 6.0.
        max_occlusion (float): Objects hidden by more than this fraction are not annotated.
            Defaults to 0.9.
        occlusion_thresholds (tuple[float, float]): Hidden fractions separating occlusion
            levels 0/1 (exclusive) and 1/2 (inclusive). Defaults to (0.1, 0.5).
        difficult_min_height (int): Objects whose clipped box is lower than this are difficult.
            Defaults to 16.
        difficult_truncation (float): Objects truncated by more than this are difficult.
            Defaults to 0.5.
        max_dont_care_hidden (float): "Don't care" shapes hidden by more than this fraction
            are not reported. Defaults to 0.5.
    """

    width: int = 320
    height: int = 240
    num_objects: Tuple[int, int] = (2, 8)
    min_object_size: float = 12.0
    max_object_size_frac: float = 0.55
    aspect_range: Tuple[float, float] = (0.6, 1.0)
    overlap_prob: float = 0.35
    num_clutter: Tuple[int, int] = (3, 10)
    clutter_shape_prob: float = 0.5
    num_foreground_strokes: Tuple[int, int] = (0, 2)
    num_dont_care: Tuple[int, int] = (0, 2)
    max_noise_sigma: float = 6.0
    max_occlusion: float = 0.9
    occlusion_thresholds: Tuple[float, float] = (0.1, 0.5)
    difficult_min_height: int = 16
    difficult_truncation: float = 0.5
    max_dont_care_hidden: float = 0.5


# ----------------------------------------------------------------------------------------------
# Results (outputs of rendering) and dataset items, shared by all writers
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SceneObject:
    """One annotated object.

    Args:
        label (int): Index into :data:`SYNTHETIC_CLASSES`.
        box (Box): Tight ``(x1, y1, x2, y2)`` box clipped to the image (x2, y2 exclusive).
        truncation (float): ``1 - visible_box_area / full_box_area``.
        occluded_fraction (float): Fraction of the in-image mask pixels hidden by later drawings.
        occlusion (int): Occlusion level 0, 1 or 2.
        difficult (bool): Whether the object is hard to recognise (see module docstring).
    """

    label: int
    box: Box
    truncation: float
    occluded_fraction: float
    occlusion: int
    difficult: bool

    @property
    def name(self) -> str:
        """str: The class name."""
        return SYNTHETIC_CLASSES[self.label]


@dataclass(frozen=True)
class IgnoreRegion:
    """A "don't care" region: a class shape too tiny or blurred to be labelled.

    Args:
        label (int): Index into :data:`SYNTHETIC_CLASSES` of the depicted shape.
        box (Box): ``(x1, y1, x2, y2)`` box clipped to the image (x2, y2 exclusive).
    """

    label: int
    box: Box

    @property
    def name(self) -> str:
        """str: The class name of the depicted shape."""
        return SYNTHETIC_CLASSES[self.label]


@dataclass
class Scene:
    """A rendered image with its annotations.

    Args:
        image (np.ndarray): ``(height, width, 3)`` uint8 RGB image.
        objects (list[SceneObject]): Annotated objects in drawing order. Defaults to [].
        ignore_regions (list[IgnoreRegion]): "Don't care" regions. Defaults to [].
    """

    image: np.ndarray
    objects: List[SceneObject] = field(default_factory=list)
    ignore_regions: List[IgnoreRegion] = field(default_factory=list)

    @property
    def width(self) -> int:
        """int: Image width in pixels."""
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        """int: Image height in pixels."""
        return int(self.image.shape[0])

    def save_image(self, path: str, jpeg_quality: int = 95) -> None:
        """Saves the image; the format follows the file extension.

        Args:
            path (str): Destination file (``.jpg``/``.jpeg`` or ``.png``); parent directories
                are created.
            jpeg_quality (int): JPEG quality. Defaults to 95.
        """
        os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
        pil_image = Image.fromarray(self.image)
        if path.lower().endswith(('.jpg', '.jpeg')):
            pil_image.save(path, format='JPEG', quality=jpeg_quality)
        else:
            pil_image.save(path, format='PNG')


@dataclass(frozen=True)
class DatasetImage:
    """A scene placed in a dataset: the unit that every format writer consumes.

    Args:
        image_id (int): Dataset-wide image id (unique across splits).
        split (str): Split name, e.g. ``'train'``.
        scene (Scene): The rendered scene.
    """

    image_id: int
    split: str
    scene: Scene

    @property
    def stem(self) -> str:
        """str: File name without extension, the 6-digit zero-padded image id."""
        return f'{self.image_id:06d}'


def write_text(path: str, text: str) -> None:
    """Writes a UTF-8 text file, creating its parent directories.

    Args:
        path (str): Destination file.
        text (str): Content, written as is (``\\n`` line ends on every platform).
    """
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write(text)


def write_id_list(path: str, ids: Sequence[str]) -> None:
    """Writes image ids one per line (VOC ``ImageSets`` / KITTI split files).

    Args:
        path (str): Destination file; parent directories are created.
        ids (Sequence[str]): Image ids (file stems) in order.
    """
    write_text(path, ''.join(f'{image_id}\n' for image_id in ids))


# ----------------------------------------------------------------------------------------------
# Seeding
# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# Sampling
# ----------------------------------------------------------------------------------------------
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
        SceneLayout: The layout, ready for :func:`render_scene`.
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


# ----------------------------------------------------------------------------------------------
# Geometry and rasterisation
# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# Colour
# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------
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


def generate_scene(seed: int, split: str, index: int,
                   config: Optional[SceneConfig] = None) -> Scene:
    """Samples and renders the scene of image ``index`` of ``split``.

    Args:
        seed (int): Dataset seed (non-negative).
        split (str): Split name.
        index (int): Index of the image within its split.
        config (SceneConfig, optional): Sampling ranges and annotation policy. Defaults to
            ``SceneConfig()``.

    Returns:
        Scene: The rendered, annotated scene; identical for identical arguments.
    """
    config = config or SceneConfig()
    return render_scene(sample_layout(scene_rng(seed, split, index), config), config)
