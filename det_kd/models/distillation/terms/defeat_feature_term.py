r"""DeFeat's decoupled neck imitation as a term: :func:`~det_kd.models.losses.decoupled_features.
decoupled_feature_imitation` on each pair (an FPN level), object and background weighted apart (logged as
``loss_defeat_neck``). The RoI-logit half of DeFeat is :class:`~.defeat_roi_term.DeFeatRoITerm`."""
import math
from typing import Optional, Sequence

import torch
from mmdet.registry import MODELS
from torch import Tensor

from ....utils.settings import check_number
from ...losses.box_masks import map_cell_size, sample_boxes
from ...losses.decoupled_features import DEFEAT_FINEST_SCALE, decoupled_feature_imitation, defeat_object_mask
from .base import DistillationInputs
from .feature_term import FeatureDistillationTerm

#: The reference's adapter init: weights ``normal().fmod(2) * 1e-4`` (a truncated normal of std 1e-4).
DEFEAT_ADAPTER_STD = 1e-4


@MODELS.register_module()
class DeFeatFeatureTerm(FeatureDistillationTerm):
    r"""Distilling Object Detectors via Decoupled Features (Guo et al., CVPR 2021): the neck part.

    Reference: github.com/ggjy/DeFeat.pytorch, ``mmdet/apis/train.py`` (``batch_processor_kd``, the
    ``'neck-decouple'`` branch, lines 299-347) with the mask of ``mmdet/models/dense_heads/anchor_head.py``
    (``get_gt_mask``, lines 262-297, and ``_map_roi_levels``, lines 168-173). Each pair is one pyramid level;
    with :math:`M` the cells of the ground-truth boxes assigned to that level (each box to the level
    :math:`\lfloor \log_2(\sqrt{(w + 1)(h + 1)} / 56) \rfloor`, clipped to the pyramid, as RoIs are), the loss is

    .. math::

        L = \frac{1}{P} \sum_{\text{pairs}} \left( w_{obj} \frac{\sum M (S - T)^2}{\max(1, 2 C \sum M)}
            + w_{bg} \frac{\sum (1 - M) (S - T)^2}{\max(1, 2 C \sum (1 - M))} \right)

    over the whole batch (:mod:`~det_kd.models.losses.decoupled_features`), :math:`S` the student's map after
    the adapter, :math:`P` the number of pairs (the reference divides by the number of levels). A pair's level
    is the entry of ``level_strides`` nearest its map's stride (the padded batch over the map's size); its boxes
    are divided by that nominal stride, as the reference divides by the anchor generator's strides.

    The adapter is a 3x3 conv on every pair (the reference's ``neck_adapt``, built for every level whatever the
    channels, ``mmdet/models/detectors/two_stage_kd.py`` lines 50-62), its weights initialised as there
    (``normal_().fmod_(2).mul_(0.0001)``, line 101; the bias keeps PyTorch's default). With
    ``align='centre'`` the cells the adapter cannot fill are left out of both parts.

    Args:
        pairs (list[dict]): As ``distill.hints``; the reference distils all five FPN outputs,
            ``[dict(student=l, teacher=l) for l in range(5)]``. A pair without ``adapter`` gets a 3x3 conv.
        obj_weight (float): :math:`w_{obj}` (``hint_neck_w``). Defaults to 3.
        bg_weight (float): :math:`w_{bg}` (``hint_neck_back_w``). Defaults to 12.
        level_strides (list[float]): The strides of the pyramid's levels in the batch's pixels, finest first
            (the reference's RPN anchor strides). Defaults to ``(4, 8, 16, 32, 64)``; a single-map detector
            takes e.g. ``(16,)`` (every box on its one map).
        finest_scale (float): The box scale of the finest level. Defaults to 56.
        name (str): Defaults to ``'defeat_neck'``.

    The defaults are the reference's Faster R-CNN R101 -> R50 config
    (``configs/kd_faster_rcnn/voc_stu_faster_rcnn_r50_decouple_neck.py``, lines 6 and 12-13; its only released
    DeFeat config, on VOC).
    """
    default_name = 'defeat_neck'
    default_adapter = 'conv3x3'
    pair_label = 'defeat'

    def __init__(self, pairs: Sequence[dict], obj_weight: float = 3.0, bg_weight: float = 12.0,
                 level_strides: Sequence[float] = (4, 8, 16, 32, 64), finest_scale: float = DEFEAT_FINEST_SCALE,
                 name: Optional[str] = None) -> None:
        super().__init__(pairs, name)
        self.obj_weight = float(check_number(obj_weight, 'DeFeatFeatureTerm.obj_weight', 0.0))
        self.bg_weight = float(check_number(bg_weight, 'DeFeatFeatureTerm.bg_weight', 0.0))
        if isinstance(level_strides, (int, float)) or not level_strides:
            raise ValueError(f'DeFeatFeatureTerm.level_strides must be a list of strides, finest first, got '
                             f'{level_strides!r}')
        self.level_strides = tuple(
            float(check_number(s, f'DeFeatFeatureTerm.level_strides[{i}]', 0.0, low_open=True))
            for i, s in enumerate(level_strides))
        if list(self.level_strides) != sorted(set(self.level_strides)):
            raise ValueError(f'DeFeatFeatureTerm.level_strides must increase, got {list(level_strides)}')
        self.finest_scale = float(check_number(finest_scale, 'DeFeatFeatureTerm.finest_scale', 0.0, low_open=True))

    def build_pair_modules(self) -> None:
        """Initialises the conv adapters as the reference's ``neck_adapt``."""
        with torch.no_grad():
            for adapter in self.adapters:
                weight = getattr(adapter.conv, 'weight', None)
                if weight is not None:
                    weight.normal_().fmod_(2).mul_(DEFEAT_ADAPTER_STD)

    def pair_level(self, index: int, cell_size: Sequence[float]) -> int:
        """The level of ``level_strides`` whose stride is nearest (in log scale) the map's measured cell size."""
        measured = math.log2(math.sqrt(cell_size[0] * cell_size[1]))
        distances = [abs(math.log2(stride) - measured) for stride in self.level_strides]
        level = min(range(len(distances)), key=distances.__getitem__)
        if distances[level] > 0.5:
            raise ValueError(f'{self.pair_name(index)}: the map\'s stride is {2 ** measured:.3g} pixels, none of '
                             f'level_strides {list(self.level_strides)}; give the pyramid\'s strides (e.g. (16,) '
                             'for a single stride-16 map)')
        return level

    def pair_term(self, index: int, student_feat: Tensor, teacher_feat: Tensor, mask: Optional[Tensor],
                  inputs: DistillationInputs) -> Tensor:
        samples = self.ground_truth(inputs, 'object masks')
        map_size = teacher_feat.shape[-2:]
        levels = {self.pair_level(index, map_cell_size(sample.metainfo, map_size)) for sample in samples}
        if len(levels) != 1:
            raise ValueError(f'{self.pair_name(index)}: the samples of the batch put the map on different levels '
                             f'{sorted(levels)}')
        boxes = [sample_boxes(sample).to(teacher_feat.device) for sample in samples]
        objects = defeat_object_mask(boxes, map_size, levels.pop(), self.level_strides, self.finest_scale)
        obj, bg = decoupled_feature_imitation(student_feat, teacher_feat, objects, mask)
        return inputs.scale * (self.obj_weight * obj + self.bg_weight * bg) / len(self.pairs)
