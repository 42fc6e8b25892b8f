"""Metrics registered in MMDetection's ``METRICS`` registry."""
from .kitti_metric import KittiMetric

__all__ = ['KittiMetric']
