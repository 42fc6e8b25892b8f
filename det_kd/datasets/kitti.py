"""KITTI 2D object detection (``training/image_2`` + ``training/label_2`` + split files)."""
import os.path as osp
from typing import List

from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS
from PIL import Image

from det_kd.evaluation.functional import read_kitti_file, read_split_file
from .non_empty import NonEmptyDatasetMixin


@DATASETS.register_module()
class KittiDataset(NonEmptyDatasetMixin, BaseDetDataset):
    """KITTI 2D detection for training and testing.

    Only objects of the configured classes (names compared case-insensitively) become training instances.
    ``DontCare`` regions, the neighbouring classes (``Van`` for Car, ``Person_sitting`` for Pedestrian) and
    the truncation / occlusion levels stay in the label files, which :class:`~det_kd.evaluation.KittiMetric`
    reads to apply the benchmark's rules.

    Args:
        ann_file (str): Split file with one image id per line, e.g. ``'ImageSets/train.txt'``.
        data_prefix (dict): ``img`` (e.g. ``'training/image_2'``) and ``ann`` (``'training/label_2'``)
            folders, relative to ``data_root``.
        img_suffix (str): Image file suffix. Defaults to '.png'.
        min_box_size (float): Boxes narrower or lower than this (in pixels) are not used for training.
            Defaults to 1.0.
        **kwargs: As for :class:`mmdet.datasets.BaseDetDataset`.
    """

    METAINFO = dict(
        classes=('Car', 'Pedestrian', 'Cyclist'), palette=[(106, 0, 228), (220, 20, 60), (0, 182, 199)])

    def __init__(self, *args, img_suffix: str = '.png', min_box_size: float = 1.0, **kwargs) -> None:
        self.img_suffix = img_suffix
        self.min_box_size = min_box_size
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Reads the split file, then each image's size and label file."""
        for key in ('img', 'ann'):
            if key not in self.data_prefix:
                raise KeyError(f"KittiDataset: data_prefix needs '{key}' (got {dict(self.data_prefix)})")
        class_index = {name.lower(): i for i, name in enumerate(self.metainfo['classes'])}
        data_list = []
        for img_id in read_split_file(self.ann_file):
            img_path = osp.join(self.data_prefix['img'], img_id + self.img_suffix)
            with Image.open(img_path) as image:
                width, height = image.size
            objects = read_kitti_file(osp.join(self.data_prefix['ann'], img_id + '.txt'), is_result=False)
            instances = []
            for name, box in zip(objects.names, objects.boxes):
                label = class_index.get(str(name).lower())
                if label is None:
                    continue
                x1, y1, x2, y2 = (float(v) for v in box)
                if x2 - x1 < self.min_box_size or y2 - y1 < self.min_box_size:
                    continue
                instances.append(dict(bbox=[x1, y1, x2, y2], bbox_label=label, ignore_flag=0))
            data_list.append(
                dict(img_id=img_id, img_path=img_path, width=width, height=height, instances=instances))
        return self.checked_loaded(data_list)

    def filter_data(self) -> List[dict]:
        """Drops images without instances (``filter_cfg.filter_empty_gt``) or smaller than ``min_size``."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        return self.checked_kept([
            info for info in self.data_list
            if not (filter_empty and not info['instances']) and min(info['width'], info['height']) >= min_size
        ])
