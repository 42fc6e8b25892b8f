r"""FGD (focal and global distillation) as a term: :func:`~det_kd.models.losses.focal_global_distillation.fgd_losses`
on each pair of maps, with the ground truth of the batch and one pair of GcBlocks per pair (logged as
``loss_fgd``)."""
from typing import Optional, Sequence

from mmdet.registry import MODELS
from torch import Tensor, nn

from ....utils.settings import check_number
from ...losses.box_masks import map_cell_size, sample_boxes
from ...losses.focal_global_distillation import FGDContextBlock, fgd_losses, fgd_masks
from .base import DistillationInputs
from .feature_term import FeatureDistillationTerm


@MODELS.register_module()
class FGDTerm(FeatureDistillationTerm):
    r"""Focal and Global Knowledge Distillation for Detectors (Yang et al., CVPR 2022) on pairs of feature maps.

    Reference: github.com/yzd-v/FGD ``mmdet/distillation/losses/fgd.py`` (``FeatureLoss``; also MMRazor's
    ``mmrazor/models/losses/fgd_loss.py``, ``FGDLoss``). Per pair, with the student's map adapted to the
    teacher's (:mod:`~det_kd.models.losses.focal_global_distillation` has the formulas):

    .. math::

        L = \alpha L_{fg} + \beta L_{bg} + \gamma L_{at} + \lambda L_{rela},

    each part summed over the map and averaged over the batch, as the reference; the term is the sum over the
    pairs (the reference logs one loss per FPN level, which the runner sums). The masks come from the ground
    truth in ``inputs.samples``; each pair has its own learnable GcBlocks (``context_blocks[i].student`` /
    ``.teacher``: ``conv_mask`` and ``channel_add``, the reference's ``conv_mask_s/_t`` and
    ``channel_add_conv_s/_t``, initialised as there). No gradient flows into the teacher's map; the teacher's
    GcBlock learns, as in the reference.

    Where this differs from the reference:

    - the boxes are put on a map with the map's cell size in the padded batch (``batch_input_shape`` / map
      size): the reference divides by the unpadded ``img_shape``, which stretches the boxes over the padding of a
      padded image (identical when an image fills the batch);
    - the channel alignment is the term's adapter (the reference's ``align`` 1x1 conv, built only when the
      channels differ, is exactly ``default_adapter=None``);
    - ``align='centre'`` pairs are refused (FGD's attention and context are softmaxes over every cell of the
      map);
    - the student starts from its own initialisation: the reference's Faster R-CNN config sets
      ``init_student = True`` (copy the teacher's weights into the student's layers of the same shape: neck
      outputs, RPN, RoI head), which its README says MMDetection >= 2.12 overwrites in ``init_weights()`` unless
      patched, so it is unclear whether its published numbers had it; det_kd has no such option (a student can
      start from any checkpoint with ``load_from``).

    Args:
        pairs (list[dict]): As ``distill.hints``; a pair without ``adapter`` gets none between equal channel
            counts and a 1x1 conv otherwise. The reference distils the FPN outputs P2-P5
            (``neck.fpn_convs.0-3.conv``), i.e. ``[dict(student=l, teacher=l) for l in range(4)]``.
        temp (float): Attention temperature. Defaults to 0.5.
        alpha_fgd (float): Weight of the foreground loss. Defaults to 5e-5.
        beta_fgd (float): Weight of the background loss. Defaults to 2.5e-5.
        gamma_fgd (float): Weight of the attention loss. Defaults to 5e-5.
        lambda_fgd (float): Weight of the relation (global) loss. Defaults to 5e-7.
        name (str): Defaults to ``'fgd'``.

    The defaults are the reference's Faster R-CNN R101 -> R50 FPN setting
    (``configs/distillers/fgd/fgd_faster_rcnn_r101_fpn_2x_distill_faster_rcnn_r50_fpn_2x_coco.py``, lines 7-11,
    the same in its Mask R-CNN and Cascade -> Faster R-CNN configs); ``FeatureLoss``'s own defaults
    (1e-3 / 5e-4 / 1e-3 / 5e-6, fgd.py lines 27-30) are for one-stage detectors (its RetinaNet configs: 1e-3 /
    5e-4 / 5e-4 / 5e-6).
    """
    default_name = 'fgd'
    default_adapter = None
    pair_label = 'fgd'

    def __init__(self, pairs: Sequence[dict], temp: float = 0.5, alpha_fgd: float = 5e-5, beta_fgd: float = 2.5e-5,
                 gamma_fgd: float = 5e-5, lambda_fgd: float = 5e-7, name: Optional[str] = None) -> None:
        super().__init__(pairs, name)
        self.temp = float(check_number(temp, 'FGDTerm.temp', 0.0, low_open=True))
        self.alpha_fgd = float(check_number(alpha_fgd, 'FGDTerm.alpha_fgd', 0.0))
        self.beta_fgd = float(check_number(beta_fgd, 'FGDTerm.beta_fgd', 0.0))
        self.gamma_fgd = float(check_number(gamma_fgd, 'FGDTerm.gamma_fgd', 0.0))
        self.lambda_fgd = float(check_number(lambda_fgd, 'FGDTerm.lambda_fgd', 0.0))
        for index, pair in enumerate(self.pairs):
            if pair.get('align') == 'centre':
                raise ValueError(f"{self.pair_name(index)}: align='centre' leaves cells without a student value, "
                                 "but FGD's attention and context are softmaxes over every cell; use align='pad' "
                                 "or 'resample'")
        #: Per pair, ``ModuleDict(student=FGDContextBlock, teacher=FGDContextBlock)`` (built with the adapters).
        self.context_blocks = nn.ModuleList()

    def build_pair_modules(self) -> None:
        self.context_blocks = nn.ModuleList(
            nn.ModuleDict(dict(student=FGDContextBlock(channels), teacher=FGDContextBlock(channels)))
            for _, channels in self.pair_channels)

    def pair_term(self, index: int, student_feat: Tensor, teacher_feat: Tensor, mask: Optional[Tensor],
                  inputs: DistillationInputs) -> Tensor:
        samples = self.ground_truth(inputs, 'foreground masks')
        map_size = teacher_feat.shape[-2:]
        boxes = [sample_boxes(sample).to(teacher_feat.device) for sample in samples]
        cell_sizes = [map_cell_size(sample.metainfo, map_size) for sample in samples]
        fg, bg = fgd_masks(boxes, map_size, cell_sizes)
        blocks = self.context_blocks[index]
        parts = fgd_losses(student_feat, teacher_feat, fg, bg, self.temp, blocks['student'], blocks['teacher'])
        total = (self.alpha_fgd * parts['fg'] + self.beta_fgd * parts['bg'] + self.gamma_fgd * parts['attention'] +
                 self.lambda_fgd * parts['relation'])
        return inputs.scale * total.mean()
