"""MMDetection datasets over the synthetic scenes written by :mod:`det_kd.synthetic`.

The generator writes the same scenes in COCO, PASCAL VOC and KITTI layouts; these classes only bind the
synthetic class vocabulary (one source of truth: :data:`det_kd.synthetic.SYNTHETIC_CLASSES`) to the
readers, so configs need no hand-copied class list.
"""
import json

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from det_kd.synthetic import SYNTHETIC_CLASSES, SYNTHETIC_PALETTE
from .custom_voc import CustomVOCDataset
from .non_empty import NonEmptyDatasetMixin
from .kitti import KittiDataset

SYNTHETIC_METAINFO = dict(classes=SYNTHETIC_CLASSES, palette=SYNTHETIC_PALETTE)


@DATASETS.register_module()
class SyntheticCocoDataset(NonEmptyDatasetMixin, CocoDataset):
    """COCO-format synthetic shapes (``coco/annotations/instances_{train,val}.json``); a file without an
    ``annotations`` list is refused (CocoMetric would report -1)."""

    METAINFO = SYNTHETIC_METAINFO

    def load_data_list(self):
        with open(self.ann_file) as f:  # mmdet drops its COCO object after loading
            if 'annotations' not in json.load(f):
                raise ValueError(f'{self._where()}: the COCO file has no "annotations" list')
        return super().load_data_list()


@DATASETS.register_module()
class SyntheticVOCDataset(CustomVOCDataset):
    """VOC-format synthetic shapes (``voc/VOC2007/...``); evaluated with mmdet's ``VOCMetric`` under their own
    class names."""

    METAINFO = SYNTHETIC_METAINFO


@DATASETS.register_module()
class SyntheticKittiDataset(KittiDataset):
    """KITTI-format synthetic shapes (``kitti/training/{image_2,label_2}``, capitalised class names)."""

    METAINFO = dict(classes=tuple(name.capitalize() for name in SYNTHETIC_CLASSES), palette=SYNTHETIC_PALETTE)
