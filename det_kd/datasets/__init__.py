"""Datasets registered in MMDetection's ``DATASETS`` registry."""
from .synthetic import SyntheticCocoDataset, SyntheticVOCDataset

__all__ = ['SyntheticCocoDataset', 'SyntheticVOCDataset']
