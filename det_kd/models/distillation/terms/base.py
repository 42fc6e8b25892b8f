"""What a distillation term is: a module that declares what it needs and returns its ``loss_*`` entries.

:class:`~det_kd.models.detectors.KDFasterRCNN` builds its terms from ``distill`` (the paper's five from
their own keys, any other from ``distill.terms``), records what the active terms ask for while the student's
own MMDetection loss code runs, runs the teacher only for that, and hands every term one
:class:`DistillationInputs`. A term never runs a model itself.

Writing a term (see ``docs/architecture.md``, "Adding a term"): subclass :class:`DistillationTerm`
(or :class:`~.feature_term.FeatureDistillationTerm` for a term on pairs of feature maps), register it in
``MODELS``, set :attr:`~DistillationTerm.loss_keys`, declare the layers / head outputs it uses and return
``{loss_key: value}`` from ``forward``, multiplied by ``inputs.scale`` (the distillation schedule).
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmdet.registry import MODELS
from mmdet.structures import SampleList
from torch import Tensor, nn

from ..feature_maps import HintLayer  # noqa: F401  (re-exported: a term's layer type)


@dataclass
class RPNOutputs:
    """The two RPNs on the student's anchors (what the student's own RPN loss sampled).

    Attributes:
        student_cls, student_reg: Student RPN maps per level, ``(B, A * c, H, W)`` / ``(B, A * 4, H, W)``.
        teacher_cls, teacher_reg: The teacher's maps on the student's anchor grid.
        valid: None when every student anchor has a teacher output, else per level ``(B * H * W * A,)``
            booleans (anchors outside the teacher's map get no distillation).
        targets: What the student RPN's ``get_targets`` returned
            ``(labels, label_weights, bbox_targets, bbox_weights, avg_factor)``.
        cls_out_channels: 1 (sigmoid objectness) or 2 (softmax).
    """
    student_cls: Sequence[Tensor]
    student_reg: Sequence[Tensor]
    teacher_cls: Sequence[Tensor]
    teacher_reg: Sequence[Tensor]
    valid: Optional[Sequence[Tensor]]
    targets: tuple
    cls_out_channels: int


@dataclass
class RCNOutputs:
    """The two RoI heads on the student's sampled RoIs.

    Attributes:
        student_cls, teacher_cls: ``(N, C + 1)`` logits, background last.
        student_reg, teacher_reg: ``(N, 4 * C)`` (or ``(N, 4)``) deltas.
        targets: ``(labels, label_weights, bbox_targets, bbox_weights)`` of the student's box head.
        num_classes: ``C``.
        class_agnostic: Whether the box head regresses class-agnostic deltas.
        teacher_covered: ``(N,)`` booleans, the RoIs the teacher has class scores for (None: every RoI; a teacher
            known by its detections covers the RoIs that overlap one).
    """
    student_cls: Tensor
    student_reg: Tensor
    teacher_cls: Tensor
    teacher_reg: Optional[Tensor]
    targets: tuple
    num_classes: int
    class_agnostic: bool
    teacher_covered: Optional[Tensor] = None


@dataclass
class DistillationInputs:
    """Everything a term may use on one training step (only what some active term asked for is filled).

    Attributes:
        scale: The distillation-schedule multiplier (``KDFasterRCNN.distill_scale``).
        student_maps, teacher_maps: ``{layer: map}`` for the layers the terms declared (a layer is an int
            index into ``extract_feat``'s outputs or a module path).
        img_shapes: Every sample's ``img_shape`` in the batch's frame, or None.
        samples: The batch's samples (ground truth in the batch's frame; unlabeled images with their pseudo
            labels), or None.
        rpn: :class:`RPNOutputs` when a term uses the RPN.
        rcn: :class:`RCNOutputs` when a term uses the RoI head.
    """
    scale: float
    student_maps: Dict[HintLayer, Tensor] = field(default_factory=dict)
    teacher_maps: Dict[HintLayer, Tensor] = field(default_factory=dict)
    img_shapes: Optional[List[Sequence[int]]] = None
    samples: Optional[SampleList] = None
    rpn: Optional[RPNOutputs] = None
    rcn: Optional[RCNOutputs] = None


class DistillationTerm(nn.Module):
    """Base class of a distillation term.

    Subclasses set :attr:`loss_keys` (the entries ``forward`` returns, each with ``'loss'`` in its name) and
    override what they use:

    - :meth:`student_layers` / :meth:`teacher_layers`: feature maps to record (default: none);
    - :attr:`uses_rpn` / :attr:`uses_rcn`: the RPN outputs on the same anchors / the RoI-head outputs on the
      student's sampled RoIs (the teacher then runs its RPN / RoI head); :attr:`uses_rcn_deltas` False: of the
      RoI head, only the class scores (a teacher known by its detections can give those);
    - :meth:`check_compatibility`: refuse a student / teacher network pair the term cannot compare;
    - :meth:`hard_loss_weights`: weights of the student's own loss entries (a soft term that replaces part
      of the hard loss, as the paper's ``mu``).
    """
    #: The ``loss_*`` keys ``forward`` returns.
    loss_keys: Tuple[str, ...] = ()
    uses_rpn = False
    uses_rcn = False
    uses_rcn_deltas = True
    #: Which teacher network's feature maps the term compares (set on the copies of a feature term made for the
    #: networks of an ensemble after the first; the head terms see the teachers' combined outputs).
    teacher_index = 0

    def student_layers(self) -> List[HintLayer]:
        return []

    def teacher_layers(self) -> List[HintLayer]:
        return []

    def check_compatibility(self, pair: Any) -> None:
        """Raises if this term cannot compare ``pair.student`` with the teacher network ``pair.teacher`` (a
        :class:`~det_kd.models.distillation.teachers.base.NetworkPair`)."""

    def hard_loss_weights(self, scale: float) -> Dict[str, float]:
        """``{student loss key: weight}`` to apply to the student's own losses at schedule ``scale``."""
        return {}

    def forward(self, inputs: DistillationInputs) -> Dict[str, Any]:
        raise NotImplementedError(f'{type(self).__name__} must implement forward(inputs) -> {{loss_key: value}}')


class LossModuleTerm(DistillationTerm):
    """A term that applies one loss module built from its ``loss`` config (the paper's head terms).

    Args:
        loss (dict): The loss config, e.g. ``dict(type='WeightedSoftCrossEntropyLoss', mu=0.5)``.
    """

    def __init__(self, loss: dict) -> None:
        super().__init__()
        self.loss = MODELS.build(loss)
