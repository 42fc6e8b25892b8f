"""A teacher known only by its detections: the results file ``tools/pseudo_label.py`` writes, read back.

The file is JSON, COCO-style (any detector, any framework can write it)::

    {"format": "det_kd teacher detections v1",
     "classes": ["cat", "dog"],                                   # the student's classes, in order
     "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
     "images": [{"id": 0, "file_name": "train/000001.jpg", "width": 500, "height": 375}, ...],
     "detections": [{"image_id": 0, "bbox": [x, y, w, h], "category_id": 1, "score": 0.93,
                     "class_probs": [0.93, 0.02, 0.05]}, ...],   # C + 1 values, background last
     "teacher": {...}}                                           # optional: how the file was made

Boxes are in the original image's pixels (COCO ``[x, y, width, height]``); ``class_probs`` is the teacher's
probability of every class and of background for that box (for a Faster R-CNN: the softmax of its RoI head
on the box), summing to 1. A training image is matched to its entry by ``file_name``, a path relative to
some folder: the entry whose ``file_name`` is the longest tail of the sample's ``img_path``.
"""
import json
import math
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

FORMAT = 'det_kd teacher detections v1'


@dataclass
class ImageDetections:
    """One image's detections: ``boxes`` ``(n, 4)`` x1 y1 x2 y2 in original pixels, ``labels`` ``(n,)``
    0-based, ``scores`` ``(n,)``, ``class_probs`` ``(n, C + 1)``."""
    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    class_probs: np.ndarray


class TeacherResults:
    """The detections of a results file, by image, checked field by field.

    Args:
        path (str): The JSON file.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If a field is missing or wrong (names the file, the detection index and the field).
    """

    def __init__(self, path: str) -> None:
        if not osp.isfile(path):
            raise FileNotFoundError(f'teacher results file {path!r} not found (write one with tools/pseudo_label.py)')
        self.path = path
        with open(path) as f:
            data = json.load(f)
        where = f'teacher results {path!r}'
        for key in ('classes', 'categories', 'images', 'detections'):
            if key not in data:
                raise ValueError(f'{where}: no {key!r} (see det_kd.models.distillation.teacher_results)')
        self.classes = [str(name) for name in data['classes']]
        category_names = {int(c['id']): str(c['name']) for c in data['categories']}
        if sorted(category_names.values()) != sorted(self.classes) or len(category_names) != len(self.classes):
            raise ValueError(f'{where}: categories {sorted(category_names.values())} are not the classes '
                             f'{self.classes}')
        label_of = {cat_id: self.classes.index(name) for cat_id, name in category_names.items()}
        num_probs = len(self.classes) + 1
        self.teacher = data.get('teacher', {})
        images = {}
        for index, image in enumerate(data['images']):
            if 'id' not in image or 'file_name' not in image:
                raise ValueError(f'{where}: images[{index}] needs `id` and `file_name`')
            images[image['id']] = image
        per_image: Dict[object, list] = {image_id: [] for image_id in images}
        for index, det in enumerate(data['detections']):
            name = f'{where}: detections[{index}]'
            missing = {'image_id', 'bbox', 'category_id', 'score', 'class_probs'} - set(det)
            if missing:
                raise ValueError(f'{name}: missing {sorted(missing)}')
            if det['image_id'] not in images:
                raise ValueError(f"{name}: image_id {det['image_id']!r} is not in `images`")
            box = [float(v) for v in det['bbox']]
            if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[2] < 0 or box[3] < 0:
                raise ValueError(f"{name}: bbox must be [x, y, w, h] with w, h >= 0, got {det['bbox']!r}")
            if int(det['category_id']) not in label_of:
                raise ValueError(f"{name}: category_id {det['category_id']!r} is not in `categories`")
            score = float(det['score'])
            if not 0.0 <= score <= 1.0:
                raise ValueError(f'{name}: score must be in [0, 1], got {score!r}')
            probs = np.asarray(det['class_probs'], dtype=np.float64)
            if probs.shape != (num_probs, ) or not np.all(np.isfinite(probs)) or probs.min() < 0 or \
                    abs(probs.sum() - 1.0) > 1e-3:
                raise ValueError(f'{name}: class_probs must be {num_probs} probabilities (the {len(self.classes)} '
                                 f'classes, then background) summing to 1, got {det["class_probs"]!r}')
            x, y, w, h = box
            per_image[det['image_id']].append(([x, y, x + w, y + h], label_of[int(det['category_id'])], score, probs))
        self._by_file: Dict[str, ImageDetections] = {}
        for image_id, image in images.items():
            dets = per_image[image_id]
            self._by_file[_normalise(image['file_name'])] = ImageDetections(
                boxes=np.asarray([d[0] for d in dets], dtype=np.float32).reshape(-1, 4),
                labels=np.asarray([d[1] for d in dets], dtype=np.int64),
                scores=np.asarray([d[2] for d in dets], dtype=np.float32),
                class_probs=np.asarray([d[3] for d in dets], dtype=np.float32).reshape(-1, num_probs))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self._by_file)

    def file_names(self) -> List[str]:
        return sorted(self._by_file)

    def find(self, img_path: str) -> Optional[ImageDetections]:
        """The detections of the entry whose ``file_name`` is the longest tail of ``img_path`` (None if none)."""
        parts = _normalise(img_path).split('/')
        for start in range(len(parts)):
            found = self._by_file.get('/'.join(parts[start:]))
            if found is not None:
                return found
        return None

    def get(self, img_path: str) -> ImageDetections:
        """As :meth:`find`, but a training image the file does not cover is an error."""
        found = self.find(img_path)
        if found is None:
            raise KeyError(f'teacher results {self.path!r} have no entry for image {img_path!r} (its '
                           f'{len(self)} images include {self.file_names()[:3]}...); run tools/pseudo_label.py '
                           'on every training image')
        return found


def _normalise(path: str) -> str:
    return osp.normpath(path).replace('\\', '/').lstrip('./')


def write_teacher_results(path: str, classes: Sequence[str], images: Sequence[dict], detections: Sequence[dict],
                          teacher: Optional[dict] = None) -> None:
    """Writes a results file (see the module docstring); ``detections`` already in its form."""
    data = dict(format=FORMAT, classes=list(classes),
                categories=[dict(id=index + 1, name=name) for index, name in enumerate(classes)],
                images=list(images), detections=list(detections), teacher=teacher or {})
    with open(path, 'w') as f:
        json.dump(data, f)
