r"""Attention transfer as a distillation term: :math:`\beta` times the batch mean of
:func:`~det_kd.models.losses.attention_transfer` on each pair of maps (logged as ``loss_at``)."""
from typing import Optional, Sequence

from mmdet.registry import MODELS
from torch import Tensor

from ....utils.settings import check_number
from ...losses.attention_transfer import ATTENTION_MODES, attention_transfer
from .feature_term import FeatureDistillationTerm


@MODELS.register_module()
class AttentionTransferTerm(FeatureDistillationTerm):
    r"""Attention transfer on pairs of feature maps; no adapter by default (attention sums the channels
    away, so the two maps may have different channel counts).

    Args:
        pairs (list[dict]): As ``distill.hints`` (``adapter`` defaults to ``'none'``).
        loss_weight (float): :math:`\beta`. Defaults to 1000 (the authors' CIFAR setting; the loss is a mean
            over positions, so it is small).
        p (float): The power of :math:`F^p`. Defaults to 2.
        mode (str): ``'sum'`` (:math:`F_{sum}^p`) or ``'max'`` (:math:`F_{max}^p`). Defaults to 'sum'.
        name (str): Defaults to ``'at'``.
    """
    default_name = 'at'
    default_adapter = 'none'
    needs_equal_channels = False
    pair_label = 'attention-transfer'

    def __init__(self, pairs: Sequence[dict], loss_weight: float = 1000.0, p: float = 2.0, mode: str = 'sum',
                 name: Optional[str] = None) -> None:
        super().__init__(pairs, name)
        self.loss_weight = float(check_number(loss_weight, 'AttentionTransferTerm.loss_weight', 0.0))
        self.p = float(check_number(p, 'AttentionTransferTerm.p', 0.0, low_open=True))
        if mode not in ATTENTION_MODES:
            raise ValueError(f'AttentionTransferTerm.mode must be one of {ATTENTION_MODES}, got {mode!r}')
        self.mode = mode

    def pair_loss(self, student_feat: Tensor, teacher_feat: Tensor, scale: float,
                  mask: Optional[Tensor]) -> Tensor:
        return scale * self.loss_weight * attention_transfer(student_feat, teacher_feat, self.p, self.mode,
                                                             mask).mean()
