"""Distillation losses: Chen et al. (2017)'s functional forms and loss modules, and the feature-distillation
family (attention transfer, CWD, PKD) as functional forms returning one value per sample."""
from .attention_transfer import attention_map, attention_transfer
from .bounded_regression import (TeacherBoundedRegressionLoss, teacher_bound_gate, teacher_bounded_l2,
                                 teacher_l2)
from .box_masks import box_cell_ranges, map_cell_size, paint_cells, sample_boxes
from .channel_wise_divergence import channel_wise_divergence
from .decoupled_features import (decoupled_feature_imitation, decoupled_roi_distillation, defeat_box_levels,
                                 defeat_object_mask)
from .dist_loss import dist_loss
from .fbkd import FBKD_PARTS, fbkd_attention, fbkd_losses
from .focal_global_distillation import FGDContextBlock, fgd_attention, fgd_losses, fgd_masks
from .hint_loss import HintLoss, hint_loss
from .masked_generative import masked_generative_distance, random_keep_mask
from .pearson_feature_distance import pearson_feature_distance
from .soft_cross_entropy import (WeightedSoftCrossEntropyLoss, weighted_soft_binary_cross_entropy,
                                 weighted_soft_cross_entropy)

__all__ = [
    'weighted_soft_cross_entropy', 'weighted_soft_binary_cross_entropy', 'teacher_bound_gate',
    'teacher_bounded_l2', 'teacher_l2', 'hint_loss', 'WeightedSoftCrossEntropyLoss',
    'TeacherBoundedRegressionLoss', 'HintLoss', 'attention_map', 'attention_transfer', 'channel_wise_divergence',
    'pearson_feature_distance', 'box_cell_ranges', 'map_cell_size', 'paint_cells', 'sample_boxes',
    'decoupled_feature_imitation', 'decoupled_roi_distillation', 'defeat_box_levels', 'defeat_object_mask',
    'FGDContextBlock', 'fgd_attention', 'fgd_losses', 'fgd_masks', 'dist_loss', 'FBKD_PARTS', 'fbkd_attention', 'fbkd_losses',
    'masked_generative_distance', 'random_keep_mask'
]
