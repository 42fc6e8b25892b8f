"""Faster R-CNN student distilled from a frozen teacher (Chen et al., NeurIPS 2017)."""
import contextlib
import copy
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from torch import Tensor, nn

from mmdet.models.detectors import TwoStageDetector
from mmdet.registry import MODELS
from mmdet.structures import OptSampleList, SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from ..distillation.compatibility import (check_same_anchor_shapes, check_same_anchors, check_same_box_coder,
                                          check_same_roi_classes)
from ..distillation.head_distillation import rcn_distillation_losses, rpn_distillation_losses
from ..distillation.hint_adapter import HintAdapter
from ..distillation.hint_pairs import HINT_PAIR_KEYS, check_hint_pairs  # noqa: F401  (HINT_PAIR_KEYS re-exported)
from ..distillation.receptive_field import as_geometry, feature_geometry, rescale_geometry
from ..distillation.recorders import MethodCallRecorder, ModuleOutputRecorder
from ..distillation.resolution import rescale_batch
from ..distillation.teacher import build_teacher
from ...utils.settings import check_number

#: State-dict prefixes that exist only for distillation; ``tools/export_student.py`` drops them.
DISTILLATION_ONLY_PREFIXES = ('distill_adapters.', )

#: The paper's defaults: lambda = 1 (the heads' own loss weights), gamma = 0.5, nu = 0.5, w_bg = 1.5,
#: T = 1, mu = 0.5 (not given), m = 0 (not given). Set a term to None to switch it off.
PAPER_DISTILL_DEFAULTS = dict(
    hints=[dict(student=0, teacher=0, adapter='conv1x1', align='pad')],
    loss_hint=dict(type='HintLoss', mode='l2', loss_weight=0.5),
    rpn_cls=dict(type='WeightedSoftCrossEntropyLoss', mu=0.5, bg_weight=1.5, T=1.0),
    rpn_reg=dict(type='TeacherBoundedRegressionLoss', nu=0.5, margin=0.0, mode='bounded'),
    rcn_cls=dict(type='WeightedSoftCrossEntropyLoss', mu=0.5, bg_weight=1.5, T=1.0),
    rcn_reg=dict(type='TeacherBoundedRegressionLoss', nu=0.5, margin=0.0, mode='bounded'),
    probe_size=128)

HintLayer = Union[int, str]


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
        teacher (dict): ``config`` (path, ``package::path`` or inline dict), ``checkpoint`` (required unless
            ``allow_random_init=True``), ``input_scale`` (the teacher sees the student's batch resized by this
            factor; RoIs are scaled alike. Defaults to 1.0) and ``renormalize`` (re-normalise the student's
            batch with the teacher's own ``data_preprocessor`` mean / std / channel order. Defaults to True).
        distill (dict, optional): Overrides of :data:`PAPER_DISTILL_DEFAULTS`:

            - ``hints``: list of pairs ``dict(student=..., teacher=..., adapter='conv1x1', align='pad')``
              where a layer is a module path (``'backbone.features.28'``) or an int index into
              ``extract_feat``'s outputs; ``adapter`` in ``'conv1x1' | 'conv3x3' | 'none'``; ``align`` in
              ``'pad' | 'resample' | 'strict' | 'centre'`` (see :class:`HintAdapter`; ``'centre'`` pairs the
              cells centred at the same image point and drops the teacher cells the student map does not
              cover or that lie on the batch padding, optionally with ``student_geometry`` /
              ``teacher_geometry=(stride, offset)`` instead of the measured receptive-field geometry).
            - ``loss_hint``, ``rpn_cls``, ``rpn_reg``, ``rcn_cls``, ``rcn_reg``: loss configs, or None.
            - ``rpn_align``: ``'grid'`` (default: the two anchor grids coincide; maps that differ in extent
              by backbone padding are compared on the positions both have, anchors outside the teacher's
              map get no distillation; a teacher at r times the student's resolution, r an integer, pairs
              student position (i, j) with its (r i, r j) and needs anchors r times larger) or
              ``'resample'`` (teacher RPN maps resampled bilinearly to the student's grid).
            - ``probe_size``: side of the zero image used at build time to read channel counts.
        student_input_scale (float): The student sees every batch resized by this factor, the teacher the
            batch as the pipeline made it (x ``teacher.input_scale``): the paper's Table 2 setting, a
            teacher at 688 px and the same architecture as student at 344 px, is a pipeline at 688 px and
            ``student_input_scale=0.5``. Ground truth, image shapes and scale factors follow (see
            :func:`rescale_batch`), predictions come back in original image coordinates, the teacher's RoI
            head gets the student's RoIs scaled to its resolution. The exported student is tested with its
            own config at the low resolution. Defaults to 1.0.
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
        teacher = ConfigDict(copy.deepcopy(dict(teacher)))
        unknown = set(teacher) - {'config', 'checkpoint', 'allow_random_init', 'input_scale', 'renormalize'}
        if unknown or 'config' not in teacher:
            raise KeyError(f'KDFasterRCNN.teacher needs `config` (+ `checkpoint`); unknown keys: {sorted(unknown)}')
        object.__setattr__(self, 'teacher', build_teacher(teacher.config, teacher.get('checkpoint'),
                                                         teacher.get('allow_random_init', False)))
        self.teacher_input_scale = float(check_number(teacher.get('input_scale', 1.0),
                                                      'KDFasterRCNN.teacher.input_scale', 0.0, low_open=True))
        self.student_input_scale = float(check_number(student_input_scale, 'KDFasterRCNN.student_input_scale',
                                                      0.0, low_open=True))
        #: Teacher pixels per student pixel: the student's RoIs are scaled by it for the teacher's RoI head.
        self.teacher_resolution_ratio = self.teacher_input_scale / self.student_input_scale
        self.teacher_renormalize = bool(teacher.get('renormalize', True))
        self._renormalize_for_teacher = self._teacher_needs_renormalization()
        #: Multiplier of every distillation term, set by ``DistillationScheduleHook``. 1 = paper's weights.
        self.distill_scale = 1.0
        #: Open :class:`~det_kd.models.distillation.DistillationProbe` (set by it): ``loss()`` measures then.
        self.diagnostics_probe = None

        distill = self._merge_distill_defaults(distill)
        self.rpn_align = distill['rpn_align']
        self.loss_hint = self._build_distill_loss(distill, 'loss_hint')
        self.rpn_kd_cls = self._build_distill_loss(distill, 'rpn_cls')
        self.rpn_kd_reg = self._build_distill_loss(distill, 'rpn_reg')
        self.rcn_kd_cls = self._build_distill_loss(distill, 'rcn_cls')
        self.rcn_kd_reg = self._build_distill_loss(distill, 'rcn_reg')
        if self.rpn_kd_cls is not None:
            self.rpn_kd_cls.use_sigmoid = bool(self.rpn_head.use_sigmoid_cls)
        self._check_teacher_compatibility()
        hint_pairs = check_hint_pairs(distill['hints'], self.loss_hint is not None)
        self.hint_pairs: List[Dict[str, Any]] = hint_pairs if self.loss_hint else []
        probe_size = check_number(distill['probe_size'], 'KDFasterRCNN.distill.probe_size', 16, 4096, integer=True)
        with torch.random.fork_rng(devices=[]):  # adapters do not shift the student's random stream
            self.distill_adapters = self._build_hint_adapters(probe_size)

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _merge_distill_defaults(distill: OptConfigType) -> dict:
        merged = copy.deepcopy(PAPER_DISTILL_DEFAULTS)
        merged['rpn_align'] = 'grid'
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
    def _build_distill_loss(distill: dict, key: str) -> Optional[nn.Module]:
        """Builds ``distill[key]`` (None when off); a bad setting's error names ``distill.<key>``."""
        cfg = distill[key]
        if not cfg:
            return None
        if not isinstance(cfg, dict):
            raise TypeError(f'KDFasterRCNN.distill.{key} must be a loss config dict or None, got {cfg!r}')
        try:
            return MODELS.build(cfg)
        except (TypeError, ValueError, KeyError) as error:
            raise type(error)(f'KDFasterRCNN.distill.{key}: {error}') from error

    def _check_teacher_compatibility(self) -> None:
        if self.distills_rpn:
            if not getattr(self.teacher, 'with_rpn', False):
                raise ValueError('rpn distillation is on but the teacher has no rpn_head')
            if self.rpn_align == 'grid':
                ratio = self.teacher_resolution_ratio
                if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
                    raise ValueError(f'rpn distillation: the teacher sees the image {ratio:g}x the student\'s '
                                     "size; rpn_align='grid' pairs anchors only at an integer ratio >= 1. Set "
                                     "distill.rpn_align='resample' or switch rpn_cls / rpn_reg off")
                check_same_anchors(self.rpn_head, self.teacher.rpn_head, teacher_scale=round(ratio))
            elif self.rpn_head.num_base_priors != self.teacher.rpn_head.num_base_priors:
                raise ValueError('rpn distillation: the two RPNs have a different number of anchors per '
                                 'position; resampling cannot pair them')
            else:
                check_same_anchor_shapes(self.rpn_head, self.teacher.rpn_head, self.teacher_resolution_ratio)
            if self.rpn_kd_reg is not None:
                check_same_box_coder(self.rpn_head, self.teacher.rpn_head, 'rpn distillation')
        if self.distills_rcn:
            if not getattr(self.teacher, 'with_roi_head', False):
                raise ValueError('rcn distillation is on but the teacher has no roi_head')
            check_same_roi_classes(self.roi_head.bbox_head, self.teacher.roi_head.bbox_head)
            if self.rcn_kd_reg is not None:
                check_same_box_coder(self.roi_head.bbox_head, self.teacher.roi_head.bbox_head,
                                     'rcn distillation')

    def _build_hint_adapters(self, probe_size: int) -> nn.ModuleList:
        """Reads the paired layers' channels from a zero image and builds one adapter per pair.

        With ``align='centre'`` each side's receptive-field geometry is the pair's ``student_geometry`` /
        ``teacher_geometry`` ``(stride, offset)`` (in that model's input pixels) if given, else measured by
        :func:`~det_kd.models.distillation.receptive_field.feature_geometry`; both are then converted to the
        pixels of the batch (the frame of the samples' ``img_shape``), so that a teacher or student at
        another resolution (``teacher.input_scale``, ``student_input_scale``) pairs up too.
        """
        adapters = nn.ModuleList()
        if not self.hint_pairs:
            return adapters
        probe = torch.zeros(1, 3, probe_size, probe_size)
        student_maps = self._probe_layers(self, [p['student'] for p in self.hint_pairs],
                                          rescale_batch(probe, [], self.student_input_scale)[0], 'student')
        teacher_probe = self._resize_for_teacher(probe)
        teacher_maps = self._probe_layers(self.teacher, [p['teacher'] for p in self.hint_pairs],
                                          teacher_probe, 'teacher')
        for index, pair in enumerate(self.hint_pairs):
            name = f"hint pair {index} (student {pair['student']!r} -> teacher {pair['teacher']!r})"
            align = pair.get('align', 'pad')
            if self.teacher_resolution_ratio != 1.0 and align == 'pad':
                raise ValueError(f'{name}: the teacher sees the image {self.teacher_resolution_ratio:g}x the '
                                 "student's size (teacher.input_scale, student_input_scale); needs "
                                 "align='resample' or 'centre'")
            geometries = {}
            for owner, model, scale in (('student', self, self.student_input_scale),
                                        ('teacher', self.teacher, self.teacher_input_scale)):
                given = pair.get(f'{owner}_geometry')
                if align != 'centre':
                    if given is not None:
                        raise ValueError(f"{name}: {owner}_geometry is only used with align='centre'")
                    continue
                geometry = (as_geometry(given, f'{name}: {owner}_geometry') if given is not None else
                            feature_geometry(model, pair[owner], owner))
                geometries[f'{owner}_geometry'] = rescale_geometry(geometry, scale)
            adapters.append(
                HintAdapter(student_maps[index].shape[1], teacher_maps[index].shape[1],
                            adapter=pair.get('adapter', 'conv1x1'), align=align, name=name, **geometries))
        return adapters

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
    def _apply(self, fn, *args, **kwargs):
        """Moves / casts the teacher with the student (``to``, ``cuda``, ``cpu``, ``half``...)."""
        self.teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True) -> 'KDFasterRCNN':
        """Sets the student's mode; the teacher always stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
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
        """Whether an RPN term is on (the teacher then runs its RPN head on the same anchors)."""
        return self.rpn_kd_cls is not None or self.rpn_kd_reg is not None

    @property
    def distills_rcn(self) -> bool:
        """Whether an RCN term is on (the teacher's RoI head then runs on the student's sampled RoIs)."""
        return self.rcn_kd_cls is not None or self.rcn_kd_reg is not None

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
        """The student's own losses plus the distillation terms (see the class docstring).

        The student runs on :meth:`student_view` of the batch, the teacher on the batch itself.
        """
        student_inputs, student_samples = self.student_view(batch_inputs, batch_data_samples)
        scale = float(self.distill_scale)
        rpn_on, rcn_on = self.distills_rpn, self.distills_rcn
        student_paths = [p['student'] for p in self.hint_pairs if isinstance(p['student'], str)]
        with contextlib.ExitStack() as stack:
            feats_rec = stack.enter_context(MethodCallRecorder(self, 'extract_feat'))
            hint_rec = stack.enter_context(ModuleOutputRecorder(self, student_paths, 'student'))
            rpn_out_rec = stack.enter_context(ModuleOutputRecorder(self, ['rpn_head'] if rpn_on else []))
            rpn_tgt_rec = stack.enter_context(MethodCallRecorder(self.rpn_head, 'get_targets')) if rpn_on else None
            rcn_rec = (stack.enter_context(MethodCallRecorder(self.roi_head.bbox_head, 'loss_and_target'))
                       if rcn_on else None)
            losses = super().loss(student_inputs, student_samples)

        self._scale_hard_losses(losses, scale)
        if scale == 0.0:  # distillation switched off (early stop): the teacher does no work
            losses.update(self._zero_distillation_losses())
            return losses
        rois = rcn_rec.kwargs['rois'] if rcn_on else None
        teacher = self.teacher_forward(batch_inputs, batch_data_samples, rpn_on, rois)

        if self.loss_hint is not None:
            losses['loss_hint'] = self._hint_losses(feats_rec.result, hint_rec.outputs, teacher['hints'],
                                                    scale, batch_data_samples)
        if rpn_on:
            student_cls, student_reg = rpn_out_rec.outputs['rpn_head']
            teacher_cls, teacher_reg, valid = self._align_teacher_rpn(teacher['rpn'], student_cls)
            losses.update(
                rpn_distillation_losses(student_cls, student_reg, teacher_cls, teacher_reg, rpn_tgt_rec.result,
                                        self.rpn_head.cls_out_channels, self.rpn_kd_cls, self.rpn_kd_reg,
                                        scale, valid))
        if rcn_on:
            bbox_head = self.roi_head.bbox_head
            losses.update(
                rcn_distillation_losses(rcn_rec.kwargs['cls_score'], rcn_rec.kwargs['bbox_pred'],
                                        teacher['rcn']['cls_score'], teacher['rcn']['bbox_pred'],
                                        rcn_rec.result['bbox_targets'], bbox_head.num_classes,
                                        bbox_head.reg_class_agnostic, self.rcn_kd_cls, self.rcn_kd_reg, scale))
        if self.diagnostics_probe is not None:  # DistillationDiagnosticsHook measures this step
            self.diagnostics_probe.measure(losses, rpn_tgt_rec, rcn_rec, teacher)
        return losses

    def _zero_distillation_losses(self) -> dict:
        """The distillation keys at zero, keeping the adapters in the graph (DDP needs every parameter)."""
        zero = sum((p.sum() for p in self.distill_adapters.parameters()), torch.zeros(())) * 0.0
        terms = (('loss_hint', self.loss_hint), ('loss_rpn_kd_cls', self.rpn_kd_cls),
                 ('loss_rpn_kd_bbox', self.rpn_kd_reg), ('loss_rcn_kd_cls', self.rcn_kd_cls),
                 ('loss_rcn_kd_bbox', self.rcn_kd_reg))
        return {key: zero for key, loss in terms if loss is not None}

    def _scale_hard_losses(self, losses: dict, scale: float) -> None:
        """Hard classification losses get ``1 - (1 - mu) * scale`` (``mu`` at full distillation)."""
        for key, soft_loss in (('loss_rpn_cls', self.rpn_kd_cls), ('loss_cls', self.rcn_kd_cls)):
            if soft_loss is None or key not in losses:
                continue
            weight = 1.0 - (1.0 - soft_loss.mu) * scale
            value = losses[key]
            losses[key] = [v * weight for v in value] if isinstance(value, (list, tuple)) else value * weight

    @torch.no_grad()
    def teacher_forward(self, batch_inputs: Tensor, batch_data_samples: SampleList, rpn_on: bool,
                         rois: Optional[Tensor]) -> dict:
        """Runs only what the distillation terms use: features, RPN maps and the RoI head on ``rois``."""
        inputs = self.teacher_inputs(batch_inputs, batch_data_samples)
        teacher_layers = [p['teacher'] for p in self.hint_pairs]
        feats, hints = self._extract_hint_feats(self.teacher, teacher_layers, inputs, 'teacher')
        outputs: Dict[str, Any] = {'hints': hints}
        if rpn_on:
            outputs['rpn'] = self.teacher.rpn_head(feats)
        if rois is not None:
            teacher_rois = rois.clone()
            teacher_rois[:, 1:] *= self.teacher_resolution_ratio
            outputs['rcn'] = self.teacher.roi_head._bbox_forward(feats, teacher_rois)
        return outputs

    def _hint_losses(self, student_feats: tuple, recorded: dict, teacher_hints: List[Tensor], scale: float,
                     batch_data_samples: Optional[SampleList] = None) -> Tensor:
        """Sum over hint pairs of ``loss_hint(adapted student map, teacher map)``.

        A pair with ``align='centre'`` passes its :meth:`HintAdapter.valid_mask`: the teacher cells centred
        inside the student map and, with ``batch_data_samples`` (the batch's own, not the student's view),
        on each sample's real image rather than the padding. The other pairs pass no mask.
        """
        img_shapes = None
        if batch_data_samples and all('img_shape' in sample.metainfo for sample in batch_data_samples):
            img_shapes = [sample.metainfo['img_shape'] for sample in batch_data_samples]
        total = 0.0
        for index, (pair, adapter) in enumerate(zip(self.hint_pairs, self.distill_adapters)):
            student_map = self._select_hint(pair['student'], student_feats, recorded, 'student')
            teacher_map = teacher_hints[index]
            size = teacher_map.shape[-2:]
            mask = adapter.valid_mask(student_map.shape[-2:], size, img_shapes)
            masked = {} if mask is None else {'mask': mask}
            total = total + self.loss_hint(adapter(student_map, size), teacher_map, scale, **masked)
        return total

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
