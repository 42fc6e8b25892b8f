"""Evaluation: framework-free functions (``functional``) and MMEngine metrics (``metrics``)."""
from . import functional  # noqa: F401
from .metrics import KittiMetric

__all__ = ['KittiMetric']
