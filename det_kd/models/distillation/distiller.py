"""The distiller: records what the terms declared while the student's own loss runs, asks the teacher for the
rest, hands every term one :class:`~.terms.DistillationInputs` and scales by the distillation schedule.

It owns no network: the student is the detector that calls it, the teacher a
:class:`~.teachers.base.TeacherKind`. The path of one batch is in ``docs/architecture.md``.
"""
import contextlib
import dataclasses
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
from mmdet.structures import SampleList
from torch import Tensor, nn

from ...datasets.unlabeled_images import unlabeled_indices
from .covered_roi_weighting import CoveredRoIWeighting
from .feature_maps import HintLayer, extract_maps, unique_layers
from .hard_loss_mask import HardLossMask
from .student_record import StudentRecord
from .teachers.base import TeacherKind, TeacherOutputs, TeacherRequest
from .term_config import build_terms
from .terms import DistillationInputs, FeatureDistillationTerm, RCNOutputs, RPNOutputs
from .training_set import warn_if_unchecked
from .unlabeled import with_pseudo_labels

#: The student's loss that a soft RoI classification term weighs per RoI when the teacher covers only some RoIs.
ROI_CLASSIFICATION_LOSS = 'loss_cls'


@dataclasses.dataclass
class DistillationStep:
    """One training step: the batch (as the data preprocessor made it, with pseudo labels), the schedule's scale
    and, once the student's loss ran, its record."""
    inputs: Tensor
    samples: SampleList
    scale: float
    record: Optional[StudentRecord] = None


class Distiller:
    """Builds the terms from ``distill`` (see :mod:`.term_config`) and wires them to the student and the teacher.

    Args:
        student (nn.Module): The student detector (``diagnostics_probe``, when it holds one, measures each step).
        teacher (TeacherKind): The teacher.
        distill (dict): ``KDFasterRCNN.distill`` merged with its defaults.
        probe_size (int): Side of the zero image the feature terms' adapters are built on.
        pseudo_label_thr (float, optional): Unlabeled images get the teacher's detections scoring at least this as
            their ground truth; None: none, and the student's hard losses leave them out (soft only).
    """

    def __init__(self, student: nn.Module, teacher: TeacherKind, distill: dict, probe_size: int,
                 pseudo_label_thr: Optional[float]) -> None:
        self.student = student
        self.teacher = teacher
        self.pseudo_label_thr = pseudo_label_thr
        #: Whether the start-up checks against the training set ran (:mod:`.training_set`).
        self.checked_before_training = False
        sources = teacher.feature_sources()
        #: The active terms by name, in the order their losses are added.
        self.terms = build_terms(distill, sources)
        #: Feature source index -> its share of the feature terms' losses (with several sources).
        self.feature_weights = {source.index: source.weight for source in sources} if len(sources) > 1 else None
        for name, term in self.terms.items():
            teacher.check_term(term, f'KDFasterRCNN.distill: term {name!r}')
        if self.feature_terms:
            with torch.random.fork_rng(devices=[]):  # adapters do not shift the student's random stream
                teacher.build_adapters(self.feature_terms, torch.zeros(1, 3, probe_size, probe_size))

    # ------------------------------------------------------------------ what the terms declared
    @property
    def feature_terms(self) -> List[FeatureDistillationTerm]:
        """The terms on pairs of feature maps (the hint, AT, CWD, PKD...)."""
        return [term for term in self.terms.values() if isinstance(term, FeatureDistillationTerm)]

    @property
    def student_layers(self) -> List[HintLayer]:
        """The student layers the terms compare, each once."""
        return unique_layers([layer for term in self.terms.values() for layer in term.student_layers()])

    def teacher_layers(self, index: int) -> List[HintLayer]:
        """The layers of feature source ``index`` that its terms compare, each once."""
        return unique_layers([layer for term in self.terms.values() if term.teacher_index == index
                              for layer in term.teacher_layers()])

    @property
    def uses_rpn(self) -> bool:
        return any(term.uses_rpn for term in self.terms.values())

    @property
    def uses_rcn(self) -> bool:
        return any(term.uses_rcn for term in self.terms.values())

    @property
    def loss_keys(self) -> Tuple[str, ...]:
        """The ``loss_*`` entries the terms add (each once: a feature term's copies share their key)."""
        return tuple(dict.fromkeys(key for term in self.terms.values() for key in term.loss_keys))

    def temperature(self, name: str) -> float:
        """The temperature of the soft classification term ``name`` (1 when it is off)."""
        term = self.terms[name] if name in self.terms else None
        return float(getattr(term.loss, 'T', 1.0)) if term is not None else 1.0

    # ------------------------------------------------------------------ one step
    def step(self, inputs: Tensor, samples: SampleList, scale: float) -> DistillationStep:
        """A training step on this batch at the schedule's ``scale``, unlabeled images with their pseudo labels."""
        if not self.checked_before_training:
            warn_if_unchecked(self)
        return DistillationStep(inputs, with_pseudo_labels(self.teacher, inputs, samples, self.pseudo_label_thr),
                                scale)

    @contextlib.contextmanager
    def recording(self, step: DistillationStep) -> Iterator[DistillationStep]:
        """Within the block (around the student's own loss), records what the terms declared into ``step.record``
        and leaves out of the hard losses what the distillation replaces: the unlabeled images when they have no
        pseudo labels, and per RoI the covered share of the classification loss."""
        student = self.student
        step.record = StudentRecord(student, self.student_layers, self.uses_rpn, self.uses_rcn)
        with contextlib.ExitStack() as stack:
            stack.enter_context(step.record)
            if self.pseudo_label_thr is None:  # soft only: no hard loss on unlabeled images
                unlabeled = unlabeled_indices(step.samples)
                if unlabeled:
                    stack.enter_context(HardLossMask(student, unlabeled))  # after the recorder: it sees all
            weight = self._per_roi_weight(step.scale)
            if weight is not None:
                coverage = lambda rois: self.teacher.rcn_coverage(rois, step.samples)  # noqa: E731
                stack.enter_context(CoveredRoIWeighting(student.roi_head.bbox_head, coverage, weight))
            yield step

    def losses(self, step: DistillationStep, losses: Dict[str, Any]) -> Dict[str, Any]:
        """The student's own ``losses`` weighed as the terms say, plus every term's."""
        self._scale_hard_losses(losses, step.scale)
        if step.scale == 0.0 or not self.terms:  # distillation off (early stop, or pseudo labels only)
            losses.update(self._zero_losses())
            return losses
        record = step.record
        request = self.teacher_request(step.inputs, step.samples, record)
        rpn, rcn_call = record.rpn_outputs, record.rcn_call
        answer = self.teacher.forward(request)
        inputs = self._inputs(step, record.maps, answer)
        if rpn is not None:
            teacher_cls, teacher_reg, valid = answer.rpn
            inputs.rpn = RPNOutputs(rpn[0], rpn[1], teacher_cls, teacher_reg, valid, record.rpn_targets,
                                    self.student.rpn_head.cls_out_channels)
        if rcn_call is not None:
            bbox_head = self.student.roi_head.bbox_head
            inputs.rcn = RCNOutputs(rcn_call.kwargs['cls_score'], rcn_call.kwargs['bbox_pred'], answer.rcn_cls,
                                    answer.rcn_reg, request.rcn_targets, bbox_head.num_classes,
                                    bbox_head.reg_class_agnostic, answer.rcn_covered)
        losses.update(self._term_losses(self.terms.values(), inputs, answer))
        probe = getattr(self.student, 'diagnostics_probe', None)
        if probe is not None:  # DistillationDiagnosticsHook measures this step
            probe.measure(losses, inputs)
        return losses

    def teacher_request(self, inputs: Tensor, samples: SampleList, record: StudentRecord) -> TeacherRequest:
        """What the teacher must answer for a batch whose student step ``record`` holds."""
        request = TeacherRequest(inputs, samples, self._all_teacher_layers())
        if record.rpn_outputs is not None:
            request.student_rpn_cls, request.rpn_targets = record.rpn_outputs[0], record.rpn_targets
            request.rpn_temperature = self.temperature('rpn_cls')
        if record.rcn_call is not None:
            request.rois, request.rcn_targets = record.rcn_call.kwargs['rois'], record.rcn_call.result['bbox_targets']
            request.rcn_temperature = self.temperature('rcn_cls')
        return request

    def feature_losses(self, step: DistillationStep) -> Dict[str, Any]:
        """FitNets stage 1: only the feature terms, on the student's features (no head, no hard loss)."""
        terms = self.feature_terms
        if not terms:
            raise ValueError('FitNets stage 1 (hint_stage) needs a feature term (distill.loss_hint or a term on '
                             'feature pairs in distill.terms)')
        student_inputs, _ = self.student.student_view(step.inputs, step.samples)
        layers = self.student_layers
        _, maps = extract_maps(self.student, layers, student_inputs, 'student')
        answer = self.teacher.forward(TeacherRequest(step.inputs, step.samples, self._all_teacher_layers()))
        return self._term_losses(terms, self._inputs(step, dict(zip(layers, maps)), answer), answer)

    # ------------------------------------------------------------------ helpers
    def _all_teacher_layers(self) -> List[List[HintLayer]]:
        count = max([term.teacher_index for term in self.terms.values()], default=0) + 1
        return [self.teacher_layers(index) for index in range(count)]

    @staticmethod
    def _inputs(step: DistillationStep, student_maps: dict, answer: TeacherOutputs) -> DistillationInputs:
        samples = step.samples
        img_shapes = ([sample.metainfo['img_shape'] for sample in samples]
                      if samples and all('img_shape' in sample.metainfo for sample in samples) else None)
        return DistillationInputs(scale=step.scale, student_maps=student_maps,
                                  teacher_maps=answer.maps[0] if answer.maps else {}, img_shapes=img_shapes,
                                  samples=samples)

    def _term_losses(self, terms, inputs: DistillationInputs, answer: TeacherOutputs) -> Dict[str, Any]:
        """Every term's losses; with several feature sources, each feature term's copies (each on its source's
        maps) sum to the weighted loss under the term's key. The head terms see the teacher's combined outputs."""
        losses: Dict[str, Any] = {}
        for term in terms:
            index = term.teacher_index
            term_inputs = inputs if index == 0 else dataclasses.replace(inputs, teacher_maps=answer.maps[index])
            if self.feature_weights is None or not isinstance(term, FeatureDistillationTerm):
                losses.update(term(term_inputs))
                continue
            for key, value in term(term_inputs).items():
                weighted = self.feature_weights[index] * value
                losses[key] = losses[key] + weighted if key in losses else weighted
        return losses

    def _per_roi_weight(self, scale: float) -> Optional[float]:
        """The weight of the covered RoIs' classification loss when the teacher covers only some RoIs."""
        if self.teacher.covers_every_roi:
            return None
        weights = [term.hard_loss_weights(scale) for term in self.terms.values()]
        found = [w[ROI_CLASSIFICATION_LOSS] for w in weights if ROI_CLASSIFICATION_LOSS in w]
        return found[0] if found else None

    def _scale_hard_losses(self, losses: dict, scale: float) -> None:
        """The student's own losses times the terms' :meth:`~.terms.DistillationTerm.hard_loss_weights` (the
        soft classification terms give their hard loss ``1 - (1 - mu) * scale``, ``mu`` at full distillation);
        a per-RoI weight is applied inside the student's loss instead (:meth:`recording`)."""
        per_roi = not self.teacher.covers_every_roi
        for term in self.terms.values():
            for key, weight in term.hard_loss_weights(scale).items():
                if key not in losses or (per_roi and key == ROI_CLASSIFICATION_LOSS):
                    continue
                value = losses[key]
                losses[key] = [v * weight for v in value] if isinstance(value, (list, tuple)) else value * weight

    def _zero_losses(self) -> dict:
        """The terms' keys at zero, keeping their parameters in the graph (DDP needs every parameter)."""
        zero = sum((p.sum() for p in self.terms.parameters()), torch.zeros(())) * 0.0
        return {key: zero for key in self.loss_keys}
