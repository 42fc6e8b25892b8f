r"""Channel-wise distillation (CWD) as a term: ``loss_weight`` times the batch mean of
:func:`~det_kd.models.losses.channel_wise_divergence` on each pair of maps (logged as ``loss_cwd``)."""
from typing import Optional, Sequence

from mmdet.registry import MODELS
from torch import Tensor

from ....utils.settings import check_number, check_temperature
from ...losses.channel_wise_divergence import channel_wise_divergence
from .feature_term import FeatureDistillationTerm


@MODELS.register_module()
class ChannelWiseDistillationTerm(FeatureDistillationTerm):
    """CWD on pairs of feature maps (FPN levels or the single conv5 map).

    Args:
        pairs (list[dict]): As ``distill.hints``; a pair without ``adapter`` gets none between equal channel
            counts and a 1x1 conv otherwise.
        loss_weight (float): Defaults to 5.0, with T = 1: pppppM/mmdetection-distiller's RetinaNet config
            (``configs/distillers/cwd/cwd_retina_rx101_64x4d_distill_retina_r50_fpn_2x_coco.py`` lines 7-8, 4 FPN
            levels), the code MMRazor's CWD metafile names as converted from. MMRazor's own Faster R-CNN
            R101 -> R50 FPN config uses 10 on all 5 levels (``configs/distill/mmdet/cwd/
            cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py`` lines 24-33; ``configs/kd/cwd_r18-r50_fpn_1x_coco.py``).
        T (float): Temperature. Defaults to 1.0.
        name (str): Defaults to ``'cwd'``.
    """
    default_name = 'cwd'
    default_adapter = None
    pair_label = 'cwd'

    def __init__(self, pairs: Sequence[dict], loss_weight: float = 5.0, T: float = 1.0,
                 name: Optional[str] = None) -> None:
        super().__init__(pairs, name)
        self.loss_weight = float(check_number(loss_weight, 'ChannelWiseDistillationTerm.loss_weight', 0.0))
        self.T = float(check_temperature(T, 'ChannelWiseDistillationTerm.T'))

    def pair_loss(self, student_feat: Tensor, teacher_feat: Tensor, scale: float,
                  mask: Optional[Tensor]) -> Tensor:
        return scale * self.loss_weight * channel_wise_divergence(student_feat, teacher_feat, self.T, mask).mean()
