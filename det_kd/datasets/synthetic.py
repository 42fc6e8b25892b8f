"""MMDetection datasets over the synthetic scenes written by :mod:`det_kd.synthetic`.

The generator writes the same scenes in COCO, PASCAL VOC and KITTI layouts; these classes only bind the
synthetic class vocabulary (one source of truth: :data:`det_kd.synthetic.SYNTHETIC_CLASSES`) to the
readers, so configs need no hand-copied class list.
"""
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from det_kd.synthetic import SYNTHETIC_CLASSES, SYNTHETIC_PALETTE
from .custom_voc import CustomVOCDataset
from .kitti import KittiDataset

SYNTHETIC_METAINFO = dict(classes=SYNTHETIC_CLASSES, palette=SYNTHETIC_PALETTE)


@DATASETS.register_module()
class SyntheticCocoDataset(CocoDataset):
    """COCO-format synthetic shapes (``coco/annotations/instances_{train,val}.json``)."""

    METAINFO = SYNTHETIC_METAINFO


@DATASETS.register_module()
class SyntheticVOCDataset(CustomVOCDataset):
    """VOC-format synthetic shapes (``voc/VOC2007/...``); evaluated with mmdet's ``VOCMetric`` under their own
    class names."""

    METAINFO = SYNTHETIC_METAINFO


@DATASETS.register_module()
class SyntheticKittiDataset(KittiDataset):
    """KITTI-format synthetic shapes (``kitti/training/{image_2,label_2}``, capitalised class names)."""

    METAINFO = dict(classes=tuple(name.capitalize() for name in SYNTHETIC_CLASSES), palette=SYNTHETIC_PALETTE)
