"""Datasets registered in MMDetection's ``DATASETS`` registry."""
from .custom_voc import CustomVOCDataset
from .kitti import KittiDataset
from .synthetic import SyntheticCocoDataset, SyntheticKittiDataset, SyntheticVOCDataset
from .ratio_sampler import RatioSampler
from .unlabeled_images import UnlabeledImageDataset

__all__ = ['CustomVOCDataset', 'KittiDataset', 'SyntheticCocoDataset', 'SyntheticKittiDataset', 'SyntheticVOCDataset',
           'UnlabeledImageDataset', 'RatioSampler']
