"""Faster R-CNN student distilled from a frozen teacher (Chen et al., NeurIPS 2017)."""
import contextlib
import copy
import dataclasses
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.ops import batched_nms
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmdet.models.detectors import TwoStageDetector
from mmdet.registry import MODELS
from mmdet.structures import OptSampleList, SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from ...datasets.unlabeled_images import unlabeled_indices
from ..distillation.hard_loss_mask import HardLossMask
from ..distillation.hint_pairs import HINT_PAIR_KEYS, check_hint_pairs  # noqa: F401  (HINT_PAIR_KEYS re-exported)
from ..distillation.receptive_field import feature_geometry
from ..distillation.recorders import MethodCallRecorder, ModuleOutputRecorder
from ..distillation.resolution import rescale_batch
from ..distillation.teacher import build_teacher, naming_errors, teacher_names, teacher_specs
from ..distillation.teacher_ensemble import (REGRESSION_MODES, check_weights, ensemble_rcn_deltas,
                                             ensemble_rpn_deltas, ensemble_rpn_scores, mean_deltas,
                                             mean_probability_logits)
from ..distillation.terms import (DistillationInputs, DistillationTerm, FeatureDistillationTerm, RCNOutputs,
                                  RPNOutputs)
from ..distillation.terms.base import HintLayer
from ..distillation.terms.feature_term import check_term_name
from ...utils.settings import check_number

#: State-dict prefixes that exist only for distillation; ``tools/export_student.py`` drops them
#: (``distill_adapters.`` is where checkpoints saved before the terms became modules keep the hint adapters).
DISTILLATION_ONLY_PREFIXES = ('distill_terms.', 'distill_adapters.')

#: Where checkpoints saved before the terms became modules keep the hint adapters, and where they are now.
LEGACY_ADAPTER_PREFIX, HINT_ADAPTER_PREFIX = 'distill_adapters.', 'distill_terms.hint.adapters.'

#: The paper's terms: ``distill`` key -> (term name in ``distill_terms``, term type).
PAPER_TERMS = {
    'loss_hint': ('hint', 'HintTerm'),
    'rpn_cls': ('rpn_cls', 'RPNSoftClassTerm'),
    'rpn_reg': ('rpn_reg', 'RPNBoundedRegressionTerm'),
    'rcn_cls': ('rcn_cls', 'RCNSoftClassTerm'),
    'rcn_reg': ('rcn_reg', 'RCNBoundedRegressionTerm'),
}

#: The paper's defaults: lambda = 1 (the heads' own loss weights), gamma = 0.5, nu = 0.5, w_bg = 1.5,
#: T = 1, mu = 0.5 (not given), m = 0 (not given). Set a term to None to switch it off.
PAPER_DISTILL_DEFAULTS = dict(
    hints=[dict(student=0, teacher=0, adapter='conv1x1', align='pad')],
    loss_hint=dict(type='HintLoss', mode='l2', loss_weight=0.5),
    rpn_cls=dict(type='WeightedSoftCrossEntropyLoss', mu=0.5, bg_weight=1.5, T=1.0),
    rpn_reg=dict(type='TeacherBoundedRegressionLoss', nu=0.5, margin=0.0, mode='bounded'),
    rcn_cls=dict(type='WeightedSoftCrossEntropyLoss', mu=0.5, bg_weight=1.5, T=1.0),
    rcn_reg=dict(type='TeacherBoundedRegressionLoss', nu=0.5, margin=0.0, mode='bounded'),
    terms=[],
    probe_size=128)


@MODELS.register_module()
class KDFasterRCNN(TwoStageDetector):
    r"""A two-stage student trained with hint, soft-classification and teacher-bounded regression losses.

    :math:`L = L_{RPN} + L_{RCN} + \gamma L_{hint}` where each head's classification loss becomes
    :math:`\mu L_{hard} + (1 - \mu) L_{soft}` and its regression loss :math:`L_{sL1} + \nu L_b`.

    The student is this detector itself (its config fields are the plain student's), so the student's
    own MMDetection loss code runs unchanged and the distillation terms are added on the samples it drew:
    the RPN terms on the anchors the student's RPN sampled, the RCN terms on the student's sampled RoIs,
    which the teacher's RoI head also classifies and regresses. With every distillation weight at zero a
    training step equals the plain student's.

    The teacher is kept outside the module tree: it is not in ``state_dict()``, ``parameters()``, the
    optimizer or the DDP wrapper, ``init_weights()`` never reaches it, it stays in eval mode, gets no
    gradient and follows the student's device and dtype.

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg, data_preprocessor, init_cfg: The student,
            as for :class:`mmdet.models.TwoStageDetector`.
        teacher (dict | list[dict]): ``config`` (path, ``package::path`` or inline dict), ``checkpoint``
            (required unless ``allow_random_init=True``), ``input_scale`` (the teacher sees the student's batch
            resized by this factor; RoIs are scaled alike. Defaults to 1.0) and ``renormalize`` (re-normalise
            the student's batch with the teacher's own ``data_preprocessor`` mean / std / channel order.
            Defaults to True). A list of such dicts is an ensemble (Hinton et al.), each with an optional
            ``weight`` (default 1, normalised to sum to 1) and, after the first, optional ``hints`` (its own
            feature pairs; ``[]``: no feature term compares the student with this teacher, it teaches through
            the head terms only): the head terms compare the student with the weighted mean of the teachers'
            probabilities (handed to them as logits, see :mod:`~det_kd.models.distillation.teacher_ensemble`)
            and their deltas combined as ``distill.ensemble_reg`` says; every feature term gets one copy and
            adapters per teacher (``<name>_teacher<k>`` in :attr:`distill_terms`) and logs the weighted sum
            over the teachers it compares with (their weights renormalised to sum to 1) under its usual key.
            A list of one is the single teacher, bit for bit.
            :attr:`teacher` is the first teacher (inside :meth:`using_teacher`, the chosen one).
        distill (dict, optional): Overrides of :data:`PAPER_DISTILL_DEFAULTS`:

            - ``hints``: list of pairs ``dict(student=..., teacher=..., adapter='conv1x1', align='pad')``
              where a layer is a module path (``'backbone.features.28'``) or an int index into
              ``extract_feat``'s outputs; ``adapter`` in ``'conv1x1' | 'conv3x3' | 'none'``; ``align`` in
              ``'pad' | 'resample' | 'strict' | 'centre'`` (see :class:`HintAdapter`; ``'centre'`` pairs the
              cells centred at the same image point and drops the teacher cells the student map does not
              cover or that lie on the batch padding, optionally with ``student_geometry`` /
              ``teacher_geometry=(stride, offset)`` instead of the measured receptive-field geometry).
            - ``loss_hint``, ``rpn_cls``, ``rpn_reg``, ``rcn_cls``, ``rcn_reg``: loss configs, or None.
              They become the terms ``hint`` (:class:`~det_kd.models.distillation.terms.HintTerm` on
              ``hints``), ``rpn_cls``, ``rpn_reg``, ``rcn_cls`` and ``rcn_reg`` of :attr:`distill_terms`.
            - ``terms``: more terms, each a config of a registered
              :class:`~det_kd.models.distillation.terms.DistillationTerm` (e.g.
              ``dict(type='AttentionTransferTerm', pairs=[dict(student=0, teacher=0)], loss_weight=1000.)``),
              optionally with a ``name`` (its key in :attr:`distill_terms`; feature terms log
              ``loss_<name>``).
            - ``rpn_align``: ``'grid'`` (default: the two anchor grids coincide; maps that differ in extent
              by backbone padding are compared on the positions both have, anchors outside the teacher's
              map get no distillation; a teacher at r times the student's resolution, r an integer, pairs
              student position (i, j) with its (r i, r j) and needs anchors r times larger) or
              ``'resample'`` (teacher RPN maps resampled bilinearly to the student's grid).
            - ``probe_size``: side of the zero image used at build time to read channel counts.
            - ``ensemble_reg``: with several teachers, the deltas the bounded regression terms compare
              against: ``'mean'`` (default: the weighted mean of the teachers' deltas) or ``'best'`` (per
              anchor / RoI, the teacher whose deltas are closest to the ground truth).
        student_input_scale (float): The student sees every batch resized by this factor, the teacher the
            batch as the pipeline made it (x ``teacher.input_scale``): the paper's Table 2 setting, a
            teacher at 688 px and the same architecture as student at 344 px, is a pipeline at 688 px and
            ``student_input_scale=0.5``. Ground truth, image shapes and scale factors follow (see
            :func:`rescale_batch`), predictions come back in original image coordinates, the teacher's RoI
            head gets the student's RoIs scaled to its resolution. The exported student is tested with its
            own config at the low resolution. Defaults to 1.0.
        pseudo_label_thr (float, optional): Samples marked ``unlabeled`` (``UnlabeledImageDataset``) get the
            teachers' detections scoring at least this as their ground truth (see :meth:`with_pseudo_labels`).
            None: "soft only", they get no ground truth and the student's hard RPN and RoI losses leave them out
            (:class:`~det_kd.models.distillation.hard_loss_mask.HardLossMask`), so only the distillation terms
            learn from them (the bounded regression terms, which need ground truth, do not). Defaults to 0.5.
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
        specs = teacher_specs(teacher)
        self._teacher_names = teacher_names(specs, isinstance(teacher, (list, tuple)))
        teachers = []
        for spec, name in zip(specs, self._teacher_names):
            with naming_errors(name if len(specs) > 1 else None):
                teachers.append(build_teacher(spec.config, spec.get('checkpoint'), spec.get('allow_random_init', False)))
        # Plain list attribute: the teachers stay outside the module tree (see the class docstring).
        object.__setattr__(self, 'teachers', teachers)
        #: The teachers' weights, normalised to sum to 1.
        self.teacher_weights = check_weights([spec.get('weight', 1.0) for spec in specs], 'KDFasterRCNN.teacher')
        self.student_input_scale = float(check_number(student_input_scale, 'KDFasterRCNN.student_input_scale',
                                                      0.0, low_open=True))
        self._teacher_input_scales = [
            float(check_number(spec.get('input_scale', 1.0), f'{name}.input_scale', 0.0, low_open=True))
            for spec, name in zip(specs, self._teacher_names)]
        self._teacher_renormalize = [bool(spec.get('renormalize', True)) for spec in specs]
        #: Index of the teacher that ``teacher``, ``teacher_input_scale``... refer to (see :meth:`using_teacher`).
        self._active_teacher = 0
        self._renormalize_flags = []
        for index, name in enumerate(self._teacher_names):
            with self.using_teacher(index), naming_errors(name if len(specs) > 1 else None):
                self._renormalize_flags.append(self._teacher_needs_renormalization())
        #: Multiplier of every distillation term, set by ``DistillationScheduleHook``. 1 = paper's weights.
        self.distill_scale = 1.0
        #: Open :class:`~det_kd.models.distillation.DistillationProbe` (set by it): ``loss()`` measures then.
        self.diagnostics_probe = None
        #: FitNets stage 1 (set by ``FitNetsStagesHook``): ``loss()`` returns only the feature terms.
        self.hint_stage = False
        #: Teacher detections scoring at least this are the ground truth of ``unlabeled`` images (None: none,
        #: and no hard loss on them).
        self.pseudo_label_thr = None if pseudo_label_thr is None else float(
            check_number(pseudo_label_thr, 'KDFasterRCNN.pseudo_label_thr', 0.0, 1.0))

        distill = self._merge_distill_defaults(distill)
        self.rpn_align = distill['rpn_align']
        if distill['ensemble_reg'] not in REGRESSION_MODES:
            raise ValueError(f'KDFasterRCNN.distill.ensemble_reg must be one of {REGRESSION_MODES}, got '
                             f"{distill['ensemble_reg']!r}")
        self.ensemble_reg = distill['ensemble_reg']
        #: The active distillation terms by name, in the order their losses are added; with several teachers
        #: each feature term has one copy per teacher (``<name>_teacher<k>``, see :meth:`_build_terms`).
        self.distill_terms = self._build_terms(distill, specs)
        for index, name in enumerate(self._teacher_names):
            with self.using_teacher(index), naming_errors(name if len(specs) > 1 else None):
                for term in self.distill_terms.values():
                    term.check_compatibility(self)
        probe_size = check_number(distill['probe_size'], 'KDFasterRCNN.distill.probe_size', 16, 4096, integer=True)
        with torch.random.fork_rng(devices=[]):  # adapters do not shift the student's random stream
            self._build_adapters(probe_size)
        self._register_load_state_dict_pre_hook(self._rename_legacy_keys)

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _merge_distill_defaults(distill: OptConfigType) -> dict:
        merged = copy.deepcopy(PAPER_DISTILL_DEFAULTS)
        merged['rpn_align'] = 'grid'
        merged['ensemble_reg'] = 'mean'
        for key, value in dict(distill or {}).items():
            if key not in merged:
                raise KeyError(f'KDFasterRCNN.distill: unknown key {key!r} (known: {sorted(merged)})')
            if isinstance(value, dict) and isinstance(merged[key], dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        if merged['rpn_align'] not in ('grid', 'resample'):
            raise ValueError(f"KDFasterRCNN.distill.rpn_align must be 'grid' or 'resample', got "
                             f"{merged['rpn_align']!r}")
        return merged

    @staticmethod
    def _build_term(cfg: Any, where: str, **defaults: Any) -> DistillationTerm:
        """Builds one term; a bad setting's error names ``where`` (``KDFasterRCNN.distill.<key>``)."""
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise TypeError(f'{where} must be a config dict with a `type`, got {cfg!r}')
        try:
            term = MODELS.build(dict(cfg, **defaults))
        except (TypeError, ValueError, KeyError) as error:
            raise type(error)(f'{where}: {error}') from error
        if not isinstance(term, DistillationTerm):
            raise TypeError(f'{where}: {cfg["type"]} is a {type(term).__name__}, not a DistillationTerm')
        return term

    def _build_terms(self, distill: dict, specs: Sequence[ConfigDict]) -> nn.ModuleDict:
        """The paper's terms from their keys (those that are not None), then ``distill.terms``; with several
        teachers, then one more copy of every feature term per further teacher (its own adapters; on the
        teacher's ``hints`` if it sets them)."""
        hint_pairs = check_hint_pairs(distill['hints'], bool(distill['loss_hint']))
        terms = nn.ModuleDict()
        #: name -> (config, where) of the feature terms, to build the other teachers' copies.
        sources = {}
        for key, (name, term_type) in PAPER_TERMS.items():
            cfg = distill[key]
            if not cfg:
                continue
            if not isinstance(cfg, dict):
                raise TypeError(f'KDFasterRCNN.distill.{key} must be a loss config dict or None, got {cfg!r}')
            term_cfg = dict(type=term_type, loss=cfg, **(dict(pairs=hint_pairs) if term_type == 'HintTerm' else {}))
            terms[name] = self._build_term(term_cfg, f'KDFasterRCNN.distill.{key}')
            sources[name] = (term_cfg, f'KDFasterRCNN.distill.{key}')
        extra_terms = distill['terms']
        if not isinstance(extra_terms, (list, tuple)):
            raise TypeError(f'KDFasterRCNN.distill.terms must be a list of term configs, got {extra_terms!r}')
        for index, cfg in enumerate(extra_terms):
            where = f'KDFasterRCNN.distill.terms[{index}]'
            term = self._build_term(cfg, where)
            name = check_term_name(getattr(term, 'name', None) or type(term).__name__, where)
            clash = [key for key in term.loss_keys for other in terms.values() if key in other.loss_keys]
            if name in terms or clash:
                raise ValueError(f'{where}: a term named {name!r} (losses {list(term.loss_keys)}) is already '
                                 f'configured; give this one another `name`')
            terms[name] = term
            sources[name] = (dict(cfg), where)
        #: The teachers' weights in the feature terms: 0 for a teacher with ``hints=[]``, renormalised.
        self.feature_teacher_weights = self.teacher_weights
        for index in range(1, len(specs)):
            hints = specs[index].get('hints')
            if isinstance(hints, (list, tuple)) and not hints:
                self.feature_teacher_weights = check_weights(
                    [0.0 if i == index else w for i, w in enumerate(self.feature_teacher_weights)],
                    'KDFasterRCNN.teacher (feature terms)')
                continue
            for name in [name for name, term in terms.items() if isinstance(term, FeatureDistillationTerm)]:
                cfg, where = sources[name]
                if hints is not None:
                    cfg = dict(cfg, pairs=check_hint_pairs(hints, True, where=f'{self._teacher_names[index]}.hints'))
                copy_ = self._build_term(cfg, f'{where} for {self._teacher_names[index]}')
                copy_.teacher_index = index
                terms[f'{name}_teacher{index}'] = copy_
        return terms

    @staticmethod
    def _rename_legacy_keys(state_dict: dict, prefix: str, *args: Any) -> None:
        """Loads a checkpoint saved before the terms became modules: ``distill_adapters.*`` are the hint
        term's adapters."""
        legacy = prefix + LEGACY_ADAPTER_PREFIX
        for key in [k for k in state_dict if k.startswith(legacy)]:
            state_dict[prefix + HINT_ADAPTER_PREFIX + key[len(legacy):]] = state_dict.pop(key)

    def _build_adapters(self, probe_size: int) -> None:
        """Reads the paired layers' channels from a zero image and builds every feature term's adapters.

        With ``align='centre'`` each side's receptive-field geometry is the pair's ``student_geometry`` /
        ``teacher_geometry`` ``(stride, offset)`` (in that model's input pixels) if given, else measured by
        :func:`~det_kd.models.distillation.receptive_field.feature_geometry`; both are then converted to the
        pixels of the batch (the frame of the samples' ``img_shape``), so that a teacher or student at
        another resolution (``teacher.input_scale``, ``student_input_scale``) pairs up too.
        """
        if not self.feature_terms:
            return
        probe = torch.zeros(1, 3, probe_size, probe_size)
        student_layers = self.student_layers
        student_maps = dict(zip(student_layers, self._probe_layers(
            self, student_layers, rescale_batch(probe, [], self.student_input_scale)[0], 'student')))
        for index, name in enumerate(self._teacher_names):
            with self.using_teacher(index), naming_errors(name if len(self.teachers) > 1 else None):
                teacher_layers = self.teacher_layers
                teacher_maps = dict(zip(teacher_layers, self._probe_layers(
                    self.teacher, teacher_layers, self._resize_for_teacher(probe), 'teacher')))
                models = dict(student=self, teacher=self.teacher)
                scales = dict(student=self.student_input_scale, teacher=self.teacher_input_scale)
                for term in self.feature_terms:
                    if term.teacher_index == index:
                        term.build_adapters(student_maps, teacher_maps,
                                            lambda owner, layer: feature_geometry(models[owner], layer, owner),
                                            scales, self.teacher_resolution_ratio)

    # ------------------------------------------------------------------ what the terms use
    @staticmethod
    def _unique(layers: List[HintLayer]) -> List[HintLayer]:
        return list(dict.fromkeys(layers))

    @property
    def student_layers(self) -> List[HintLayer]:
        """The student layers the terms compare, each once."""
        return self._unique([layer for term in self.distill_terms.values() for layer in term.student_layers()])

    @property
    def teacher_layers(self) -> List[HintLayer]:
        """The layers of the :attr:`teacher` (the active one) that its terms compare, each once."""
        return self._unique([layer for term in self.distill_terms.values() if term.teacher_index == self._active_teacher
                             for layer in term.teacher_layers()])

    @property
    def distillation_loss_keys(self) -> Tuple[str, ...]:
        """The ``loss_*`` entries the terms add to the student's losses (each once: the copies of a feature
        term for several teachers share their key)."""
        return tuple(dict.fromkeys(key for term in self.distill_terms.values() for key in term.loss_keys))

    def _term_loss(self, name: str) -> Optional[nn.Module]:
        term = self.distill_terms[name] if name in self.distill_terms else None
        return None if term is None else term.loss

    @property
    def loss_hint(self) -> Optional[nn.Module]:
        """The paper's hint loss module (None when off)."""
        return self._term_loss('hint')

    @property
    def rpn_kd_cls(self) -> Optional[nn.Module]:
        """The paper's soft RPN classification loss module (None when off)."""
        return self._term_loss('rpn_cls')

    @property
    def rpn_kd_reg(self) -> Optional[nn.Module]:
        """The paper's bounded RPN regression loss module (None when off)."""
        return self._term_loss('rpn_reg')

    @property
    def rcn_kd_cls(self) -> Optional[nn.Module]:
        """The paper's soft RCN classification loss module (None when off)."""
        return self._term_loss('rcn_cls')

    @property
    def rcn_kd_reg(self) -> Optional[nn.Module]:
        """The paper's bounded RCN regression loss module (None when off)."""
        return self._term_loss('rcn_reg')

    @property
    def hint_pairs(self) -> List[Dict[str, Any]]:
        """The hint term's pairs ([] when the hint is off)."""
        return self.distill_terms['hint'].pairs if 'hint' in self.distill_terms else []

    @property
    def distill_adapters(self) -> nn.ModuleList:
        """The hint term's adapters, one per hint pair (empty when the hint is off)."""
        return self.distill_terms['hint'].adapters if 'hint' in self.distill_terms else nn.ModuleList()

    @staticmethod
    def _probe_layers(model: nn.Module, layers: List[HintLayer], image: Tensor, owner: str) -> List[Tensor]:
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                feats, recorded = KDFasterRCNN._extract_hint_feats(model, layers, image, owner)
        finally:
            model.train(was_training)
        return recorded

    @staticmethod
    def _extract_hint_feats(model: nn.Module, layers: List[HintLayer], image: Tensor,
                            owner: str) -> Tuple[tuple, List[Tensor]]:
        paths = [layer for layer in layers if isinstance(layer, str)]
        with ModuleOutputRecorder(model, paths, owner) as recorder:
            feats = model.extract_feat(image)
        return feats, [KDFasterRCNN._select_hint(layer, feats, recorder.outputs, owner) for layer in layers]

    @staticmethod
    def _select_hint(layer: HintLayer, feats: tuple, recorded: dict, owner: str) -> Tensor:
        if isinstance(layer, int):
            if not -len(feats) <= layer < len(feats):
                raise IndexError(f'{owner} hint layer {layer}: extract_feat returns {len(feats)} maps')
            return feats[layer]
        output = recorded[layer]
        if not isinstance(output, Tensor):
            raise TypeError(f'{owner} hint layer {layer!r} outputs a {type(output).__name__}, not a feature '
                            'map; name a deeper module or use an int index into extract_feat outputs')
        return output

    # ------------------------------------------------------------------ teacher plumbing
    @property
    def teacher(self) -> nn.Module:
        """The teacher detector (with several teachers: the active one, the first outside
        :meth:`using_teacher`)."""
        return self.teachers[self._active_teacher]

    @property
    def teacher_input_scale(self) -> float:
        """The :attr:`teacher`'s ``input_scale``."""
        return self._teacher_input_scales[self._active_teacher]

    @property
    def teacher_resolution_ratio(self) -> float:
        """Teacher pixels per student pixel: the student's RoIs are scaled by it for the teacher's RoI head."""
        return self.teacher_input_scale / self.student_input_scale

    @property
    def teacher_renormalize(self) -> bool:
        """The :attr:`teacher`'s ``renormalize`` setting."""
        return self._teacher_renormalize[self._active_teacher]

    @property
    def _renormalize_for_teacher(self) -> bool:
        return self._renormalize_flags[self._active_teacher]

    @contextlib.contextmanager
    def using_teacher(self, index: int):
        """Within the block, :attr:`teacher` and its settings are the ``index``-th teacher's."""
        previous, self._active_teacher = self._active_teacher, index
        try:
            yield self.teachers[index]
        finally:
            self._active_teacher = previous

    def _apply(self, fn, *args, **kwargs):
        """Moves / casts the teachers with the student (``to``, ``cuda``, ``cpu``, ``half``...)."""
        for teacher in self.teachers:
            teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def _set_device(self, device: torch.device) -> None:
        """Tells the teacher's data preprocessor where it now lives, as mmengine does for the student's.

        ``to`` / ``cuda`` / ``cpu`` move the teacher's tensors through :meth:`_apply`, but mmengine records a
        preprocessor's device separately, only for registered submodules; without this the teacher's
        ``val_step`` (``TeacherEvaluationHook``) would keep its inputs on the CPU beside CUDA weights.
        """
        for teacher in self.teachers:
            teacher._set_device(device)
        super()._set_device(device)

    def train(self, mode: bool = True) -> 'KDFasterRCNN':
        """Sets the student's mode; the teachers always stay in eval mode."""
        super().train(mode)
        for teacher in getattr(self, 'teachers', []):
            teacher.eval()
        return self

    def _resize_for_teacher(self, inputs: Tensor) -> Tensor:
        if self.teacher_input_scale == 1.0:
            return inputs
        return F.interpolate(inputs, scale_factor=self.teacher_input_scale, mode='bilinear',
                             align_corners=False)

    def _teacher_needs_renormalization(self) -> bool:
        """Whether the teacher's preprocessor normalises differently from the student's."""
        student_pre, teacher_pre = self.data_preprocessor, self.teacher.data_preprocessor
        if not self.teacher_renormalize:
            return False
        enabled = [getattr(pre, '_enable_normalize', False) for pre in (student_pre, teacher_pre)]
        if enabled[0] != enabled[1]:
            raise ValueError('teacher.renormalize: one data preprocessor normalises (mean / std) and the other '
                             'does not; give both a mean and std, or set teacher.renormalize=False')
        if not enabled[0]:
            return student_pre._channel_conversion != teacher_pre._channel_conversion
        return not (torch.equal(student_pre.mean, teacher_pre.mean) and torch.equal(student_pre.std, teacher_pre.std)
                    and student_pre._channel_conversion == teacher_pre._channel_conversion)

    def teacher_inputs(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> Tensor:
        """The student's normalised batch, re-normalised for the teacher and resized by ``input_scale``.

        Padding stays zero (the value both preprocessors pad with after normalisation).
        """
        inputs = batch_inputs
        if self._renormalize_for_teacher:
            student_pre, teacher_pre = self.data_preprocessor, self.teacher.data_preprocessor
            raw = inputs * student_pre.std + student_pre.mean if student_pre._enable_normalize else inputs
            if student_pre._channel_conversion != teacher_pre._channel_conversion:
                raw = raw[:, [2, 1, 0], ...]
            inputs = (raw - teacher_pre.mean) / teacher_pre.std if teacher_pre._enable_normalize else raw
            valid = torch.zeros_like(inputs[:, :1])
            for index, sample in enumerate(batch_data_samples):
                height, width = sample.metainfo['img_shape'][:2]
                valid[index, :, :height, :width] = 1
            inputs = inputs * valid
        return self._resize_for_teacher(inputs)

    # ------------------------------------------------------------------ training
    @property
    def distills_rpn(self) -> bool:
        """Whether a term uses the RPN (the teacher then runs its RPN head on the same anchors)."""
        return any(term.uses_rpn for term in self.distill_terms.values())

    @property
    def distills_rcn(self) -> bool:
        """Whether a term uses the RoI head (the teacher's then runs on the student's sampled RoIs)."""
        return any(term.uses_rcn for term in self.distill_terms.values())

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

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """The student's own losses plus every term's (see the class docstring).

        The student runs on :meth:`student_view` of the batch, the teacher on the batch itself; what the
        terms compare is recorded while the student's own loss code runs and handed to each term as one
        :class:`~det_kd.models.distillation.terms.DistillationInputs`.
        """
        batch_data_samples = self.with_pseudo_labels(batch_inputs, batch_data_samples)
        if self.hint_stage:
            return self.hint_stage_loss(batch_inputs, batch_data_samples)
        student_inputs, student_samples = self.student_view(batch_inputs, batch_data_samples)
        scale = float(self.distill_scale)
        rpn_on, rcn_on = self.distills_rpn, self.distills_rcn
        student_layers = self.student_layers
        student_paths = [layer for layer in student_layers if isinstance(layer, str)]
        with contextlib.ExitStack() as stack:
            feats_rec = stack.enter_context(MethodCallRecorder(self, 'extract_feat'))
            layer_rec = stack.enter_context(ModuleOutputRecorder(self, student_paths, 'student'))
            rpn_out_rec = stack.enter_context(ModuleOutputRecorder(self, ['rpn_head'] if rpn_on else []))
            rpn_tgt_rec = stack.enter_context(MethodCallRecorder(self.rpn_head, 'get_targets')) if rpn_on else None
            rcn_rec = (stack.enter_context(MethodCallRecorder(self.roi_head.bbox_head, 'loss_and_target'))
                       if rcn_on else None)
            if self.pseudo_label_thr is None:  # soft only: no hard loss on unlabeled images
                unlabeled = unlabeled_indices(batch_data_samples)
                if unlabeled:
                    stack.enter_context(HardLossMask(self, unlabeled))  # after the recorders: they see all
            losses = super().loss(student_inputs, student_samples)

        self._scale_hard_losses(losses, scale)
        if scale == 0.0 or not self.distill_terms:  # distillation off (early stop, or pseudo labels only)
            losses.update(self._zero_distillation_losses())
            return losses
        rois = rcn_rec.kwargs['rois'] if rcn_on else None
        teacher = self.teacher_forward(batch_inputs, batch_data_samples, rpn_on, rois)

        inputs = DistillationInputs(
            scale=scale,
            student_maps={layer: self._select_hint(layer, feats_rec.result, layer_rec.outputs, 'student')
                          for layer in student_layers},
            teacher_maps=teacher['maps'],
            img_shapes=self._img_shapes(batch_data_samples))
        if rpn_on:
            student_cls, student_reg = rpn_out_rec.outputs['rpn_head']
            teacher_cls, teacher_reg, valid = self._ensemble_rpn(teacher['per_teacher'], student_cls,
                                                                 rpn_tgt_rec.result)
            inputs.rpn = RPNOutputs(student_cls, student_reg, teacher_cls, teacher_reg, valid, rpn_tgt_rec.result,
                                    self.rpn_head.cls_out_channels)
        if rcn_on:
            bbox_head = self.roi_head.bbox_head
            targets = rcn_rec.result['bbox_targets']
            inputs.rcn = RCNOutputs(rcn_rec.kwargs['cls_score'], rcn_rec.kwargs['bbox_pred'],
                                    teacher['rcn']['cls_score'],
                                    self._ensemble_rcn_deltas(teacher['per_teacher'], targets),
                                    targets, bbox_head.num_classes, bbox_head.reg_class_agnostic)
        losses.update(self._term_losses(self.distill_terms.values(), inputs, teacher['per_teacher']))
        if self.diagnostics_probe is not None:  # DistillationDiagnosticsHook measures this step
            self.diagnostics_probe.measure(losses, rpn_tgt_rec, rcn_rec, teacher)
        return losses

    @torch.no_grad()
    def with_pseudo_labels(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> SampleList:
        """The samples with the teachers' detections as the ground truth of the ``unlabeled`` ones
        (``UnlabeledImageDataset``): each teacher's predictions on the batch (in the batch's frame) scoring at
        least ``pseudo_label_thr``; with several teachers, all their detections, each score times the teacher's
        weight relative to the heaviest teacher's, merged by class-wise NMS (the first teacher's test-time RoI
        NMS). Labeled samples are returned as they are."""
        unlabeled = unlabeled_indices(batch_data_samples)
        if not unlabeled or self.pseudo_label_thr is None:
            return batch_data_samples
        per_teacher = []
        for index in range(len(self.teachers)):
            with self.using_teacher(index):
                inputs = self.teacher_inputs(batch_inputs, batch_data_samples)
                samples = [batch_data_samples[i].clone() for i in unlabeled]
                for sample in samples:  # the teacher's own frame, so predictions come back in it
                    sample.set_metainfo(dict(img_shape=tuple(round(v * self.teacher_input_scale)
                                                             for v in sample.metainfo['img_shape'][:2])))
                results = self.teacher.predict(inputs[unlabeled], samples, rescale=False)
                per_teacher.append([(r.pred_instances.bboxes / self.teacher_input_scale, r.pred_instances.scores,
                                     r.pred_instances.labels) for r in results])
        samples = list(batch_data_samples)
        heaviest = max(self.teacher_weights)
        for position, index in enumerate(unlabeled):
            found = [teacher[position] for teacher in per_teacher]
            boxes = torch.cat([bboxes for bboxes, _, _ in found])
            # each teacher's scores times its weight relative to the heaviest teacher's
            scores = torch.cat([weight / heaviest * s for weight, (_, s, _) in zip(self.teacher_weights, found)])
            labels = torch.cat([labels for _, _, labels in found])
            if len(found) > 1 and len(boxes):
                _, keep = batched_nms(boxes, scores, labels, self.teachers[0].roi_head.test_cfg.nms)
                boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            keep = scores >= self.pseudo_label_thr
            sample = batch_data_samples[index].clone()
            sample.gt_instances = InstanceData(bboxes=boxes[keep], labels=labels[keep])
            samples[index] = sample
        return samples

    @property
    def feature_terms(self) -> List[FeatureDistillationTerm]:
        """The terms on pairs of feature maps (the hint, AT, CWD, PKD...)."""
        return [term for term in self.distill_terms.values() if isinstance(term, FeatureDistillationTerm)]

    def hint_stage_loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """FitNets stage 1: only the feature terms, on the student's features (no head, no hard loss).

        Only the student's layers up to its guided layers and the adapters get a gradient (the others get
        none, so the optimizer leaves them alone); the student's layers after its guided layers still run
        forward (their BatchNorm statistics update unless the backbone keeps them in eval mode).
        """
        terms = self.feature_terms
        if not terms:
            raise ValueError('FitNets stage 1 (hint_stage) needs a feature term (distill.loss_hint or a term on '
                             'feature pairs in distill.terms)')
        student_inputs, _ = self.student_view(batch_inputs, batch_data_samples)
        student_layers = self.student_layers
        feats, maps = self._extract_hint_feats(self, student_layers, student_inputs, 'student')
        teacher = self.teacher_forward(batch_inputs, batch_data_samples, False, None)
        inputs = DistillationInputs(scale=float(self.distill_scale), student_maps=dict(zip(student_layers, maps)),
                                    teacher_maps=teacher['maps'], img_shapes=self._img_shapes(batch_data_samples))
        return self._term_losses(terms, inputs, teacher['per_teacher'])

    def _term_losses(self, terms, inputs: DistillationInputs, per_teacher: List[dict]) -> Dict[str, Any]:
        """Every term's losses. With several teachers each feature term runs once per teacher (its copy, on
        that teacher's maps) and its loss is the teachers' weighted sum; the head terms see the ensemble."""
        losses: Dict[str, Any] = {}
        ensemble = len(self.teachers) > 1
        for term in terms:
            index = term.teacher_index
            term_inputs = inputs if index == 0 else dataclasses.replace(inputs, teacher_maps=per_teacher[index]['maps'])
            if not (ensemble and isinstance(term, FeatureDistillationTerm)):
                losses.update(term(term_inputs))
                continue
            for key, value in term(term_inputs).items():
                weighted = self.feature_teacher_weights[index] * value
                losses[key] = losses[key] + weighted if key in losses else weighted
        return losses

    def _soft_temperature(self, name: str) -> float:
        """The temperature of the soft classification term ``name`` (1 when it is off)."""
        loss = self._term_loss(name)
        return float(getattr(loss, 'T', 1.0)) if loss is not None else 1.0

    def _ensemble_rpn(self, per_teacher: List[dict], student_cls: List[Tensor], targets: tuple) -> tuple:
        """The teachers' RPN maps on the student's anchor grid, combined (see
        :mod:`~det_kd.models.distillation.teacher_ensemble`); anchors count only where every teacher has
        outputs."""
        aligned = []
        for index, outputs in enumerate(per_teacher):
            with self.using_teacher(index):
                aligned.append(self._align_teacher_rpn(outputs['rpn'], student_cls))
        if len(aligned) == 1:
            return aligned[0]
        scores = ensemble_rpn_scores([a[0] for a in aligned], self.teacher_weights,
                                     self._soft_temperature('rpn_cls'), self.rpn_head.cls_out_channels)
        deltas = ensemble_rpn_deltas([a[1] for a in aligned], self.teacher_weights, self.ensemble_reg, targets[2])
        masks = [a[2] for a in aligned if a[2] is not None]
        valid = None if not masks else [torch.stack(level).all(dim=0) for level in zip(*masks)]
        return scores, deltas, valid

    def _ensemble_rcn_deltas(self, per_teacher: List[dict], targets: tuple) -> Tensor:
        """The teachers' RoI-head deltas on the student's RoIs, combined (``distill.ensemble_reg``)."""
        bbox_head = self.roi_head.bbox_head
        labels, _, bbox_targets, _ = targets
        return ensemble_rcn_deltas([outputs['rcn']['bbox_pred'] for outputs in per_teacher], self.teacher_weights,
                                   self.ensemble_reg, labels, bbox_targets, bbox_head.num_classes,
                                   bbox_head.reg_class_agnostic)

    @staticmethod
    def _img_shapes(batch_data_samples: Optional[SampleList]) -> Optional[List[Sequence[int]]]:
        """Every sample's ``img_shape`` (the batch's frame), or None if a sample has none."""
        if batch_data_samples and all('img_shape' in sample.metainfo for sample in batch_data_samples):
            return [sample.metainfo['img_shape'] for sample in batch_data_samples]
        return None

    def _zero_distillation_losses(self) -> dict:
        """The terms' keys at zero, keeping their parameters in the graph (DDP needs every parameter)."""
        zero = sum((p.sum() for p in self.distill_terms.parameters()), torch.zeros(())) * 0.0
        return {key: zero for key in self.distillation_loss_keys}

    def _scale_hard_losses(self, losses: dict, scale: float) -> None:
        """The student's own losses times the terms' :meth:`~DistillationTerm.hard_loss_weights` (the soft
        classification terms give their hard loss ``1 - (1 - mu) * scale``, ``mu`` at full distillation)."""
        for term in self.distill_terms.values():
            for key, weight in term.hard_loss_weights(scale).items():
                if key not in losses:
                    continue
                value = losses[key]
                losses[key] = [v * weight for v in value] if isinstance(value, (list, tuple)) else value * weight

    @torch.no_grad()
    def teacher_forward(self, batch_inputs: Tensor, batch_data_samples: SampleList, rpn_on: bool,
                        rois: Optional[Tensor]) -> dict:
        """Runs every teacher for what the terms use.

        Returns:
            dict: ``per_teacher``: one dict per teacher with its ``maps`` (``{layer: map}``), ``rpn`` maps and
            ``rcn`` (its RoI head on ``rois``); and the first teacher's ``maps`` and ``rpn``, and ``rcn`` of
            the ensemble (mean-probability logits, mean deltas) at the top level (with one teacher: its own).
        """
        per_teacher = []
        for index in range(len(self.teachers)):
            with self.using_teacher(index):
                per_teacher.append(self._single_teacher_forward(batch_inputs, batch_data_samples, rpn_on, rois))
        outputs = dict(per_teacher[0], per_teacher=per_teacher)
        if rois is not None and len(per_teacher) > 1:
            outputs['rcn'] = dict(
                cls_score=mean_probability_logits([out['rcn']['cls_score'] for out in per_teacher],
                                                  self.teacher_weights, self._soft_temperature('rcn_cls')),
                bbox_pred=mean_deltas([out['rcn']['bbox_pred'] for out in per_teacher], self.teacher_weights))
        return outputs

    def _single_teacher_forward(self, batch_inputs: Tensor, batch_data_samples: SampleList, rpn_on: bool,
                                rois: Optional[Tensor]) -> dict:
        """:meth:`teacher_forward` of the active teacher alone."""
        inputs = self.teacher_inputs(batch_inputs, batch_data_samples)
        teacher_layers = self.teacher_layers
        feats, maps = self._extract_hint_feats(self.teacher, teacher_layers, inputs, 'teacher')
        outputs: Dict[str, Any] = {'maps': dict(zip(teacher_layers, maps))}
        if rpn_on:
            outputs['rpn'] = self.teacher.rpn_head(feats)
        if rois is not None:
            teacher_rois = rois.clone()
            teacher_rois[:, 1:] *= self.teacher_resolution_ratio
            outputs['rcn'] = self.teacher.roi_head._bbox_forward(feats, teacher_rois)
        return outputs

    def _align_teacher_rpn(self, teacher_rpn: tuple, student_cls: List[Tensor]) -> tuple:
        """Teacher RPN maps on the student's anchor grid, and which student anchors the teacher covers.

        Returns:
            tuple: ``(teacher_cls, teacher_reg, valid)`` where ``valid`` is None when every student anchor
            has a teacher output, else a per-level list of ``(B * H * W * A,)`` booleans in the order of
            MMDetection's anchor targets.
        """
        teacher_cls, teacher_reg = teacher_rpn
        sizes = [tuple(s.shape[-2:]) for s in student_cls]
        if self.rpn_align == 'grid' and self.teacher_resolution_ratio != 1.0:
            stride = round(self.teacher_resolution_ratio)  # student (i, j) is teacher (r i, r j)
            teacher_cls = [t[..., ::stride, ::stride] for t in teacher_cls]
            teacher_reg = [t[..., ::stride, ::stride] for t in teacher_reg]
        if all(tuple(t.shape[-2:]) == size for t, size in zip(teacher_cls, sizes)):
            return teacher_cls, teacher_reg, None
        if self.rpn_align == 'resample':
            resample = lambda maps: [  # noqa: E731
                F.interpolate(m, size=size, mode='bilinear', align_corners=False) for m, size in zip(maps, sizes)]
            return resample(teacher_cls), resample(teacher_reg), None
        # 'grid': position (i, j) holds the same anchors in both maps; keep the positions both have.
        aligned_cls, aligned_reg, valid = [], [], []
        num_anchors = self.rpn_head.num_base_priors
        for t_cls, t_reg, (height, width) in zip(teacher_cls, teacher_reg, sizes):
            t_height, t_width = t_cls.shape[-2:]
            pad = (0, max(width - t_width, 0), 0, max(height - t_height, 0))
            aligned_cls.append(F.pad(t_cls[..., :height, :width], pad))
            aligned_reg.append(F.pad(t_reg[..., :height, :width], pad))
            covered = t_cls.new_zeros((t_cls.shape[0], height, width, num_anchors), dtype=torch.bool)
            covered[:, :min(height, t_height), :min(width, t_width)] = True
            valid.append(covered.reshape(-1))
        return aligned_cls, aligned_reg, valid
