"""Deterministic synthetic object-detection data written in COCO, PASCAL VOC and KITTI layouts.

Typical use::

    from det_kd.synthetic import generate_dataset
    summary = generate_dataset('data/synthetic', num_train=160, num_val=40, seed=0)

or ``python tools/make_synthetic_data.py --out data/synthetic``. Nothing in this package imports
torch or mmdet; it needs numpy, PIL and (optionally, for a progress bar) tqdm.
"""
from .coco_writer import CocoWriter
from .generate import FORMATS, SPLITS, generate_dataset
from .kitti_writer import KittiWriter
from .scene import (CLUTTER_SHAPES, SYNTHETIC_CLASSES, SYNTHETIC_PALETTE, TEXTURES, DatasetImage,
                    IgnoreRegion, Scene, SceneConfig, SceneLayout, SceneObject, generate_scene,
                    render_scene, sample_layout, scene_rng)
from .voc_writer import VOC_BOX_CONVENTIONS, VocWriter

__all__ = [
    'generate_dataset', 'FORMATS', 'SPLITS', 'SYNTHETIC_CLASSES', 'SYNTHETIC_PALETTE',
    'CLUTTER_SHAPES', 'TEXTURES', 'VOC_BOX_CONVENTIONS', 'SceneConfig', 'SceneLayout', 'Scene',
    'SceneObject', 'IgnoreRegion', 'DatasetImage', 'generate_scene', 'render_scene',
    'sample_layout', 'scene_rng', 'CocoWriter', 'VocWriter', 'KittiWriter'
]
