"""Datasets registered in MMDetection's ``DATASETS`` registry."""
from .kitti import KittiDataset
from .synthetic import SyntheticCocoDataset, SyntheticKittiDataset, SyntheticVOCDataset

__all__ = ['KittiDataset', 'SyntheticCocoDataset', 'SyntheticKittiDataset', 'SyntheticVOCDataset']
