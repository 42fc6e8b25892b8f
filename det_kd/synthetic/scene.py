"""Seeded sampling and rendering of one synthetic object-detection scene.

A scene is produced in two steps that are both pure functions of their inputs:

1. :func:`~det_kd.synthetic.layout.sample_layout` draws a
   :class:`~det_kd.synthetic.layout.SceneLayout` (background, clutter, "don't care" shapes,
   labelled objects, foreground strokes, sensor noise) from a :class:`numpy.random.Generator`.
2. :func:`~det_kd.synthetic.render.render_scene` rasterises the layout with PIL/numpy into an RGB
   image and derives the annotations (:class:`~det_kd.synthetic.structures.SceneObject`,
   :class:`~det_kd.synthetic.structures.IgnoreRegion`) from the rendered binary masks.

:func:`generate_scene` chains both, seeding the generator from ``(seed, split, index)`` only, so a
given image never depends on how many other images are generated. The annotation conventions
shared by every writer are described in :mod:`det_kd.synthetic.structures`.

Only numpy and PIL are used; nothing here imports torch or mmdet.
"""
from __future__ import annotations

from typing import Optional

from .config import SceneConfig
from .layout import sample_layout, scene_rng
from .render import render_scene
from .structures import Scene


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
