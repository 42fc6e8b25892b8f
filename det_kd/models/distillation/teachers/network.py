"""One trained detector as the teacher: its maps, its RPN on the student's anchors, its RoI head on the student's
RoIs, its detections."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from torch import Tensor, nn

from ....utils.settings import check_number
from ..class_names import checkpoint_classes, config_classes
from ..feature_maps import HintLayer, extract_maps, probe_maps
from ..receptive_field import Geometry, feature_geometry
from ..teacher import build_teacher
from .base import FeatureSource, NetworkPair, TeacherContext, TeacherKind, TeacherOutputs, TeacherRequest


@MODELS.register_module()
class NetworkTeacher(TeacherKind):
    """A frozen teacher detector (kept outside the student's module tree: not in its ``state_dict``, optimizer or
    DDP wrapper; eval mode, no gradient).

    Args:
        context (TeacherContext): The student it teaches.
        config (str | dict): The teacher's config (path, ``package::path`` or inline dict).
        checkpoint (str, optional): Its weights, loaded strictly. Required unless ``allow_random_init``.
        allow_random_init (bool): Tests and smoke runs only. Defaults to False.
        input_scale (float): The teacher sees the batch resized by this factor (RoIs scaled alike). Defaults to 1.
        renormalize (bool): Re-normalise the student's batch with the teacher's own ``data_preprocessor`` mean,
            std and channel order. Defaults to True.
        weight, hints: Ensemble settings (see :class:`~.ensemble.TeacherEnsemble`); ignored alone.
        name (str): How errors name it. Defaults to ``'KDFasterRCNN.teacher'``.
        index (int): Its feature source index (its place in an ensemble). Defaults to 0.
    """

    def __init__(self,
                 context: TeacherContext,
                 config,
                 checkpoint: Optional[str] = None,
                 allow_random_init: bool = False,
                 input_scale: float = 1.0,
                 renormalize: bool = True,
                 weight: float = 1.0,
                 hints: Optional[Sequence[dict]] = None,
                 name: str = 'KDFasterRCNN.teacher',
                 index: int = 0) -> None:
        super().__init__(context, name)
        self.network = build_teacher(config, checkpoint, allow_random_init)
        self.config, self.checkpoint = config, checkpoint
        self.index = index
        self.input_scale = float(check_number(input_scale, f'{name}.input_scale', 0.0, low_open=True))
        self.renormalize = bool(renormalize) and self._normalises_differently()

    # ------------------------------------------------------------------ what it is
    def networks(self) -> List[nn.Module]:
        return [self.network]

    def feature_sources(self) -> List[FeatureSource]:
        return [FeatureSource(self.index, 1.0, self.name)]

    @property
    def pair(self) -> NetworkPair:
        return NetworkPair(self.context.student, self.network, self.resolution_ratio, self.context.rpn_align)

    def check_term(self, term: nn.Module, where: str) -> None:
        super().check_term(term, where)
        term.check_compatibility(self.pair)

    def class_names(self) -> Dict[str, Tuple[str, ...]]:
        """The classes of its config's training set and of its checkpoint's ``dataset_meta``, where recorded."""
        known = {}
        from_config = config_classes(self.config)
        if from_config is not None:
            config = f'config {self.config!r}' if isinstance(self.config, str) else 'its inline config'
            known[f'{self.name} ({config})'] = from_config
        from_checkpoint = checkpoint_classes(dict(dataset_meta=getattr(self.network, 'dataset_meta', None)))
        if from_checkpoint is not None:
            known[f'{self.name} (checkpoint {self.checkpoint!r})'] = from_checkpoint
        return known

    def label_classes(self) -> Dict[str, int]:
        head = getattr(getattr(self.network, 'roi_head', None), 'bbox_head', None)
        return {self.name: int(head.num_classes)} if head is not None else {}

    def probe_teacher_maps(self, index: int, layers: List[HintLayer], probe: Tensor,
                           users: Optional[Dict[HintLayer, str]] = None) -> Dict[HintLayer, Tensor]:
        return dict(zip(layers, probe_maps(self.network, layers, self._resize(probe), 'teacher', users)))

    def teacher_geometry(self, layer: HintLayer) -> Geometry:
        return feature_geometry(self.network, layer, 'teacher')

    # ------------------------------------------------------------------ one step
    @torch.no_grad()
    def forward(self, request: TeacherRequest) -> TeacherOutputs:
        inputs = self.inputs(request.inputs, request.samples)
        layers = request.layers[self.index] if self.index < len(request.layers) else []
        feats, maps = extract_maps(self.network, layers, inputs, 'teacher')
        outputs = TeacherOutputs(maps=[dict(zip(layers, maps))])
        if request.student_rpn_cls is not None:
            outputs.rpn = self.on_student_grid(self.network.rpn_head(feats), request.student_rpn_cls)
        if request.rois is not None:
            outputs.rcn_cls, outputs.rcn_reg = self.on_student_rois(feats, request.rois)
        return outputs

    def on_student_rois(self, feats: tuple, rois: Tensor) -> Tuple[Tensor, Tensor]:
        """The RoI head's class logits and deltas on the student's ``rois`` (scaled to the teacher's frame),
        pooled from the teacher's ``feats``."""
        rois = rois.clone()
        rois[:, 1:] *= self.resolution_ratio
        rcn = self.network.roi_head._bbox_forward(feats, rois)
        return rcn['cls_score'], rcn['bbox_pred']

    @torch.no_grad()
    def detections(self, inputs: Tensor, samples: SampleList,
                   indices: Sequence[int]) -> List[Tuple[Tensor, Tensor, Tensor]]:
        """The network's predictions on the samples at ``indices``, in the batch's frame."""
        inputs = self.inputs(inputs, samples)
        chosen = [samples[i].clone() for i in indices]
        for sample in chosen:  # the teacher's own frame, so predictions come back in it
            sample.set_metainfo(dict(img_shape=tuple(round(v * self.input_scale)
                                                     for v in sample.metainfo['img_shape'][:2])))
        results = self.network.predict(inputs[list(indices)], chosen, rescale=False)
        return [(r.pred_instances.bboxes / self.input_scale, r.pred_instances.scores, r.pred_instances.labels)
                for r in results]

    def inputs(self, batch_inputs: Tensor, samples: SampleList) -> Tensor:
        """The student's normalised batch, re-normalised for the teacher and resized by ``input_scale``.

        Padding stays zero (the value both preprocessors pad with after normalisation).
        """
        inputs = batch_inputs
        if self.renormalize:
            student_pre, teacher_pre = self.context.student.data_preprocessor, self.network.data_preprocessor
            raw = inputs * student_pre.std + student_pre.mean if student_pre._enable_normalize else inputs
            if student_pre._channel_conversion != teacher_pre._channel_conversion:
                raw = raw[:, [2, 1, 0], ...]
            inputs = (raw - teacher_pre.mean) / teacher_pre.std if teacher_pre._enable_normalize else raw
            valid = torch.zeros_like(inputs[:, :1])
            for index, sample in enumerate(samples):
                height, width = sample.metainfo['img_shape'][:2]
                valid[index, :, :height, :width] = 1
            inputs = inputs * valid
        return self._resize(inputs)

    # ------------------------------------------------------------------ helpers
    def _resize(self, inputs: Tensor) -> Tensor:
        if self.input_scale == 1.0:
            return inputs
        return F.interpolate(inputs, scale_factor=self.input_scale, mode='bilinear', align_corners=False)

    def _normalises_differently(self) -> bool:
        """Whether the teacher's preprocessor normalises differently from the student's."""
        student_pre, teacher_pre = self.context.student.data_preprocessor, self.network.data_preprocessor
        enabled = [getattr(pre, '_enable_normalize', False) for pre in (student_pre, teacher_pre)]
        if enabled[0] != enabled[1]:
            raise ValueError('teacher.renormalize: one data preprocessor normalises (mean / std) and the other '
                             'does not; give both a mean and std, or set teacher.renormalize=False')
        if not enabled[0]:
            return student_pre._channel_conversion != teacher_pre._channel_conversion
        return not (torch.equal(student_pre.mean, teacher_pre.mean) and torch.equal(student_pre.std, teacher_pre.std)
                    and student_pre._channel_conversion == teacher_pre._channel_conversion)

    def on_student_grid(self, teacher_rpn: tuple, student_cls: List[Tensor]) -> tuple:
        """Teacher RPN maps on the student's anchor grid, and which student anchors the teacher covers.

        Returns:
            tuple: ``(teacher_cls, teacher_reg, valid)`` where ``valid`` is None when every student anchor
            has a teacher output, else a per-level list of ``(B * H * W * A,)`` booleans in the order of
            MMDetection's anchor targets.
        """
        teacher_cls, teacher_reg = teacher_rpn
        sizes = [tuple(s.shape[-2:]) for s in student_cls]
        rpn_align = self.context.rpn_align
        if rpn_align == 'grid' and self.resolution_ratio != 1.0:
            stride = round(self.resolution_ratio)  # student (i, j) is teacher (r i, r j)
            teacher_cls = [t[..., ::stride, ::stride] for t in teacher_cls]
            teacher_reg = [t[..., ::stride, ::stride] for t in teacher_reg]
        if all(tuple(t.shape[-2:]) == size for t, size in zip(teacher_cls, sizes)):
            return teacher_cls, teacher_reg, None
        if rpn_align == 'resample':
            resample = lambda maps: [  # noqa: E731
                F.interpolate(m, size=size, mode='bilinear', align_corners=False) for m, size in zip(maps, sizes)]
            return resample(teacher_cls), resample(teacher_reg), None
        # 'grid': position (i, j) holds the same anchors in both maps; keep the positions both have.
        aligned_cls, aligned_reg, valid = [], [], []
        num_anchors = self.context.student.rpn_head.num_base_priors
        for t_cls, t_reg, (height, width) in zip(teacher_cls, teacher_reg, sizes):
            t_height, t_width = t_cls.shape[-2:]
            pad = (0, max(width - t_width, 0), 0, max(height - t_height, 0))
            aligned_cls.append(F.pad(t_cls[..., :height, :width], pad))
            aligned_reg.append(F.pad(t_reg[..., :height, :width], pad))
            covered = t_cls.new_zeros((t_cls.shape[0], height, width, num_anchors), dtype=torch.bool)
            covered[:, :min(height, t_height), :min(width, t_width)] = True
            valid.append(covered.reshape(-1))
        return aligned_cls, aligned_reg, valid
