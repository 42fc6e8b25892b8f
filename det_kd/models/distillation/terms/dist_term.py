r"""DIST (Huang et al., NeurIPS 2022) on the RoI head's class logits of the student's sampled RoIs: ``loss_weight``
times :func:`~det_kd.models.losses.dist_loss.dist_loss` of the student's and the teacher's logits on those RoIs
(logged as ``loss_dist``)."""
from typing import Any, Dict, Optional

from mmdet.registry import MODELS
from torch import Tensor

from ....utils.settings import check_number, check_temperature
from ...losses.dist_loss import dist_loss
from .base import DistillationInputs, DistillationTerm
from .feature_term import check_term_name
from .rcn_terms import check_rcn_pairing


@MODELS.register_module()
class DISTTerm(DistillationTerm):
    """DIST's inter- and intra-class relations between the student's and the teacher's RoI class scores.

    The rows are the student's sampled RoIs of the whole batch (those with a label weight > 0; with a teacher
    that covers only some RoIs, such as one known by its detections, only the covered ones), the columns the
    ``C + 1`` classes (background last), as the DIST authors' Faster R-CNN setting (``fc_cls`` of the student's
    and the teacher's box heads on the student's sampled RoIs). Reads only the teacher's class scores, so a
    teacher known by its detections can teach it; leaves the student's own losses as they are. A step without a
    row gives 0.

    Defaults are the DIST authors' detection config (MMRazor has no DIST detection config): ``hunto/MasKD``
    ``mmrazor/configs/distill/dist/dist_cascade_mask_rcnn_x101-fpn_x50_coco.py`` lines 337-341 (``beta=1``,
    ``gamma=1``, ``loss_weight=1``; its ``DIST`` loss, ``mmrazor/mmrazor/models/losses/dist_kd.py`` lines 43-44,
    has no temperature, i.e. ``tau = 1``), linked from ``hunto/DIST_KD`` ``README.md`` line 113.

    A network teacher hands its raw logits. A teacher known by its detections (and an ensemble) hands logits at
    the temperature of the paper's ``rcn_cls`` term (1 when that term is off, or at its default): with
    ``rcn_cls`` on at ``T != 1`` DIST would read the teacher's probabilities at ``T / tau`` rather than
    ``1 / tau``.

    Args:
        loss_weight (float): Defaults to 1.0.
        tau (float): Temperature of both softmaxes (the loss is multiplied by ``tau ** 2``). Defaults to 1.0.
        inter_weight (float): ``beta``, weight of the inter-class relation (per RoI, across classes). Defaults
            to 1.0.
        intra_weight (float): ``gamma``, weight of the intra-class relation (per class, across RoIs). Defaults
            to 1.0.
        name (str): The loss key is ``loss_<name>``. Defaults to ``'dist'``.
    """
    default_name = 'dist'
    uses_rcn = True
    uses_rcn_deltas = False

    def __init__(self, loss_weight: float = 1.0, tau: float = 1.0, inter_weight: float = 1.0,
                 intra_weight: float = 1.0, name: Optional[str] = None) -> None:
        super().__init__()
        self.name = check_term_name(name or self.default_name, type(self).__name__)
        self.loss_keys = (f'loss_{self.name}', )
        self.loss_weight = float(check_number(loss_weight, 'DISTTerm.loss_weight', 0.0))
        self.tau = float(check_temperature(tau, 'DISTTerm.tau'))
        self.inter_weight = float(check_number(inter_weight, 'DISTTerm.inter_weight', 0.0))
        self.intra_weight = float(check_number(intra_weight, 'DISTTerm.intra_weight', 0.0))

    def check_compatibility(self, pair: Any) -> None:
        check_rcn_pairing(pair)

    def forward(self, inputs: DistillationInputs) -> Dict[str, Tensor]:
        rcn = inputs.rcn
        rows = rcn.targets[1] > 0
        if rcn.teacher_covered is not None:
            rows = rows & rcn.teacher_covered.to(device=rows.device, dtype=bool)
        loss = dist_loss(rcn.student_cls[rows], rcn.teacher_cls[rows], self.tau, self.inter_weight,
                         self.intra_weight)
        return {self.loss_keys[0]: inputs.scale * self.loss_weight * loss}

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, tau={self.tau}, inter_weight={self.inter_weight}, '
                f'intra_weight={self.intra_weight}')
