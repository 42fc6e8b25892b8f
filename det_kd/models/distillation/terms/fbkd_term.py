r"""FBKD (Zhang & Ma, ICLR 2021) as a term: the weighted sum of
:func:`~det_kd.models.losses.fbkd.fbkd_losses` on each pair of maps, each pair with its own adaptations and a
non-local block on each side (logged as ``loss_fbkd``)."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn

from ....utils.settings import check_number
from ...losses.fbkd import fbkd_losses
from .base import DistillationInputs
from .feature_term import FeatureDistillationTerm


class NonLocalBlock(nn.Module):
    r"""Dot-product non-local block (Wang et al., 2018) with max-pooled keys and values, as FBKD uses it.

    :math:`z = x + \mathrm{BN}(W y)`, :math:`y_i = \frac{1}{|P|} \sum_{j \in P} (\theta x_i \cdot \phi x_j)\, g x_j`
    where :math:`\theta, \phi, g` are 1x1 convs to ``channels // reduction`` channels and :math:`\phi x, g x` are
    max-pooled over ``stride x stride`` windows (the positions :math:`P`). Initialised as MMCV's ``NonLocal2d``
    (MMRazor's ``NonLocal2dMaxpoolNstride``): :math:`\theta, \phi, g` normal (std 0.01, zero bias), :math:`W`
    Kaiming normal (fan out) without bias, the BN's weight and bias 0 (the block starts as the identity).

    A map smaller than ``stride`` on a side is pooled over its whole side (the reference raises there).

    Args:
        channels (int): Input (and output) channels.
        reduction (int): ``channels // reduction`` inner channels (at least 1). Defaults to 2.
        stride (int): Max-pooling window and stride of the keys and values (1: none). Defaults to 4 (MMRazor's
            connector default: see :class:`FBKDTerm`'s ``maxpool_stride``).
    """

    def __init__(self, channels: int, reduction: int = 2, stride: int = 4) -> None:
        super().__init__()
        self.stride = int(stride)
        inner = max(channels // int(reduction), 1)
        self.theta = nn.Conv2d(channels, inner, kernel_size=1)
        self.phi = nn.Conv2d(channels, inner, kernel_size=1)
        self.g = nn.Conv2d(channels, inner, kernel_size=1)
        self.conv_out = nn.Conv2d(inner, channels, kernel_size=1, bias=False)
        self.norm = nn.BatchNorm2d(channels)
        for conv in (self.theta, self.phi, self.g):
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)
        nn.init.kaiming_normal_(self.conv_out.weight, mode='fan_out', nonlinearity='relu')
        nn.init.zeros_(self.norm.weight)
        nn.init.zeros_(self.norm.bias)

    def _pool(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            return x
        height, width = x.shape[-2:]
        return F.max_pool2d(x, kernel_size=(min(self.stride, height), min(self.stride, width)))

    def forward(self, x: Tensor) -> Tensor:
        batch, _, height, width = x.shape
        queries = self.theta(x).flatten(2).transpose(1, 2)  # (N, HW, c)
        keys = self._pool(self.phi(x)).flatten(2)  # (N, c, P)
        values = self._pool(self.g(x)).flatten(2).transpose(1, 2)  # (N, P, c)
        affinity = torch.matmul(queries, keys) / keys.shape[-1]
        y = torch.matmul(affinity, values).transpose(1, 2).reshape(batch, -1, height, width)
        return x + self.norm(self.conv_out(y))

    def extra_repr(self) -> str:
        return f'stride={self.stride}'


def per_pair(value: Union[int, Sequence[int]], count: int, name: str) -> List[int]:
    """An integer >= 1 for every pair: one for all, or one per pair."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * count
    if len(values) != count:
        raise ValueError(f'{name}: {len(values)} values for {count} pairs (give one, or one per pair)')
    return [int(check_number(v, name, 1, integer=True)) for v in values]


@MODELS.register_module()
class FBKDTerm(FeatureDistillationTerm):
    r"""FBKD (Zhang & Ma, "Improve Object Detection with Feature-based Knowledge Distillation: Towards Accurate
    and Efficient Detectors", ICLR 2021) on pairs of feature maps.

    References: MMRazor ``mmrazor/models/losses/fbkd_loss.py`` (``FBKDLoss``),
    ``mmrazor/models/architectures/connectors/fbkd_connector.py`` (``FBKDStudentConnector`` /
    ``FBKDTeacherConnector``) and ``configs/distill/mmdet/fbkd/fbkd_fpn_faster-rcnn_r101_faster-rcnn_r50_1x_coco.py``
    (R101 -> R50 Faster R-CNN, COCO 37.4 -> 39.3), a reproduction of the authors' code (their supplementary
    material; github ArchipLab-LinfengZhang/Object-Detection-Knowledge-Distillation-ICLR2021 holds only a README).
    Per pair, with :math:`F^S` (``Cs`` channels) and :math:`F^T` (``Ct``) the two maps (see
    :mod:`det_kd.models.losses.fbkd` for the parts):

    .. math::
        L = w \big(\alpha \sqrt{\textstyle\sum (F^T - a(F^S))^2 \bar A_s}
            + \beta_c \|\bar F^T_{hw} - l(\bar F^S_{hw})\|_2 + \beta_s \|\bar F^T_c - k(\bar F^S_c)\|_2
            + \gamma \|b(\mathrm{NL}^S(F^S)) - \mathrm{NL}^T(F^T)\|_2\big)

    summed over the batch (one scalar per pair, the reference's ``torch.dist``), :math:`\bar A_s` the mean of the
    two maps' spatial attentions (temperature ``spatial_T``, no gradient), bars over a subscript the mean over it.
    Per pair the term owns (saved under ``distill_terms.<name>.pair_modules.<i>.*``, dropped by
    ``tools/export_student.py``; names as MMRazor's): ``adaptation_layers`` :math:`a` (1x1 conv ``Cs -> Ct``),
    ``channel_wise_adaptation`` :math:`l` (linear ``Cs -> Ct``), ``spatial_wise_adaptation`` :math:`k` (3x3 conv,
    1 channel), ``student_non_local`` :math:`\mathrm{NL}^S` and ``teacher_non_local`` :math:`\mathrm{NL}^T`
    (:class:`NonLocalBlock`; the teacher's is learnable too and trains on the non-local loss, as in the reference)
    and ``non_local_adaptation`` :math:`b` (1x1 conv ``Cs -> Ct``). The adaptations bridge different channel
    counts, so a pair gets no adapter by default (the attention and the non-local block see the student's own map).

    Differences from the paper (the term follows the code): the paper's feature loss is a squared error weighted
    by the spatial and the channel attention (``channel_mask=True`` adds the channel attention, which the code
    computes and leaves out: fbkd_loss.py line 97); its attention loss is an L1 loss between the two maps'
    attentions, where the code compares the channel- and spatially-pooled maps through the adaptations
    :math:`l, k`; the code's losses are L2 norms, not squared sums.

    Differences from the references: MMRazor's config distils P2-P5 (config lines 21-31, as the FPN configs here);
    the authors' code (as public ports of it show) loops over all five neck outputs, P6 too with P5's non-local
    settings (add a fifth pair for that). The non-local blocks start as MMRazor's (MMCV's init); the authors' code
    kept PyTorch's default init for :math:`\theta, \phi, g, W`; both zero the BN, so each block starts as the
    identity. A map smaller than the pooling stride is pooled over its whole side instead of failing.

    Args:
        pairs (list[dict]): As ``distill.hints``; ``adapter`` defaults to ``'none'`` (the two maps may have
            different channel counts); ``align='centre'`` is refused (the losses pool over every position).
        feature_weight (float): :math:`\alpha`. Defaults to 7e-5 (``FBKDLoss.mask_l2_weight``, fbkd_loss.py
            line 60; the authors' ``kd_feat_loss`` weight).
        channel_weight (float): :math:`\beta_c`. Defaults to 4e-3 (line 61).
        spatial_weight (float): :math:`\beta_s`. Defaults to 4e-3 (line 62).
        nonlocal_weight (float): :math:`\gamma`. Defaults to 7e-5 (line 63, ``nonloacl_weight``).
        loss_weight (float): :math:`w`. Defaults to 1.0 (line 64).
        spatial_T (float): Temperature of the spatial attention. Defaults to 0.5 (fbkd_connector.py lines 112
            and 238).
        channel_T (float): Temperature of the channel attention (used only with ``channel_mask``). Defaults to 0.5
            (lines 113 and 239).
        reduction (int | list[int]): Non-local inner channels ``C // reduction``, one for all pairs or one per
            pair. Defaults to 2 (the connectors' default, line 105); MMRazor's FPN config gives 4, 4, 2, 2 on
            P2-P5 (config lines 38-85: ``reduction=4`` at lines 41 and 55, the default on P4, P5).
        maxpool_stride (int | list[int]): The non-local keys' and values' max-pooling window, one or one per
            pair: the window MMRazor's connector pools over in effect, twice its ``maxpool_stride``: its
            ``NonLocal2dMaxpoolNstride`` passes ``sub_sample=True`` to MMCV's ``NonLocal2d``, which max-pools
            :math:`\phi, g` by 2, and wraps them in ``MaxPool2d(maxpool_stride)`` again (fbkd_connector.py lines
            61-69; MMRazor pooled once before 2022-08-26, its released FBKD checkpoint is from 2022-08-30). Two
            non-overlapping poolings by 2 and s are one by 2s (``floor(floor(H / 2) / s) = floor(H / 2s)``).
            Defaults to 4 (the connector's 2, line 110); the FPN config's 8, 4, 2, 2 on P2-P5 (lines 44 and 58,
            the default on P4, P5) are 16, 8, 4, 4 here.
        channel_mask (bool): Weigh the feature loss by the channel attention too (the paper's formula; needs equal
            channels). Defaults to False (the code).
        name (str): Defaults to ``'fbkd'``.
    """
    default_name = 'fbkd'
    default_adapter = 'none'
    needs_equal_channels = False
    pair_label = 'fbkd'

    def __init__(self, pairs: Sequence[dict], feature_weight: float = 7e-5, channel_weight: float = 4e-3,
                 spatial_weight: float = 4e-3, nonlocal_weight: float = 7e-5, loss_weight: float = 1.0,
                 spatial_T: float = 0.5, channel_T: float = 0.5, reduction: Union[int, Sequence[int]] = 2,
                 maxpool_stride: Union[int, Sequence[int]] = 4, channel_mask: bool = False,
                 name: Optional[str] = None) -> None:
        super().__init__(pairs, name)
        for index, pair in enumerate(self.pairs):
            if pair.get('align') == 'centre':
                raise ValueError(f'{self.pair_name(index)}: FBKDTerm pools and relates every position; '
                                 "align='centre' (a mask of compared cells) is not supported: use 'pad' or 'resample'")
        self.weights = {
            part: float(check_number(weight, f'FBKDTerm.{part}_weight', 0.0))
            for part, weight in (('feature', feature_weight), ('channel', channel_weight),
                                 ('spatial', spatial_weight), ('nonlocal', nonlocal_weight))
        }
        self.loss_weight = float(check_number(loss_weight, 'FBKDTerm.loss_weight', 0.0))
        self.spatial_T = float(check_number(spatial_T, 'FBKDTerm.spatial_T', 0.0, low_open=True))
        self.channel_T = float(check_number(channel_T, 'FBKDTerm.channel_T', 0.0, low_open=True))
        self.reductions = per_pair(reduction, len(self.pairs), 'FBKDTerm.reduction')
        self.strides = per_pair(maxpool_stride, len(self.pairs), 'FBKDTerm.maxpool_stride')
        if not isinstance(channel_mask, bool):
            raise TypeError(f'FBKDTerm.channel_mask must be True or False, got {channel_mask!r}')
        self.channel_mask = channel_mask
        self.pair_modules = nn.ModuleList()

    def build_pair_modules(self) -> None:
        modules = []
        for index, ((student, teacher), reduction, stride) in enumerate(
                zip(self.pair_channels, self.reductions, self.strides)):
            if self.channel_mask and student != teacher:
                raise ValueError(f'{self.pair_name(index)}: channel_mask=True averages the two channel attentions '
                                 f'and needs equal channels, got {student} vs {teacher} (give the pair '
                                 "adapter='conv1x1')")
            modules.append(
                nn.ModuleDict(
                    dict(adaptation_layers=nn.Conv2d(student, teacher, kernel_size=1),
                         channel_wise_adaptation=nn.Linear(student, teacher),
                         spatial_wise_adaptation=nn.Conv2d(1, 1, kernel_size=3, padding=1),
                         student_non_local=NonLocalBlock(student, reduction, stride),
                         non_local_adaptation=nn.Conv2d(student, teacher, kernel_size=1),
                         teacher_non_local=NonLocalBlock(teacher, reduction, stride))))
        self.pair_modules = nn.ModuleList(modules)

    def pair_term(self, index: int, student_feat: Tensor, teacher_feat: Tensor, mask: Optional[Tensor],
                  inputs: DistillationInputs) -> Tensor:
        modules = self.pair_modules[index]
        teacher_feat = teacher_feat.detach()
        parts = fbkd_losses(student_feat, teacher_feat, modules['student_non_local'](student_feat),
                            modules['teacher_non_local'](teacher_feat), modules['adaptation_layers'],
                            modules['channel_wise_adaptation'], modules['spatial_wise_adaptation'],
                            modules['non_local_adaptation'], self.spatial_T, self.channel_T, self.channel_mask)
        total = sum(self.weights[part] * value for part, value in parts.items())
        return inputs.scale * self.loss_weight * total

    def extra_repr(self) -> str:
        weights = ', '.join(f'{part}_weight={weight:g}' for part, weight in self.weights.items())
        return (f'{weights}, loss_weight={self.loss_weight:g}, spatial_T={self.spatial_T:g}, '
                f'channel_T={self.channel_T:g}, channel_mask={self.channel_mask}')
