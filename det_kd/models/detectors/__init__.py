"""Detectors registered in MMDetection's ``MODELS`` registry."""
from .kd_faster_rcnn import DISTILLATION_ONLY_PREFIXES, PAPER_DISTILL_DEFAULTS, KDFasterRCNN

__all__ = ['KDFasterRCNN', 'DISTILLATION_ONLY_PREFIXES', 'PAPER_DISTILL_DEFAULTS']
