"""Writes synthetic scenes in the KITTI object-detection layout (2D fields only).

Layout under ``out_dir``::

    kitti/training/image_2/NNNNNN.png
    kitti/training/label_2/NNNNNN.txt
    kitti/ImageSets/{split}.txt

Each label line has the 15 KITTI fields
``type truncated occluded alpha x1 y1 x2 y2 h w l x y z ry``. Types are the capitalised class
names (``Ellipse``, ...); ``truncated`` is the scene's truncation fraction and ``occluded`` its
occlusion level (0-2). The 3D fields carry KITTI's "invalid" values (alpha -10, dimensions
-1 -1 -1, location -1000 -1000 -1000, ry -10). The box is the scene's 0-based
``(x1, y1, x2, y2)`` written with 2 decimals, without any +1. "Don't care" regions are written as
``DontCare -1 -1 -10 x1 y1 x2 y2 -1 -1 -1 -1000 -1000 -1000 -10``.
"""
import os.path as osp
from typing import Dict, List, Sequence

from .io_utils import write_id_list, write_text
from .structures import Box, DatasetImage

_INVALID_3D = '-1 -1 -1 -1000 -1000 -1000 -10'


def kitti_type(class_name: str) -> str:
    """Returns the KITTI object type of a class name.

    Args:
        class_name (str): A lower-case class name, e.g. ``'ellipse'``.

    Returns:
        str: The capitalised type, e.g. ``'Ellipse'``.
    """
    return class_name.capitalize()


def kitti_line(type_name: str, truncated: float, occluded: int, box: Box) -> str:
    """Formats one 15-field label line.

    Args:
        type_name (str): KITTI type, e.g. ``'Star'`` or ``'DontCare'``.
        truncated (float): Truncation in [0, 1], or -1 for ``DontCare``.
        occluded (int): Occlusion level 0-3, or -1 for ``DontCare``.
        box (Box): ``(x1, y1, x2, y2)`` in 0-based pixel coordinates.

    Returns:
        str: The line, without newline.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    truncated_text = '-1' if truncated < 0 else f'{truncated:.2f}'
    return (f'{type_name} {truncated_text} {occluded:d} -10 '
            f'{x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f} {_INVALID_3D}')


def scene_to_label(item: DatasetImage) -> str:
    """Renders the label file of one image: objects, then ``DontCare`` regions.

    Args:
        item (DatasetImage): The scene.

    Returns:
        str: The file content (one newline-terminated line per entry; empty if none).
    """
    lines = [kitti_line(kitti_type(obj.name), obj.truncation, obj.occlusion, obj.box)
             for obj in item.scene.objects]
    lines += [kitti_line('DontCare', -1, -1, region.box) for region in item.scene.ignore_regions]
    return ''.join(line + '\n' for line in lines)


class KittiWriter:
    """Writes KITTI label files, PNG images and split lists.

    Args:
        out_dir (str): Dataset root; this writer owns ``out_dir/kitti``.
        splits (Sequence[str]): Splits that get an id list even when empty. Defaults to
            ``('train', 'val')``.
    """

    name = 'kitti'

    def __init__(self, out_dir: str, splits: Sequence[str] = ('train', 'val')) -> None:
        self.root = osp.join(out_dir, 'kitti')
        self.training = osp.join(self.root, 'training')
        self._ids: Dict[str, List[str]] = {split: [] for split in splits}

    def add(self, item: DatasetImage) -> None:
        """Saves the image and its label file.

        Args:
            item (DatasetImage): The scene with its id and split.
        """
        item.scene.save_image(osp.join(self.training, 'image_2', f'{item.stem}.png'))
        write_text(osp.join(self.training, 'label_2', f'{item.stem}.txt'), scene_to_label(item))
        self._ids.setdefault(item.split, []).append(item.stem)

    def finalize(self) -> Dict[str, str]:
        """Writes ``ImageSets/{split}.txt`` for every split.

        Returns:
            dict[str, str]: ``{'image_dir', 'label_dir', '<split>_ids'}`` paths.
        """
        outputs = {'image_dir': osp.join(self.training, 'image_2'),
                   'label_dir': osp.join(self.training, 'label_2')}
        for split, ids in self._ids.items():
            path = osp.join(self.root, 'ImageSets', f'{split}.txt')
            write_id_list(path, ids)
            outputs[f'{split}_ids'] = path
        return outputs
