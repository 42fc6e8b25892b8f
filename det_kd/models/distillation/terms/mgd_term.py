r"""Masked generative distillation (MGD) as a term: ``alpha_mgd`` times the batch mean of
:func:`~det_kd.models.losses.masked_generative.masked_generative_distance` on each pair of maps, each pair with
its own generator (logged as ``loss_mgd``)."""
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch
from mmdet.registry import MODELS
from mmengine.dist import get_rank
from torch import Tensor, nn

from ....utils.settings import check_number
from ...losses.masked_generative import masked_generative_distance, random_keep_mask
from .base import DistillationInputs
from .feature_term import FeatureDistillationTerm


def mgd_generator(channels: int) -> nn.Sequential:
    """MGD's generation block at the teacher's channels: conv3x3 - ReLU - conv3x3 (PyTorch's default init)."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, kernel_size=3, padding=1))


@MODELS.register_module()
class MGDTerm(FeatureDistillationTerm):
    r"""Masked generative distillation (Yang et al., "Masked Generative Distillation", ECCV 2022) on pairs of
    feature maps.

    Reference: github.com/yzd-v/MGD ``det/mmdet/distillation/losses/mgd.py`` (``FeatureLoss``; MMRazor's
    ``MGDConnector`` + ``MGDLoss`` split the same computation). Per pair, with :math:`f^S` the student map after
    the pair's adapter (the reference's ``align`` 1x1 conv: none between equal channel counts, else a 1x1 conv)
    and :math:`f^T` the teacher map, both ``(N, C, H, W)``:

    .. math::
        L = \alpha_{mgd} \frac{1}{N} \sum_{n,c,h,w} \big(\mathcal G(f^S \odot M)_{nchw} - f^T_{nchw}\big)^2,
        \qquad M_{nhw} = [R_{nhw} \le 1 - \lambda_{mgd}],\ R \sim U[0, 1)

    (the reference zeroes where ``rand > 1 - lambda_mgd``, mgd.py lines 63-64: about a fraction
    :math:`\lambda_{mgd}` of the positions is masked, one draw per sample and position shared by the channels);
    :math:`\mathcal G` is conv3x3 - ReLU - conv3x3 at the teacher's channels, one per pair, trained by this loss
    only (mgd.py lines 35-38, 69). ``loss_mgd`` is the sum over pairs times the distillation schedule. The authors'
    Faster R-CNN config (below) distils P2-P5 (``neck.fpn_convs.0-3``, its lines 11-59); its gradient clipping at
    max norm 35 (line 64) belongs to the run's optimizer, not to this term. The generators are saved under
    ``distill_terms.<name>.generators.*`` (the adapters under ``distill_terms.<name>.adapters.*``);
    ``tools/export_student.py`` drops them.

    The mask's random numbers: the reference draws them from the global CPU stream (``torch.rand``), so a run with
    MGD moves every later random draw of the student (RPN / RoI sampling) against the same run without it. Here each
    step draws from its own CPU ``torch.Generator`` seeded from ``(seed, teacher_index, rank, step count)``: the
    global stream is the baseline's, the masks are reproducible, differ between ranks and steps, and the step count
    is the buffer ``mask_draws`` (with ``mask_seed``), saved in checkpoints so that a resumed run draws the masks
    the uninterrupted run would have drawn. The distribution of the mask is the reference's.

    Args:
        pairs (list[dict]): As ``distill.hints``; a pair without ``adapter`` gets none between equal channel
            counts and a 1x1 conv otherwise (the reference's ``align``).
        alpha_mgd (float): :math:`\alpha_{mgd}`. Defaults to 5e-7, the authors' Faster R-CNN setting (yzd-v/MGD
            ``det/configs/distillers/mgd/cascade_mask_rcnn_rx101_32x4d_distill_faster_rcnn_r50_fpn_2x_coco.py``
            line 6, ``alpha_mgd=0.0000005``; their RetinaNet setting and the class default: 2e-5, mgd.py line
            22). The loss is a sum over channels and positions, so the right weight depends on the maps' size
            (256-channel FPN levels of ~1333x800 images in the reference).
        lambda_mgd (float): :math:`\lambda_{mgd}`, the masked ratio, in ``[0, 1]``. Defaults to 0.45 (same file,
            line 7; RetinaNet and the class default: 0.65, mgd.py line 23).
        seed (int, optional): Seed of the masks. Defaults to None: drawn from the global stream when the term's
            modules are built (inside the distiller's ``fork_rng``, so the run's ``randomness.seed`` decides it
            without moving the student's stream).
        name (str): Defaults to ``'mgd'``.
    """
    default_name = 'mgd'
    default_adapter = None
    pair_label = 'mgd'

    def __init__(self, pairs: Sequence[dict], alpha_mgd: float = 5e-7, lambda_mgd: float = 0.45,
                 seed: Optional[int] = None, name: Optional[str] = None) -> None:
        super().__init__(pairs, name)
        self.alpha_mgd = float(check_number(alpha_mgd, 'MGDTerm.alpha_mgd', 0.0))
        self.lambda_mgd = float(check_number(lambda_mgd, 'MGDTerm.lambda_mgd', 0.0, 1.0))
        if seed is not None:
            check_number(seed, 'MGDTerm.seed', 0, 2**62, integer=True)
        self.seed = seed
        self.generators = nn.ModuleList()
        # The masks' seed and the number of steps drawn so far, in the state dict (a resumed run continues the
        # sequence); python copies are read per step (no device synchronisation).
        self.register_buffer('mask_seed', torch.tensor(seed or 0, dtype=torch.int64))
        self.register_buffer('mask_draws', torch.zeros((), dtype=torch.int64))
        self._mask_seed, self._mask_draws = int(seed or 0), 0
        self._step_rng: Optional[torch.Generator] = None

    def build_pair_modules(self) -> None:
        self.generators = nn.ModuleList(mgd_generator(teacher_channels) for _, teacher_channels in self.pair_channels)
        if self.seed is None:
            self._mask_seed = int(torch.randint(0, 2**62, ()))
            self.mask_seed.fill_(self._mask_seed)

    def mask_rng(self, draw: int) -> torch.Generator:
        """The CPU generator of the masks of step ``draw`` (0-based count of this term's steps)."""
        entropy = [self._mask_seed, int(self.teacher_index), get_rank(), int(draw)]
        seed = int(np.random.SeedSequence(entropy).generate_state(1)[0])
        return torch.Generator().manual_seed(seed)

    def forward(self, inputs: DistillationInputs) -> Dict[str, Tensor]:
        self._step_rng = self.mask_rng(self._mask_draws)
        self._mask_draws += 1
        self.mask_draws.fill_(self._mask_draws)
        try:
            return super().forward(inputs)
        finally:
            self._step_rng = None

    def pair_term(self, index: int, student_feat: Tensor, teacher_feat: Tensor, mask: Optional[Tensor],
                  inputs: DistillationInputs) -> Tensor:
        batch, _, height, width = teacher_feat.shape
        keep = random_keep_mask((batch, 1, height, width), self.lambda_mgd, self._step_rng)
        distance = masked_generative_distance(student_feat, teacher_feat, self.generators[index], keep, mask)
        return inputs.scale * self.alpha_mgd * distance.mean()

    def _load_from_state_dict(self, state_dict: Dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._mask_seed, self._mask_draws = int(self.mask_seed), int(self.mask_draws)

    def extra_repr(self) -> str:
        return f'alpha_mgd={self.alpha_mgd:g}, lambda_mgd={self.lambda_mgd:g}'
