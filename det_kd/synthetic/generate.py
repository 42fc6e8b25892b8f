"""Generates a synthetic detection dataset and writes it in COCO, VOC and/or KITTI format.

Image ids are ``0 .. num_train - 1`` for ``train`` and continue with ``num_train ..`` for
``val``; every format names image ``i`` ``{i:06d}``, so the same id is the same scene everywhere.
Each scene depends only on ``(seed, split, index within split)`` and the scene parameters, so
changing ``num_train`` renumbers the val images but does not change their content.
"""
import dataclasses
import os.path as osp
import shutil
from collections import Counter
from typing import Dict, Iterable, Iterator, Optional, Sequence, Tuple

from .classes import SYNTHETIC_CLASSES
from .coco_writer import CocoWriter
from .config import SceneConfig
from .kitti_writer import KittiWriter
from .scene import generate_scene
from .structures import DatasetImage
from .voc_writer import VocWriter

try:
    from tqdm import tqdm
except ImportError:  # pragma: no cover - tqdm is optional
    tqdm = None

#: Output formats understood by :func:`generate_dataset`.
FORMATS: Tuple[str, ...] = ('coco', 'voc', 'kitti')
#: Splits written by :func:`generate_dataset`, in id order.
SPLITS: Tuple[str, ...] = ('train', 'val')


def _make_writers(out_dir: str, formats: Sequence[str], voc_box_convention: str) -> list:
    """Builds one writer per requested format, in ``FORMATS`` order."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ValueError(f'formats must be a non-empty subset of {FORMATS}, got {tuple(formats)}')
    factories = {
        'coco': lambda: CocoWriter(out_dir, SPLITS),
        'voc': lambda: VocWriter(out_dir, SPLITS, box_convention=voc_box_convention),
        'kitti': lambda: KittiWriter(out_dir, SPLITS),
    }
    return [factories[name]() for name in FORMATS if name in formats]


def _reset_dir(path: str) -> None:
    """Removes ``path`` (a format's own folder) so that no stale file survives."""
    if osp.isdir(path):
        shutil.rmtree(path)


def _image_plan(num_train: int, num_val: int) -> Iterator[Tuple[int, str, int]]:
    """Yields ``(image_id, split, index_in_split)`` for every image, train first."""
    image_id = 0
    for split, count in zip(SPLITS, (num_train, num_val)):
        for index in range(count):
            yield image_id, split, index
            image_id += 1


def _progress(items: Iterable, total: int, enabled: bool) -> Iterable:
    """Wraps ``items`` in a tqdm bar when enabled and available."""
    if enabled and tqdm is not None:
        return tqdm(items, total=total, desc='synthetic scenes', unit='img')
    return items


class _Statistics:
    """Counts images, objects and regions per split."""

    def __init__(self) -> None:
        self.images: Counter = Counter()
        self.objects: Dict[str, Counter] = {split: Counter() for split in SPLITS}
        self.flags: Dict[str, Counter] = {split: Counter() for split in SPLITS}

    def update(self, item: DatasetImage) -> None:
        """Adds one image."""
        self.images[item.split] += 1
        self.objects[item.split].update(obj.name for obj in item.scene.objects)
        flags = self.flags[item.split]
        flags['ignore_regions'] += len(item.scene.ignore_regions)
        flags['difficult'] += sum(obj.difficult for obj in item.scene.objects)
        flags['truncated'] += sum(obj.truncation > 0 for obj in item.scene.objects)
        for obj in item.scene.objects:
            flags[f'occlusion_{obj.occlusion}'] += 1

    def split_summary(self, split: str) -> dict:
        """Returns the counts of one split."""
        per_class = {name: self.objects[split][name] for name in SYNTHETIC_CLASSES}
        flags = self.flags[split]
        return {
            'images': self.images[split],
            'objects': sum(per_class.values()),
            'per_class': per_class,
            'ignore_regions': flags['ignore_regions'],
            'difficult': flags['difficult'],
            'truncated': flags['truncated'],
            'occlusion_levels': [flags[f'occlusion_{level}'] for level in range(3)],
        }


def generate_dataset(out_dir: str,
                     num_train: int = 160,
                     num_val: int = 40,
                     img_size: Tuple[int, int] = (320, 240),
                     seed: int = 0,
                     formats: Sequence[str] = FORMATS,
                     config: Optional[SceneConfig] = None,
                     voc_box_convention: str = 'mmdet',
                     progress: bool = True) -> dict:
    """Renders ``num_train + num_val`` scenes and writes them in the requested formats.

    The folder of every requested format (``out_dir/coco``, ``out_dir/voc``, ``out_dir/kitti``)
    is deleted first, so regenerating overwrites cleanly; other formats' folders are untouched.

    Args:
        out_dir (str): Dataset root.
        num_train (int): Number of training images. Defaults to 160.
        num_val (int): Number of validation images. Defaults to 40.
        img_size (tuple[int, int]): Image ``(width, height)``. Defaults to (320, 240).
        seed (int): Dataset seed (non-negative). Defaults to 0.
        formats (Sequence[str]): Any of ``'coco'``, ``'voc'``, ``'kitti'``. Defaults to all three.
        config (SceneConfig, optional): Scene parameters; its width/height are replaced by
            ``img_size``. Defaults to ``SceneConfig()``.
        voc_box_convention (str): ``'mmdet'`` (MMDetection 3.3 parses the exact boxes) or
            ``'voc'`` (strict 1-based inclusive VOC), see :mod:`det_kd.synthetic.voc_writer`.
            Defaults to ``'mmdet'``.
        progress (bool): Show a tqdm progress bar (if tqdm is installed). Defaults to True.

    Returns:
        dict: Summary with ``out_dir``, ``seed``, ``img_size``, ``classes``, per-split counts
        under ``splits`` (images, objects, per_class, ignore_regions, difficult, truncated,
        occlusion_levels) and the written paths per format under ``formats``.
    """
    if num_train < 0 or num_val < 0:
        raise ValueError(f'image counts must be >= 0, got {num_train} and {num_val}')
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    width, height = (int(v) for v in img_size)
    config = dataclasses.replace(config or SceneConfig(), width=width, height=height)
    writers = _make_writers(out_dir, formats, voc_box_convention)
    for writer in writers:
        _reset_dir(writer.root)

    stats = _Statistics()
    plan = _image_plan(num_train, num_val)
    for image_id, split, index in _progress(plan, num_train + num_val, progress):
        item = DatasetImage(image_id, split, generate_scene(seed, split, index, config))
        for writer in writers:
            writer.add(item)
        stats.update(item)

    return {
        'out_dir': out_dir,
        'seed': seed,
        'img_size': (width, height),
        'classes': list(SYNTHETIC_CLASSES),
        'splits': {split: stats.split_summary(split) for split in SPLITS},
        'formats': {writer.name: writer.finalize() for writer in writers},
    }
