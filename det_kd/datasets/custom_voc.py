"""PASCAL VOC layout with your own classes (e.g. BCCD): class names right in ``VOCMetric``, bad boxes counted.

MMDetection's ``VOCDataset`` marks a dataset under a ``VOC2007`` / ``VOC2012`` folder as PASCAL VOC, and
``VOCMetric`` then prints PASCAL's twenty class names (aeroplane, bicycle, ...) for whatever classes the
dataset has. It also skips objects whose class the config does not list, and keeps zero-width boxes, both
silently. :class:`CustomVOCDataset` reads the same layout but

- marks the dataset as PASCAL VOC only when its classes are PASCAL's, so every metric table uses the
  dataset's own class names;
- drops boxes with no area in MMDetection's coordinates (``xmax <= xmin`` or ``ymax <= ymin`` after the
  VOC ``-1``: a one-pixel "point" box, as BCCD has two of) instead of training on them;
- reports both once per dataset, with counts and class names, through the MMEngine logger, and the images its
  filter leaves out (e.g. an annotation without any object of the listed classes, with ``filter_empty_gt``),
  by id (``filtered_out``).
"""
import xml.etree.ElementTree as ET
from collections import Counter
from typing import List

from mmengine.logging import print_log
from mmdet.datasets import VOCDataset
from mmdet.registry import DATASETS

from .non_empty import NonEmptyDatasetMixin


@DATASETS.register_module()
class CustomVOCDataset(NonEmptyDatasetMixin, VOCDataset):
    """A VOC-layout dataset whose classes come from ``metainfo=dict(classes=(...))``.

    Args:
        **kwargs: As for ``mmdet.datasets.VOCDataset`` (``data_root``, ``ann_file``, ``data_prefix``,
            ``metainfo``, ``filter_cfg``, ``pipeline``, ...).
    """

    def __init__(self, **kwargs) -> None:
        self.unlisted_objects: Counter = Counter()
        self.degenerate_boxes: Counter = Counter()
        self.filtered_out: List[str] = []
        super().__init__(**kwargs)
        if tuple(self._metainfo['classes']) != tuple(VOCDataset.METAINFO['classes']):
            self._metainfo['dataset_type'] = None  # VOCMetric prints self.dataset_meta['classes']

    def load_data_list(self) -> List[dict]:
        """Loads the split, then reports unlisted classes and dropped boxes once."""
        data_list = super().load_data_list()
        where = f"{type(self).__name__} ({self.ann_file})"
        if self.unlisted_objects:
            listed = ', '.join(f'{name!r} x{count}' for name, count in sorted(self.unlisted_objects.items()))
            print_log(f'{where}: objects of classes the config does not list were skipped: {listed} '
                      f'(listed classes: {list(self._metainfo["classes"])})', logger='current', level=30)
        if self.degenerate_boxes:
            dropped = ', '.join(f'{name} x{count}' for name, count in sorted(self.degenerate_boxes.items()))
            print_log(f'{where}: dropped boxes with no area (xmax <= xmin or ymax <= ymin): {dropped}',
                      logger='current', level=30)
        return data_list

    def filter_data(self) -> List[dict]:
        """The filter of ``filter_cfg``; the ids of the images it leaves out are kept in ``filtered_out`` and
        reported once."""
        kept = super().filter_data()
        kept_ids = {id(info) for info in kept}
        self.filtered_out = [str(info['img_id']) for info in self.data_list if id(info) not in kept_ids]
        if self.filtered_out:
            shown = ', '.join(self.filtered_out[:5]) + (' ...' if len(self.filtered_out) > 5 else '')
            print_log(f'{type(self).__name__} ({self.ann_file}): {len(self.filtered_out)} of {len(self.data_list)} '
                      f'images left out by filter_cfg={dict(self.filter_cfg or {})} (no object of the listed '
                      f'classes, or too small): {shown}', logger='current', level=30)
        return kept

    def parse_data_info(self, img_info: dict):
        """VOCDataset's parsing; a malformed XML file or object is an error naming the file (and object)."""
        try:
            return super().parse_data_info(img_info)
        except ET.ParseError as error:
            raise ValueError(f"{type(self).__name__}: annotation {img_info['xml_path']} is not valid XML: "
                             f'{error}') from error
        except (AttributeError, TypeError, ValueError) as error:
            raise ValueError(f"{type(self).__name__}: annotation {img_info['xml_path']}: {error}") from error

    def _parse_instance_info(self, raw_ann_info, minus_one: bool = True) -> List[dict]:
        """VOCDataset's parsing, minus zero-area boxes; unlisted classes are counted."""
        for index, obj in enumerate(raw_ann_info.findall('object')):
            for field in ('name', 'bndbox'):
                if obj.find(field) is None:
                    raise ValueError(f'object {index} has no <{field}>')
            for coordinate in ('xmin', 'ymin', 'xmax', 'ymax'):
                value = obj.find('bndbox').find(coordinate)
                try:
                    float(value.text)
                except (AttributeError, TypeError, ValueError):
                    raise ValueError(f'object {index} ({obj.find("name").text}): <bndbox><{coordinate}> is '
                                     f'{None if value is None else value.text!r}, not a number') from None
            name = obj.find('name').text
            if name not in self._metainfo['classes']:
                self.unlisted_objects[name] += 1
        instances = []
        for instance in super()._parse_instance_info(raw_ann_info, minus_one=minus_one):
            x1, y1, x2, y2 = instance['bbox']
            if x2 <= x1 or y2 <= y1:
                self.degenerate_boxes[self._metainfo['classes'][instance['bbox_label']]] += 1
                continue
            instances.append(instance)
        return instances
