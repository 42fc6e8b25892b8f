"""Faster R-CNN student distilled from a teacher (Chen et al., NeurIPS 2017): the student's own loss, then the
distiller's."""
from typing import Any, List, Optional, Tuple

from mmdet.models.detectors import TwoStageDetector
from mmdet.registry import MODELS
from mmdet.structures import OptSampleList, SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor, nn

from ...utils.settings import check_number
from ..distillation.distiller import Distiller
from ..distillation.student_view import rescale_batch
from ..distillation.teachers import TeacherContext, build_teacher_kind
from ..distillation.term_config import PAPER_DISTILL_DEFAULTS, merge_distill_defaults  # noqa: F401  (re-exported)
from ..distillation.terms import FeatureDistillationTerm

#: State-dict prefixes that exist only for distillation; ``tools/export_student.py`` drops them
#: (``distill_adapters.`` is where checkpoints saved before the terms became modules keep the hint adapters).
DISTILLATION_ONLY_PREFIXES = ('distill_terms.', 'distill_adapters.')

#: Where checkpoints saved before the terms became modules keep the hint adapters, and where they are now.
LEGACY_ADAPTER_PREFIX, HINT_ADAPTER_PREFIX = 'distill_adapters.', 'distill_terms.hint.adapters.'


@MODELS.register_module()
class KDFasterRCNN(TwoStageDetector):
    r"""A two-stage student trained with its own loss plus distillation terms from a frozen teacher.

    The paper's terms by default: :math:`L = L_{RPN} + L_{RCN} + \gamma L_{hint}` where each head's
    classification loss becomes :math:`\mu L_{hard} + (1 - \mu) L_{soft}` and its regression loss
    :math:`L_{sL1} + \nu L_b`; any other term from ``distill.terms`` (``docs/terms.md``).

    The student is this detector itself (its config fields are the plain student's), so the student's own
    MMDetection loss code runs unchanged; a :class:`~det_kd.models.distillation.distiller.Distiller` records
    what the terms use while it runs (the student's maps, the anchors its RPN sampled, the RoIs its RoI head
    sampled), asks the teacher for the rest on the same anchors and RoIs, and adds the terms' losses. With every
    distillation weight at zero a step equals the plain student's. How a batch flows: ``docs/architecture.md``.

    The teacher is a teacher kind (:mod:`det_kd.models.distillation.teachers`) kept outside the module tree: its
    networks are not in ``state_dict()``, ``parameters()``, the optimizer or the DDP wrapper, stay in eval mode,
    get no gradient and follow the student's device and dtype. Checkpoints load into the plain student config.

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg, data_preprocessor, init_cfg: The student, as for
            :class:`mmdet.models.TwoStageDetector`.
        teacher (dict | list[dict]): A trained detector (``config``, ``checkpoint``, ``input_scale``,
            ``renormalize``: :class:`~det_kd.models.distillation.teachers.NetworkTeacher`), a list of them (an
            ensemble, each with a ``weight`` and, after the first, ``hints``:
            :class:`~det_kd.models.distillation.teachers.TeacherEnsemble`), a results file of detections
            (``results``, ``iou_thr``: :class:`~det_kd.models.distillation.teachers.TeacherDetections`) or
            ``dict(type=<a registered teacher kind>, ...)``.
        distill (dict, optional): Overrides of :data:`PAPER_DISTILL_DEFAULTS`: ``hints``, ``loss_hint``,
            ``rpn_cls``, ``rpn_reg``, ``rcn_cls``, ``rcn_reg`` (None switches a term off), ``terms`` (more terms),
            ``rpn_align`` (``'grid'`` | ``'resample'``), ``ensemble_reg`` (``'mean'`` | ``'best'``),
            ``probe_size``. Every key is explained in ``docs/terms.md``.
        student_input_scale (float): The student sees every batch resized by this factor, the teacher the batch
            as the pipeline made it (the paper's Table 2: a pipeline at 688 px and 0.5). Ground truth, image
            shapes and scale factors follow; predictions come back in original image coordinates. Defaults to 1.
        pseudo_label_thr (float, optional): Samples marked ``unlabeled`` get the teacher's detections scoring at
            least this as their ground truth; None: none ("soft only": the student's hard losses leave them out,
            the distillation terms keep them). Defaults to 0.5.
    """

    def __init__(self,
                 backbone: ConfigType,
                 rpn_head: ConfigType,
                 roi_head: ConfigType,
                 train_cfg: ConfigType,
                 test_cfg: ConfigType,
                 teacher: ConfigType,
                 distill: OptConfigType = None,
                 neck: OptConfigType = None,
                 student_input_scale: float = 1.0,
                 pseudo_label_thr: Optional[float] = 0.5,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            rpn_head=rpn_head,
            roi_head=roi_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.student_input_scale = float(check_number(student_input_scale, 'KDFasterRCNN.student_input_scale',
                                                      0.0, low_open=True))
        if pseudo_label_thr is not None:
            pseudo_label_thr = float(check_number(pseudo_label_thr, 'KDFasterRCNN.pseudo_label_thr', 0.0, 1.0))
        distill = merge_distill_defaults(distill)
        probe_size = check_number(distill['probe_size'], 'KDFasterRCNN.distill.probe_size', 16, 4096, integer=True)
        context = TeacherContext(self, self.student_input_scale, distill['rpn_align'], distill['ensemble_reg'])
        distiller = Distiller(self, build_teacher_kind(teacher, context), distill, probe_size, pseudo_label_thr)
        # A plain attribute: the distiller (and the teacher networks it holds) stay outside the module tree.
        object.__setattr__(self, 'distiller', distiller)
        #: The active distillation terms by name (registered here: their adapters train and are saved).
        self.distill_terms = distiller.terms
        #: Multiplier of every distillation term, set by ``DistillationScheduleHook``. 1 = the configured weights.
        self.distill_scale = 1.0
        #: Open :class:`~det_kd.models.distillation.DistillationProbe` (set by it): ``loss()`` measures then.
        self.diagnostics_probe = None
        #: FitNets stage 1 (set by ``FitNetsStagesHook``): ``loss()`` returns only the feature terms.
        self.hint_stage = False
        self._register_load_state_dict_pre_hook(self._rename_legacy_keys)

    # ------------------------------------------------------------------ training
    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """The student's own losses (on :meth:`student_view` of the batch) plus every term's."""
        step = self.distiller.step(batch_inputs, batch_data_samples, float(self.distill_scale))
        if self.hint_stage:
            return self.distiller.feature_losses(step)
        with self.distiller.recording(step):
            losses = super().loss(*self.student_view(step.inputs, step.samples))
        return self.distiller.losses(step, losses)

    # ------------------------------------------------------------------ the student at its resolution
    def student_view(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> Tuple[Tensor, SampleList]:
        """The batch as the student sees it: resized by ``student_input_scale`` (unchanged at 1)."""
        return rescale_batch(batch_inputs, batch_data_samples, self.student_input_scale)

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList, rescale: bool = True) -> SampleList:
        """The student's predictions at its own resolution, in original image coordinates."""
        return super().predict(*self.student_view(batch_inputs, batch_data_samples), rescale=rescale)

    def _forward(self, batch_inputs: Tensor, batch_data_samples: OptSampleList = None) -> tuple:
        """The student's raw head outputs at its own resolution."""
        if batch_data_samples is None:
            return super()._forward(rescale_batch(batch_inputs, [], self.student_input_scale)[0])
        return super()._forward(*self.student_view(batch_inputs, batch_data_samples))

    # ------------------------------------------------------------------ what hooks and tools read
    @property
    def teachers(self) -> List[nn.Module]:
        """The teacher networks (none for a teacher known only by its detections)."""
        distiller = self.__dict__.get('distiller')
        return distiller.teacher.networks() if distiller is not None else []

    @property
    def teacher(self) -> Optional[nn.Module]:
        """The first teacher network (None if the teacher runs none)."""
        teachers = self.teachers
        return teachers[0] if teachers else None

    @property
    def pseudo_label_thr(self) -> Optional[float]:
        """The score from which the teacher's detections label unlabeled images (None: soft only)."""
        return self.distiller.pseudo_label_thr

    @pseudo_label_thr.setter
    def pseudo_label_thr(self, value: Optional[float]) -> None:
        self.distiller.pseudo_label_thr = value

    @property
    def distillation_loss_keys(self) -> Tuple[str, ...]:
        """The ``loss_*`` entries the terms add to the student's losses."""
        return self.distiller.loss_keys

    @property
    def feature_terms(self) -> List[FeatureDistillationTerm]:
        """The terms on pairs of feature maps (FitNets' stage 1 trains with these alone)."""
        return self.distiller.feature_terms

    # ------------------------------------------------------------------ the teacher networks follow the student
    def _apply(self, fn, *args, **kwargs):
        """Moves / casts the teachers with the student (``to``, ``cuda``, ``cpu``, ``half``...)."""
        for teacher in self.teachers:
            teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def _set_device(self, device) -> None:
        """Tells the teachers' data preprocessors where they now live, as mmengine does for the student's
        (``TeacherEvaluationHook`` runs a teacher's ``val_step``)."""
        for teacher in self.teachers:
            teacher._set_device(device)
        super()._set_device(device)

    def train(self, mode: bool = True) -> 'KDFasterRCNN':
        """Sets the student's mode; the teachers always stay in eval mode."""
        super().train(mode)
        for teacher in self.teachers:
            teacher.eval()
        return self

    @staticmethod
    def _rename_legacy_keys(state_dict: dict, prefix: str, *args: Any) -> None:
        """Loads a checkpoint saved before the terms became modules: ``distill_adapters.*`` are the hint term's
        adapters."""
        legacy = prefix + LEGACY_ADAPTER_PREFIX
        for key in [k for k in state_dict if k.startswith(legacy)]:
            state_dict[prefix + HINT_ADAPTER_PREFIX + key[len(legacy):]] = state_dict.pop(key)
