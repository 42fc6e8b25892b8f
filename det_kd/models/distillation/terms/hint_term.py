r"""The paper's hint term :math:`\gamma L_{hint}(adapt(V), Z)` on pairs of (guided, hint) layers."""
from typing import Optional, Sequence

from mmdet.registry import MODELS
from torch import Tensor

from .feature_term import FeatureDistillationTerm


@MODELS.register_module()
class HintTerm(FeatureDistillationTerm):
    """Hint loss (:class:`~det_kd.models.losses.HintLoss`) summed over the pairs; logged as ``loss_hint``.

    Args:
        pairs (list[dict]): The hint pairs (``KDFasterRCNN``'s ``distill.hints``).
        loss (dict): The loss config. Defaults to the paper's ``HintLoss`` (L2, gamma = 0.5).
        name (str): Defaults to ``'hint'``.
    """
    default_name = 'hint'
    pair_label = 'hint'

    def __init__(self, pairs: Sequence[dict], loss: Optional[dict] = None, name: Optional[str] = None) -> None:
        super().__init__(pairs, name)
        self.loss = MODELS.build(loss or dict(type='HintLoss', mode='l2', loss_weight=0.5))

    def pair_loss(self, student_feat: Tensor, teacher_feat: Tensor, scale: float,
                  mask: Optional[Tensor]) -> Tensor:
        masked = {} if mask is None else {'mask': mask}
        return self.loss(student_feat, teacher_feat, scale, **masked)
