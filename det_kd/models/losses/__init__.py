"""Distillation losses of Chen et al. (2017): functional forms (one value per sample) and loss modules."""
from .bounded_regression import (TeacherBoundedRegressionLoss, teacher_bound_gate, teacher_bounded_l2,
                                 teacher_l2)
from .hint_loss import HintLoss, hint_loss
from .soft_cross_entropy import (WeightedSoftCrossEntropyLoss, weighted_soft_binary_cross_entropy,
                                 weighted_soft_cross_entropy)

__all__ = [
    'weighted_soft_cross_entropy', 'weighted_soft_binary_cross_entropy', 'teacher_bound_gate',
    'teacher_bounded_l2', 'teacher_l2', 'hint_loss', 'WeightedSoftCrossEntropyLoss',
    'TeacherBoundedRegressionLoss', 'HintLoss'
]
