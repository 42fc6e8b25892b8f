"""Deterministic synthetic object-detection data written in COCO, PASCAL VOC and KITTI layouts.

Typical use::

    from det_kd.synthetic import generate_dataset
    summary = generate_dataset('data/synthetic', num_train=160, num_val=40, seed=0)

or ``python tools/make_synthetic_data.py --out data/synthetic``. Nothing in this package imports
torch or mmdet; it needs numpy, PIL and (optionally, for a progress bar) tqdm.

Modules, one concept each:

* :mod:`.classes`: class names, palette and unlabelled clutter shapes.
* :mod:`.config`: :class:`SceneConfig`, the sampling ranges and annotation policy.
* :mod:`.textures`: texture and background fills.
* :mod:`.shapes`: shape and stroke geometry, rasterised to masks.
* :mod:`.layout`: :class:`SceneLayout` and its seeded sampling (:func:`sample_layout`).
* :mod:`.render`: :func:`render_scene`, drawing plus occlusion/truncation measurement.
* :mod:`.scene`: :func:`generate_scene`, sampling and rendering of one image.
* :mod:`.structures`: annotated results (:class:`Scene`, ...) and their conventions.
* :mod:`.io_utils`: text-file helpers of the writers.
* :mod:`.coco_writer`, :mod:`.voc_writer`, :mod:`.kitti_writer`: the format writers.
* :mod:`.generate`: :func:`generate_dataset`, which drives everything.
"""
from .classes import CLUTTER_SHAPES, SYNTHETIC_CLASSES, SYNTHETIC_PALETTE
from .coco_writer import CocoWriter
from .config import SceneConfig
from .generate import FORMATS, SPLITS, generate_dataset
from .kitti_writer import KittiWriter
from .layout import SceneLayout, sample_layout, scene_rng
from .render import render_scene
from .scene import generate_scene
from .structures import DatasetImage, IgnoreRegion, Scene, SceneObject
from .textures import TEXTURES
from .voc_writer import VOC_BOX_CONVENTIONS, VocWriter

__all__ = [
    'generate_dataset', 'FORMATS', 'SPLITS', 'SYNTHETIC_CLASSES', 'SYNTHETIC_PALETTE',
    'CLUTTER_SHAPES', 'TEXTURES', 'VOC_BOX_CONVENTIONS', 'SceneConfig', 'SceneLayout', 'Scene',
    'SceneObject', 'IgnoreRegion', 'DatasetImage', 'generate_scene', 'render_scene',
    'sample_layout', 'scene_rng', 'CocoWriter', 'VocWriter', 'KittiWriter'
]
