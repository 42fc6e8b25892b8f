r"""PKD as a term: ``loss_weight`` times the batch mean of
:func:`~det_kd.models.losses.pearson_feature_distance` on each pair of maps (logged as ``loss_pkd``)."""
from typing import Optional, Sequence

from mmdet.registry import MODELS
from torch import Tensor

from ....utils.settings import check_number
from ...losses.pearson_feature_distance import PKD_NORMALIZE, pearson_feature_distance
from .feature_term import FeatureDistillationTerm


@MODELS.register_module()
class PearsonDistillationTerm(FeatureDistillationTerm):
    """PKD (Pearson-correlation feature imitation) on pairs of feature maps.

    With the defaults, on maps of equal channels without an adapter, a pair's loss equals MMRazor's
    ``PKDLoss(loss_weight=6)`` on the same two maps (``mmrazor/models/losses/pkd_loss.py``:
    ``F.mse_loss(norm_S, norm_T) / 2 * loss_weight``, each channel standardised over the batch).

    Args:
        pairs (list[dict]): As ``distill.hints``; a pair without ``adapter`` gets none between equal channel
            counts and a 1x1 conv otherwise.
        loss_weight (float): Defaults to 6.0 (MMRazor's Faster R-CNN R101 -> R50 FPN config,
            ``configs/distill/mmdet/pkd/pkd_fpn_faster-rcnn_r101_faster-rcnn_r50_2x_coco.py`` lines 24-27, on
            FPN levels 0-3).
        normalize (str): Where each channel is standardised: ``'batch'`` (over the batch's ``N x H x W``,
            unbiased std: MMRazor's ``PKDLoss.norm``) or ``'image'`` (over each image's ``H x W``, population
            std: det_kd's form before issue 32, which the recorded measurements used). Defaults to ``'batch'``.
        name (str): Defaults to ``'pkd'``.
    """
    default_name = 'pkd'
    default_adapter = None
    pair_label = 'pkd'

    def __init__(self, pairs: Sequence[dict], loss_weight: float = 6.0, normalize: str = 'batch',
                 name: Optional[str] = None) -> None:
        super().__init__(pairs, name)
        self.loss_weight = float(check_number(loss_weight, 'PearsonDistillationTerm.loss_weight', 0.0))
        if normalize not in PKD_NORMALIZE:
            raise ValueError(f'PearsonDistillationTerm.normalize must be one of {PKD_NORMALIZE}, got {normalize!r}')
        self.normalize = normalize

    def pair_loss(self, student_feat: Tensor, teacher_feat: Tensor, scale: float,
                  mask: Optional[Tensor]) -> Tensor:
        return scale * self.loss_weight * pearson_feature_distance(student_feat, teacher_feat, mask,
                                                                   self.normalize).mean()
