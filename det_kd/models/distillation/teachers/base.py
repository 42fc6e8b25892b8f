"""What a teacher kind is: given a training batch and what the student sampled, the outputs the terms declared.

The distiller never looks inside a teacher. It hands a teacher kind one :class:`TeacherRequest` per step (the
batch, the teacher layers each feature source must give, the student's RPN maps and anchor targets when an RPN
term is on, the student's sampled RoIs when a RoI term is on) and gets one :class:`TeacherOutputs` back, on the
student's anchors and RoIs. A kind says at build time what it can give (:attr:`TeacherKind.provides`), so a term
that needs more is refused before training, naming the term and what is missing.

A new kind (a teacher whose outputs are cached on disk, a teacher of another architecture...) is one file: a
registered subclass of :class:`TeacherKind`, chosen with ``teacher=dict(type='MyTeacher', ...)`` in the
config (see ``docs/architecture.md``).
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmdet.structures import SampleList
from torch import Tensor, nn

from ..box_checks import DroppedBoxes
from ..feature_maps import HintLayer, layer_users, probe_maps, unique_layers
from ..receptive_field import Geometry, feature_geometry
from ..student_view import rescale_batch

#: What a kind may give the terms.
OUTPUTS = {
    'maps': 'feature maps',
    'rpn': "RPN outputs on the student's anchors",
    'rcn_cls': "class scores on the student's RoIs",
    'rcn_reg': "box deltas on the student's RoIs",
}


@dataclass
class TeacherContext:
    """What a kind knows of the student it teaches (set by the distiller at build time).

    Attributes:
        student: The student detector.
        student_input_scale: The student sees the batch resized by this factor.
        rpn_align: ``'grid'`` or ``'resample'`` (``distill.rpn_align``).
        ensemble_reg: ``'mean'`` or ``'best'`` (``distill.ensemble_reg``).
    """
    student: nn.Module
    student_input_scale: float = 1.0
    rpn_align: str = 'grid'
    ensemble_reg: str = 'mean'


@dataclass
class FeatureSource:
    """A network whose feature maps the feature terms compare with the student's (each term gets one copy per
    source). ``pairs``: the source's own pairs instead of the terms' (None: the terms' pairs); ``weight``: its
    share of the feature terms' losses (the shares sum to 1)."""
    index: int
    weight: float
    name: str
    pairs: Optional[Sequence[dict]] = None


@dataclass
class TeacherRequest:
    """What one training step asks of the teacher.

    Attributes:
        inputs, samples: The batch as the data preprocessor made it (the student may see it resized).
        layers: Per feature source, the teacher layers the terms compare.
        student_rpn_cls: The student's RPN objectness maps per level (an RPN term is on), else None.
        rpn_targets: What the student RPN's ``get_targets`` returned (an RPN term is on).
        rois: The student's sampled RoIs ``(N, 5)`` in the student's frame (a RoI term is on), else None.
        rcn_targets: What the student's box head sampled for them (``labels, label_weights, bbox_targets, ...``).
        rpn_temperature, rcn_temperature: The temperature the soft terms read class scores at (several teachers'
            probabilities are combined at it).
    """
    inputs: Tensor
    samples: SampleList
    layers: List[List[HintLayer]] = field(default_factory=list)
    student_rpn_cls: Optional[List[Tensor]] = None
    rpn_targets: Optional[tuple] = None
    rois: Optional[Tensor] = None
    rcn_targets: Optional[tuple] = None
    rpn_temperature: float = 1.0
    rcn_temperature: float = 1.0


@dataclass
class TeacherOutputs:
    """The teacher's answer, on the student's anchors and RoIs.

    Attributes:
        maps: Per feature source, ``{layer: map}``.
        rpn: ``(cls maps, reg maps, valid)`` per level on the student's anchor grid (``valid``: None, or per level
            ``(B * H * W * A,)`` booleans marking the anchors the teacher covers).
        rcn_cls, rcn_reg: ``(N, C + 1)`` logits and ``(N, 4 C)`` deltas on the student's RoIs.
        rcn_covered: ``(N,)`` booleans: the RoIs the teacher has class scores for (None: all of them).
    """
    maps: List[Dict[HintLayer, Tensor]] = field(default_factory=list)
    rpn: Optional[Tuple[List[Tensor], List[Tensor], Optional[List[Tensor]]]] = None
    rcn_cls: Optional[Tensor] = None
    rcn_reg: Optional[Tensor] = None
    rcn_covered: Optional[Tensor] = None


class TeacherKind:
    """Base class of a teacher kind.

    Subclasses set :attr:`provides` and implement :meth:`forward`; a kind made of networks also lists them in
    :meth:`networks` (they follow the student's device and stay in eval mode), gives :meth:`feature_sources`,
    checks each term against its networks in :meth:`check_term` and may read its maps for the feature terms'
    adapters in :meth:`probe_teacher_maps`; a kind that can label images implements :meth:`detections`.

    Args:
        context (TeacherContext): The student it teaches.
        name (str): How errors name it. Defaults to ``'KDFasterRCNN.teacher'``.
    """
    #: The keys of :data:`OUTPUTS` this kind can give.
    provides = frozenset(OUTPUTS)
    #: Whether every RoI gets class scores (False: :meth:`rcn_coverage` says which do).
    covers_every_roi = True
    #: The teacher sees the batch resized by this factor.
    input_scale = 1.0

    def __init__(self, context: TeacherContext, name: str = 'KDFasterRCNN.teacher') -> None:
        self.context = context
        self.name = name
        #: The boxes of its detections dropped on the way to ground truth / soft targets (under one pixel).
        self.dropped_boxes = DroppedBoxes(name)

    def networks(self) -> List[nn.Module]:
        """The teacher detectors (none for a kind that runs no network)."""
        return []

    def feature_sources(self) -> List[FeatureSource]:
        """The networks whose maps the feature terms compare (none: feature terms are refused)."""
        return []

    def class_names(self) -> Dict[str, Tuple[str, ...]]:
        """The class names the teacher was trained on, by where they are recorded (``"<name>.config 'x.py'"``,
        ``.checkpoint``, ``.results``...); ``{}``: unknown. Compared with the student's at start-up."""
        return {}

    def label_classes(self) -> Dict[str, int]:
        """How many classes the class scores / labels of each of its networks or files have, by its name
        (``{}``: unknown). Pseudo labels need the student's count."""
        return {}

    def check_training_images(self, images: Sequence[Any], uses_rcn: bool,
                              pseudo_label_thr: Optional[float]) -> List[str]:
        """At start-up, checks the kind against the training images (``TrainingImage``, see
        :mod:`..training_set`): whether it can answer for each; returns warnings to log. Default: nothing."""
        return []

    def check_training_pipeline(self, dataset: Any) -> List[str]:
        """At start-up, checks the kind against the training dataset's pipelines (a cache refuses random
        transforms its key cannot capture); returns warnings to log. Default: nothing."""
        return []

    def check_term(self, term: nn.Module, where: str) -> None:
        """Raises if ``term`` needs an output this kind cannot give (names ``where`` and the output)."""
        missing = [OUTPUTS[key] for key in needed_outputs(term) if key not in self.provides]
        if missing:
            raise ValueError(f'{where}: {type(term).__name__} needs the teacher\'s {" and ".join(missing)}; '
                             f'{self.name} ({type(self).__name__}) has none')

    @property
    def resolution_ratio(self) -> float:
        """Teacher pixels per student pixel (the teacher sees the batch at ``input_scale``)."""
        return self.input_scale / self.context.student_input_scale

    def build_adapters(self, terms: Sequence[nn.Module], probe: Tensor) -> None:
        """Builds the adapters of the feature terms (each compares the student with the source of its
        ``teacher_index``) from the maps both sides give on ``probe``, a zero image in the batch's frame (channel
        counts are read there). With ``align='centre'`` each side's receptive-field geometry is the pair's given
        one or measured (:meth:`teacher_geometry`), converted to the batch's pixels."""
        student, scale = self.context.student, self.context.student_input_scale
        for source in self.feature_sources():
            chosen = [term for term in terms if term.teacher_index == source.index]
            if not chosen:
                continue
            student_layers = unique_layers([layer for term in chosen for layer in term.student_layers()])
            teacher_layers = unique_layers([layer for term in chosen for layer in term.teacher_layers()])
            student_maps = dict(zip(student_layers, probe_maps(student, student_layers,
                                                               rescale_batch(probe, [], scale)[0], 'student',
                                                               layer_users(chosen, 'student'))))
            teacher_maps = self.probe_teacher_maps(source.index, teacher_layers, probe, layer_users(chosen, 'teacher'))
            measure = lambda owner, layer: (self.teacher_geometry(layer) if owner == 'teacher'  # noqa: E731
                                            else feature_geometry(student, layer, 'student'))
            for term in chosen:
                term.build_adapters(student_maps, teacher_maps, measure,
                                    dict(student=scale, teacher=self.input_scale), self.resolution_ratio)

    def probe_teacher_maps(self, index: int, layers: List[HintLayer], probe: Tensor,
                           users: Optional[Dict[HintLayer, str]] = None) -> Dict[HintLayer, Tensor]:
        """``{layer: map}`` of feature source ``index`` on ``probe`` (default: what :meth:`forward` answers);
        ``users``: the terms that read each layer, for errors."""
        request = TeacherRequest(probe, [], [layers if i == index else [] for i in range(index + 1)])
        return self.forward(request).maps[index]

    def teacher_geometry(self, layer: HintLayer) -> Geometry:
        """The receptive-field geometry of a teacher layer, for ``align='centre'`` pairs that give none."""
        raise ValueError(f"{self.name}: align='centre' needs the pair's teacher_geometry=(stride, offset): a "
                         f'{type(self).__name__} has no network to measure')

    def forward(self, request: TeacherRequest) -> TeacherOutputs:
        raise NotImplementedError(f'{type(self).__name__} must implement forward(request) -> TeacherOutputs')

    def rcn_coverage(self, rois: Tensor, samples: SampleList) -> Optional[Tensor]:
        """``(N,)`` booleans: the RoIs the teacher will have class scores for; None: every RoI."""
        return None

    def detections(self, inputs: Tensor, samples: SampleList,
                   indices: Sequence[int]) -> List[Tuple[Tensor, Tensor, Tensor]]:
        """``(boxes, scores, labels)`` of the samples at ``indices``, boxes in the batch's frame."""
        raise NotImplementedError(f'{self.name} ({type(self).__name__}) cannot label images')


def needed_outputs(term: nn.Module) -> List[str]:
    """The keys of :data:`OUTPUTS` a term reads (from what it declared)."""
    needed = ['maps'] if term.teacher_layers() else []
    if term.uses_rpn:
        needed.append('rpn')
    if term.uses_rcn:
        needed += ['rcn_cls', 'rcn_reg'] if term.uses_rcn_deltas else ['rcn_cls']
    return needed


@dataclass
class NetworkPair:
    """The student and one teacher network, as a term's ``check_compatibility`` sees them.

    Attributes:
        student, teacher: The two detectors.
        teacher_resolution_ratio: Teacher pixels per student pixel.
        rpn_align: ``'grid'`` or ``'resample'``.
    """
    student: nn.Module
    teacher: nn.Module
    teacher_resolution_ratio: float
    rpn_align: str
