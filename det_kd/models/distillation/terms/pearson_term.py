r"""PKD as a term: ``loss_weight`` times the batch mean of
:func:`~det_kd.models.losses.pearson_feature_distance` on each pair of maps (logged as ``loss_pkd``)."""
from typing import Optional, Sequence

from mmdet.registry import MODELS
from torch import Tensor

from ....utils.settings import check_number
from ...losses.pearson_feature_distance import pearson_feature_distance
from .feature_term import FeatureDistillationTerm


@MODELS.register_module()
class PearsonDistillationTerm(FeatureDistillationTerm):
    """PKD (Pearson-correlation feature imitation) on pairs of feature maps.

    Args:
        pairs (list[dict]): As ``distill.hints``; a pair without ``adapter`` gets none between equal channel
            counts and a 1x1 conv otherwise.
        loss_weight (float): Defaults to 6.0 (MMRazor's Faster R-CNN R101 -> R50 FPN setting).
        name (str): Defaults to ``'pkd'``.
    """
    default_name = 'pkd'
    default_adapter = None
    pair_label = 'pkd'

    def __init__(self, pairs: Sequence[dict], loss_weight: float = 6.0, name: Optional[str] = None) -> None:
        super().__init__(pairs, name)
        self.loss_weight = float(check_number(loss_weight, 'PearsonDistillationTerm.loss_weight', 0.0))

    def pair_loss(self, student_feat: Tensor, teacher_feat: Tensor, scale: float,
                  mask: Optional[Tensor]) -> Tensor:
        return scale * self.loss_weight * pearson_feature_distance(student_feat, teacher_feat, mask).mean()
