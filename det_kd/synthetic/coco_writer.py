"""Writes synthetic scenes in COCO detection format.

Layout under ``out_dir``::

    coco/annotations/instances_{split}.json
    coco/{split}/NNNNNN.jpg

Category ids are ``1..K`` in :data:`SYNTHETIC_CLASSES` order. ``bbox`` is ``[x, y, w, h]`` (floats)
of the scene's ``(x1, y1, x2, y2)`` box, so ``[x, y, x + w, y + h]`` (how MMDetection's
``CocoDataset`` reads it) is exactly that box; ``area = w * h``. Labelled objects have
``iscrowd: 0`` plus two extra keys that COCO tools ignore: ``truncation`` (float) and
``occlusion`` (level 0-2). "Don't care" regions are ``iscrowd: 1`` annotations of the depicted
class, which ``pycocotools``' COCOeval and MMDetection (``ignore_flag``) both treat as ignored.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence

from .classes import SYNTHETIC_CLASSES
from .io_utils import write_text
from .structures import Box, DatasetImage


def _bbox_fields(box: Box) -> Dict[str, object]:
    """Returns the ``bbox`` and ``area`` fields of a ``(x1, y1, x2, y2)`` box."""
    x1, y1, x2, y2 = box
    width, height = float(x2 - x1), float(y2 - y1)
    return {'bbox': [float(x1), float(y1), width, height], 'area': width * height}


class CocoWriter:
    """Collects scenes and writes COCO json files plus JPEG images.

    Args:
        out_dir (str): Dataset root; this writer owns ``out_dir/coco``.
        splits (Sequence[str]): Splits that get an annotation file even when empty. Defaults to
            ``('train', 'val')``.
        jpeg_quality (int): JPEG quality. Defaults to 95.
    """

    name = 'coco'

    def __init__(self, out_dir: str, splits: Sequence[str] = ('train', 'val'),
                 jpeg_quality: int = 95) -> None:
        self.root = osp.join(out_dir, 'coco')
        self.jpeg_quality = jpeg_quality
        self._images: Dict[str, List[dict]] = {split: [] for split in splits}
        self._annotations: Dict[str, List[dict]] = {split: [] for split in splits}
        self._next_annotation_id = 1

    def annotation_file(self, split: str) -> str:
        """Returns the json path of a split.

        Args:
            split (str): Split name.

        Returns:
            str: ``coco/annotations/instances_{split}.json``.
        """
        return osp.join(self.root, 'annotations', f'instances_{split}.json')

    def _annotation(self, image_id: int, label: int, box: Box, iscrowd: int) -> dict:
        """Builds one annotation dict with a fresh id."""
        annotation = {'id': self._next_annotation_id, 'image_id': image_id,
                      'category_id': label + 1, 'iscrowd': iscrowd}
        annotation.update(_bbox_fields(box))
        self._next_annotation_id += 1
        return annotation

    def add(self, item: DatasetImage) -> None:
        """Saves the image and records its annotations.

        Args:
            item (DatasetImage): The scene with its id and split.
        """
        scene, file_name = item.scene, f'{item.stem}.jpg'
        scene.save_image(osp.join(self.root, item.split, file_name), self.jpeg_quality)
        self._images.setdefault(item.split, []).append({
            'id': item.image_id, 'file_name': file_name, 'width': scene.width,
            'height': scene.height})
        annotations = self._annotations.setdefault(item.split, [])
        for obj in scene.objects:
            annotation = self._annotation(item.image_id, obj.label, obj.box, iscrowd=0)
            annotation.update(truncation=round(obj.truncation, 4), occlusion=obj.occlusion)
            annotations.append(annotation)
        for region in scene.ignore_regions:
            annotations.append(self._annotation(item.image_id, region.label, region.box, iscrowd=1))

    def finalize(self) -> Dict[str, str]:
        """Writes one json file per split.

        Returns:
            dict[str, str]: ``{'<split>_ann': json path, '<split>_img': image folder}``.
        """
        categories = [{'id': i + 1, 'name': name, 'supercategory': 'shape'}
                      for i, name in enumerate(SYNTHETIC_CLASSES)]
        outputs = {}
        for split, images in self._images.items():
            content = {'info': {'description': 'det_kd synthetic shapes', 'version': '1.0'},
                       'licenses': [], 'images': images,
                       'annotations': self._annotations[split], 'categories': categories}
            write_text(self.annotation_file(split), json.dumps(content))
            os.makedirs(osp.join(self.root, split), exist_ok=True)
            outputs[f'{split}_ann'] = self.annotation_file(split)
            outputs[f'{split}_img'] = osp.join(self.root, split)
        return outputs
