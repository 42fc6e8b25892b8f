"""A teacher known only by its detections: the results file ``tools/pseudo_label.py`` writes, read back.

The file is JSON, COCO-style (any detector, any framework can write it)::

    {"format": "det_kd teacher detections v1",
     "classes": ["cat", "dog"],                                   # the student's classes, in order
     "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
     "root": "/data/images",                                      # optional: the folder file_name is relative to
     "images": [{"id": 0, "file_name": "train/000001.jpg", "width": 500, "height": 375}, ...],
     "detections": [{"image_id": 0, "bbox": [x, y, w, h], "category_id": 1, "score": 0.93,
                     "class_probs": [0.93, 0.02, 0.05]}, ...],   # C + 1 values, background last
     "teacher": {...}}                                           # optional: how the file was made

Boxes are in the original image's pixels (COCO ``[x, y, width, height]``); ``class_probs`` is the teacher's
probability of every class and of background for that box (for a Faster R-CNN: the softmax of its RoI head
on the box), summing to 1. ``width`` / ``height`` (optional, always written by ``tools/pseudo_label.py``) are
the image's size when the detections were made; a training image of another size is refused.

**Which entry is an image's.** ``file_name`` is a path relative to the **image root**: ``root`` of the teacher
dict (``teacher=dict(results=..., root=...)``), else the file's own ``root`` (``tools/pseudo_label.py`` records
its ``--images`` folder), else, for files that record none, the one folder above each training dataset's images
under which every image of that dataset has an entry (at start-up, :meth:`TeacherResults.bind`: a file made on
the dataset's image folder itself, or on a folder above several datasets). Two entries with the same
``file_name``, two images with the same ``id``, a class named twice, a truncated or empty file are refused when
the file is read.
"""
import json
import math
import os.path as osp
import posixpath
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

FORMAT = 'det_kd teacher detections v1'


@dataclass
class ImageDetections:
    """One image's detections: ``boxes`` ``(n, 4)`` x1 y1 x2 y2 in original pixels, ``labels`` ``(n,)``
    0-based, ``scores`` ``(n,)``, ``class_probs`` ``(n, C + 1)``; the entry's ``file_name`` and, when the file
    gives them, the image's ``width`` / ``height``."""
    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    class_probs: np.ndarray
    file_name: str = ''
    width: Optional[int] = None
    height: Optional[int] = None


def _size(image: dict, key: str, where: str) -> Optional[int]:
    value = image.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != int(value):
        raise ValueError(f'{where}: {key} must be a positive integer (pixels), got {value!r}')
    return int(value)


class TeacherResults:
    """The detections of a results file, by image, checked field by field.

    Args:
        path (str): The JSON file.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is not JSON (empty, truncated), a field is missing or wrong, a class is listed
            twice, or two entries share a ``file_name`` or an ``id`` (names the file, the entry and the field).
    """

    def __init__(self, path: str) -> None:
        if not osp.isfile(path):
            raise FileNotFoundError(f'teacher results file {path!r} not found (write one with tools/pseudo_label.py)')
        self.path = path
        where = f'teacher results {path!r}'
        with open(path) as f:
            text = f.read()
        if not text.strip():
            raise ValueError(f'{where} is empty (0 bytes of JSON): an interrupted write? Write it again with '
                             'tools/pseudo_label.py')
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ValueError(f'{where} is not valid JSON ({error}): a truncated or interrupted write? Write it '
                             'again with tools/pseudo_label.py') from error
        if not isinstance(data, dict):
            raise ValueError(f'{where} must hold a JSON object with classes, categories, images and detections, '
                             f'got a {type(data).__name__}')
        for key in ('classes', 'categories', 'images', 'detections'):
            if key not in data:
                raise ValueError(f'{where}: no {key!r} (see det_kd.models.distillation.teacher_results)')
        self.classes = [str(name) for name in data['classes']]
        twice = sorted({name for name in self.classes if self.classes.count(name) > 1})
        if twice:
            raise ValueError(f'{where}: classes {self.classes} list {twice} more than once; each class must be '
                             'named once, in the student\'s order')
        category_names = {int(c['id']): str(c['name']) for c in data['categories']}
        if sorted(category_names.values()) != sorted(self.classes) or len(category_names) != len(self.classes):
            raise ValueError(f'{where}: categories {sorted(category_names.values())} are not the classes '
                             f'{self.classes}')
        label_of = {cat_id: self.classes.index(name) for cat_id, name in category_names.items()}
        num_probs = len(self.classes) + 1
        self.teacher = data.get('teacher', {})
        root = data.get('root')
        if root is not None and not isinstance(root, str):
            raise ValueError(f'{where}: root must be a folder path, got {root!r}')
        #: The folder the entries' ``file_name`` are relative to, as the file records it (None: not recorded).
        self.root: Optional[str] = root
        images, id_of_name = {}, {}
        for index, image in enumerate(data['images']):
            if not isinstance(image, dict) or 'id' not in image or 'file_name' not in image:
                raise ValueError(f'{where}: images[{index}] needs `id` and `file_name`')
            image_id, name = image['id'], normalise(str(image['file_name']))
            if image_id in images:
                raise ValueError(f'{where}: images[{index}] repeats image id {image_id!r} (of '
                                 f'{images[image_id]["file_name"]!r}); every image needs its own id')
            if name in id_of_name:
                raise ValueError(f'{where}: images[{index}] repeats file_name {name!r} (image ids '
                                 f'{id_of_name[name]!r} and {image_id!r}): which detections are the image\'s is '
                                 'ambiguous; keep one entry per image')
            _size(image, 'width', f'{where}: images[{index}]')
            _size(image, 'height', f'{where}: images[{index}]')
            images[image_id], id_of_name[name] = image, image_id
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
            dets, file_name = per_image[image_id], normalise(str(image['file_name']))
            self._by_file[file_name] = ImageDetections(
                boxes=np.asarray([d[0] for d in dets], dtype=np.float32).reshape(-1, 4),
                labels=np.asarray([d[1] for d in dets], dtype=np.int64),
                scores=np.asarray([d[2] for d in dets], dtype=np.float32),
                class_probs=np.asarray([d[3] for d in dets], dtype=np.float32).reshape(-1, num_probs),
                file_name=file_name, width=_size(image, 'width', where), height=_size(image, 'height', where))
        #: ``img_path`` -> its entry, for the training images :meth:`bind` resolved at start-up.
        self._bound: Dict[str, ImageDetections] = {}

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_detections(self) -> int:
        return sum(len(entry.scores) for entry in self._by_file.values())

    def __len__(self) -> int:
        return len(self._by_file)

    def file_names(self) -> List[str]:
        return sorted(self._by_file)

    def entries(self) -> List[ImageDetections]:
        return [self._by_file[name] for name in self.file_names()]

    # ------------------------------------------------------------------ which entry is an image's
    def relative_to(self, img_path: str, root: str) -> Optional[ImageDetections]:
        """The entry of ``img_path`` as a path relative to ``root`` (None: not under it, or no such entry)."""
        return self._under(osp.realpath(img_path), osp.realpath(root))

    def _under(self, real_path: str, real_root: str) -> Optional[ImageDetections]:
        prefix = real_root.rstrip(osp.sep) + osp.sep
        if not real_path.startswith(prefix):
            return None
        return self._by_file.get(normalise(real_path[len(prefix):]))

    def bind(self, datasets: Iterable[Tuple[str, Sequence[str]]], root: Optional[str] = None) -> Dict[str, str]:
        """Resolves every training image to its entry once, at start-up; raises if one has none.

        Args:
            datasets: ``(name, image paths)`` per training dataset (the images that need an entry).
            root (str, optional): The image root (the teacher dict's ``root``); None: the file's ``root``, else
                per dataset the one folder above its images under which every image has an entry.

        Returns:
            dict: ``{dataset name: the image root used}``.

        Raises:
            KeyError: Images without an entry (names the file, the dataset, the root tried and up to 3 images).
            ValueError: Several folders fit a dataset (ambiguous; set ``teacher.root``).
        """
        root = root if root is not None else self.root
        used = {}
        for name, paths in datasets:
            paths = list(paths)
            if not paths:
                continue
            real = [osp.realpath(path) for path in paths]
            candidates = [osp.realpath(root)] if root is not None else _folders_above(real)
            fits = []
            for candidate in candidates:
                found = []
                for path in real:
                    entry = self._under(path, candidate)
                    if entry is None:
                        break
                    found.append(entry)
                if len(found) == len(paths):
                    fits.append((candidate, found))
            if not fits:
                best = max(candidates, key=lambda c: sum(self._under(p, c) is not None for p in real))
                missing = [path for path, path_real in zip(paths, real) if self._under(path_real, best) is None]
                tried = (f'image root {root!r}' if root is not None else
                         f'no image root recorded; the best folder, {best!r}, leaves these out')
                raise KeyError(f'teacher results {self.path!r} have no entry for {len(missing)} of the {len(paths)} '
                               f'images of {name} (e.g. {missing[:3]}; {tried}; the file\'s entries include '
                               f'{self.file_names()[:3]}): the file was made on other images? Run '
                               'tools/pseudo_label.py on every training image, or give the folder the entries\' '
                               'file_name are relative to as teacher.root')
            if len(fits) > 1:
                raise ValueError(f'teacher results {self.path!r}: the images of {name} have entries relative to '
                                 f'{len(fits)} folders ({[fit[0] for fit in fits]}): which entry is an image\'s is '
                                 'ambiguous; give the image root as teacher.root')
            candidate, found = fits[0]
            self._bound.update(zip(paths, found))
            used[name] = candidate
        return used

    def find(self, img_path: str, root: Optional[str] = None) -> Optional[ImageDetections]:
        """The entry of ``img_path``: as :meth:`bind` resolved it; else relative to ``root`` (or the file's
        ``root``); else, for a file that records no root, the one entry whose ``file_name`` ends ``img_path``
        (several: an error). None if none."""
        found = self._bound.get(img_path)
        if found is not None:
            return found
        root = root if root is not None else self.root
        if root is not None:
            return self.relative_to(img_path, root)
        parts = normalise(img_path).split('/')
        tails = [tail for tail in ('/'.join(parts[start:]) for start in range(len(parts))) if tail in self._by_file]
        if len(tails) > 1:
            raise ValueError(f'teacher results {self.path!r}: image {img_path!r} matches the entries {tails} '
                             'alike; give the folder their file_name are relative to as teacher.root')
        return self._by_file[tails[0]] if tails else None

    def get(self, img_path: str, root: Optional[str] = None) -> ImageDetections:
        """As :meth:`find`, but a training image the file does not cover is an error."""
        found = self.find(img_path, root)
        if found is None:
            root = root if root is not None else self.root
            raise KeyError(f'teacher results {self.path!r} have no entry for image {img_path!r}'
                           f'{f" under the image root {root!r}" if root is not None else ""} (its {len(self)} images '
                           f'include {self.file_names()[:3]}...); run tools/pseudo_label.py on every training image')
        return found


def normalise(path: str) -> str:
    """A ``file_name`` or path as a key: ``/`` separators, no ``.`` / ``..`` steps, no leading ``./`` (a hidden
    folder such as ``.cache/`` keeps its dot)."""
    normal = posixpath.normpath(path.replace('\\', '/'))
    return '' if normal == '.' else normal


def _folders_above(paths: Sequence[str]) -> List[str]:
    """The folder holding every one of ``paths`` (real, absolute) and each folder above it, deepest first."""
    folder = osp.commonpath([osp.dirname(path) for path in paths])
    folders = [folder]
    while osp.dirname(folder) != folder:
        folder = osp.dirname(folder)
        folders.append(folder)
    return folders


def write_teacher_results(path: str, classes: Sequence[str], images: Sequence[dict], detections: Sequence[dict],
                          teacher: Optional[dict] = None, root: Optional[str] = None) -> None:
    """Writes a results file (see the module docstring); ``detections`` already in its form, ``root`` the folder
    the images' ``file_name`` are relative to (recorded when given)."""
    data = dict(format=FORMAT, classes=list(classes),
                categories=[dict(id=index + 1, name=name) for index, name in enumerate(classes)],
                images=list(images), detections=list(detections), teacher=teacher or {})
    if root is not None:
        data['root'] = root
    with open(path, 'w') as f:
        json.dump(data, f)
