"""Annotated scenes and dataset items: the results of rendering, shared by every format writer.

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
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np
from PIL import Image

from .classes import SYNTHETIC_CLASSES

Box = Tuple[int, int, int, int]


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
