"""Detectors registered in MMDetection's ``MODELS`` registry."""
from .black_box_kd_faster_rcnn import BlackBoxKDFasterRCNN
from .kd_faster_rcnn import DISTILLATION_ONLY_PREFIXES, PAPER_DISTILL_DEFAULTS, KDFasterRCNN

__all__ = ['BlackBoxKDFasterRCNN', 'KDFasterRCNN', 'DISTILLATION_ONLY_PREFIXES', 'PAPER_DISTILL_DEFAULTS']
