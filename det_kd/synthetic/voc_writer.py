"""Writes synthetic scenes in PASCAL VOC layout.

Layout under ``out_dir``::

    voc/VOC2007/JPEGImages/NNNNNN.jpg
    voc/VOC2007/Annotations/NNNNNN.xml
    voc/VOC2007/ImageSets/Main/{split}.txt

Box convention (verified against MMDetection 3.3.0,
``mmdet/datasets/xml_style.py::XMLDataset._parse_instance_info``): mmdet reads
``[int(float(xmin)), int(float(ymin)), int(float(xmax)), int(float(ymax))]`` and, with the default
``minus_one=True``, subtracts 1 from **all four** values, i.e. it parses
``(xmin - 1, ymin - 1, xmax - 1, ymax - 1)`` -- not ``(xmin - 1, ymin - 1, xmax, ymax)``.
Two conventions are therefore offered for a scene box ``(x1, y1, x2, y2)`` (``x2``/``y2``
exclusive):

* ``'mmdet'`` (default): ``xmin, ymin, xmax, ymax = x1 + 1, y1 + 1, x2 + 1, y2 + 1``. MMDetection
  parses exactly ``(x1, y1, x2, y2)``, the same box as from the COCO and KITTI files. The price:
  for an object touching the right/bottom border ``xmax``/``ymax`` is ``width + 1`` /
  ``height + 1``, one more than strict VOC tools allow.
* ``'voc'``: the PASCAL devkit's 1-based inclusive pixel indices,
  ``xmin, ymin, xmax, ymax = x1 + 1, y1 + 1, x2, y2``. Always within the image, but mmdet parses
  ``(x1, y1, x2 - 1, y2 - 1)``: one pixel narrower and lower than the other formats.

``difficult`` is 1 for objects whose clipped box is lower than 16 px, that are occluded at level 2
(more than half hidden) or truncated by more than half (see :class:`SceneConfig`), and for the
"don't care" regions, which VOC has no other way to express; both MMDetection
(``ignore_flag``) and the VOC metric ignore difficult objects. ``truncated`` is 1 when any part
of the object lies outside the image.
"""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Sequence, Tuple

from .io_utils import write_id_list, write_text
from .structures import Box, DatasetImage

#: Supported ``box_convention`` values, see the module docstring.
VOC_BOX_CONVENTIONS: Tuple[str, ...] = ('mmdet', 'voc')


def to_voc_bndbox(box: Box, convention: str = 'mmdet') -> Tuple[int, int, int, int]:
    """Converts a scene box to VOC ``xmin, ymin, xmax, ymax``.

    Args:
        box (Box): ``(x1, y1, x2, y2)`` with exclusive ``x2``/``y2``.
        convention (str): ``'mmdet'`` or ``'voc'`` (see the module docstring). Defaults to
            ``'mmdet'``.

    Returns:
        tuple[int, int, int, int]: The ``bndbox`` values.
    """
    if convention not in VOC_BOX_CONVENTIONS:
        raise ValueError(f'convention must be one of {VOC_BOX_CONVENTIONS}, got {convention!r}')
    x1, y1, x2, y2 = box
    end_offset = 1 if convention == 'mmdet' else 0
    return (x1 + 1, y1 + 1, x2 + end_offset, y2 + end_offset)


def _text_element(parent: ET.Element, tag: str, text: object) -> ET.Element:
    """Appends ``<tag>text</tag>`` to ``parent``."""
    element = ET.SubElement(parent, tag)
    element.text = str(text)
    return element


def _object_element(root: ET.Element, name: str, bndbox: Sequence[int], truncated: bool,
                    difficult: bool) -> None:
    """Appends one ``<object>`` element."""
    obj = ET.SubElement(root, 'object')
    _text_element(obj, 'name', name)
    _text_element(obj, 'pose', 'Unspecified')
    _text_element(obj, 'truncated', int(truncated))
    _text_element(obj, 'difficult', int(difficult))
    box = ET.SubElement(obj, 'bndbox')
    for tag, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), bndbox):
        _text_element(box, tag, value)


def scene_to_xml(item: DatasetImage, convention: str = 'mmdet') -> str:
    """Renders the VOC annotation xml of one image.

    Args:
        item (DatasetImage): The scene with its id.
        convention (str): Box convention, ``'mmdet'`` or ``'voc'``. Defaults to ``'mmdet'``.

    Returns:
        str: The xml document (no declaration, as in VOC2007), ending with a newline.
    """
    scene = item.scene
    root = ET.Element('annotation')
    _text_element(root, 'folder', 'VOC2007')
    _text_element(root, 'filename', f'{item.stem}.jpg')
    _text_element(ET.SubElement(root, 'source'), 'database', 'det_kd synthetic shapes')
    size = ET.SubElement(root, 'size')
    _text_element(size, 'width', scene.width)
    _text_element(size, 'height', scene.height)
    _text_element(size, 'depth', 3)
    _text_element(root, 'segmented', 0)
    for obj in scene.objects:
        _object_element(root, obj.name, to_voc_bndbox(obj.box, convention),
                        truncated=obj.truncation > 0, difficult=obj.difficult)
    for region in scene.ignore_regions:
        _object_element(root, region.name, to_voc_bndbox(region.box, convention),
                        truncated=False, difficult=True)
    ET.indent(root)
    return ET.tostring(root, encoding='unicode') + '\n'


class VocWriter:
    """Writes VOC xml annotations, JPEG images and split lists.

    Args:
        out_dir (str): Dataset root; this writer owns ``out_dir/voc``.
        splits (Sequence[str]): Splits that get an id list even when empty. Defaults to
            ``('train', 'val')``.
        box_convention (str): ``'mmdet'`` or ``'voc'`` (see the module docstring). Defaults to
            ``'mmdet'``.
        jpeg_quality (int): JPEG quality. Defaults to 95.
    """

    name = 'voc'

    def __init__(self, out_dir: str, splits: Sequence[str] = ('train', 'val'),
                 box_convention: str = 'mmdet', jpeg_quality: int = 95) -> None:
        if box_convention not in VOC_BOX_CONVENTIONS:
            raise ValueError(
                f'box_convention must be one of {VOC_BOX_CONVENTIONS}, got {box_convention!r}')
        self.root = osp.join(out_dir, 'voc')
        self.devkit = osp.join(self.root, 'VOC2007')
        self.box_convention = box_convention
        self.jpeg_quality = jpeg_quality
        self._ids: Dict[str, List[str]] = {split: [] for split in splits}

    def add(self, item: DatasetImage) -> None:
        """Saves the image and its xml annotation.

        Args:
            item (DatasetImage): The scene with its id and split.
        """
        item.scene.save_image(
            osp.join(self.devkit, 'JPEGImages', f'{item.stem}.jpg'), self.jpeg_quality)
        write_text(osp.join(self.devkit, 'Annotations', f'{item.stem}.xml'),
                   scene_to_xml(item, self.box_convention))
        self._ids.setdefault(item.split, []).append(item.stem)

    def finalize(self) -> Dict[str, str]:
        """Writes ``ImageSets/Main/{split}.txt`` for every split.

        Returns:
            dict[str, str]: ``{'devkit': VOC2007 folder, '<split>_ids': id list path}``.
        """
        outputs = {'devkit': self.devkit}
        for split, ids in self._ids.items():
            path = osp.join(self.devkit, 'ImageSets', 'Main', f'{split}.txt')
            write_id_list(path, ids)
            outputs[f'{split}_ids'] = path
        return outputs
