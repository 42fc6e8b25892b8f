"""Scene parameters: the sampling ranges and annotation policy of a scene (:class:`SceneConfig`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple


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
