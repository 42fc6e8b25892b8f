"""Faster R-CNN student distilled from a teacher known only by its detections (a results file, no weights)."""
from typing import Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.models.detectors import TwoStageDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox_overlaps, bbox_project
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from ..distillation.recorders import MethodCallRecorder, shadowed_method
from ..distillation.teacher_ensemble import probability_logits
from ..distillation.teacher_results import ImageDetections, TeacherResults
from ...utils.settings import check_number

#: What a teacher known only by its detections cannot provide: ``distill`` key -> why.
UNAVAILABLE_TERMS = {
    'loss_hint': 'feature maps',
    'hints': 'feature maps',
    'terms': 'feature maps',
    'rpn_cls': 'RPN outputs on the student\'s anchors',
    'rpn_reg': 'RPN outputs on the student\'s anchors',
    'rcn_reg': 'box deltas on the student\'s RoIs',
}
DEFAULT_RCN_CLS = dict(type='WeightedSoftCrossEntropyLoss', mu=0.5, bg_weight=1.5, T=1.0)


@MODELS.register_module()
class BlackBoxKDFasterRCNN(TwoStageDetector):
    r"""A two-stage student trained from labeled images plus a teacher's detections, without the teacher.

    The teacher is a results file (``tools/pseudo_label.py``, or any detector writing the format of
    :mod:`~det_kd.models.distillation.teacher_results`): per image, boxes, labels, scores and a
    class-probability vector per box. No teacher module is built and no teacher runs during training.

    - **Soft classification**: on the student's sampled RoIs that overlap a teacher detection by at least
      ``iou_thr`` (the one they overlap most), the paper's class-weighted soft cross-entropy against that
      detection's probability vector, with the student's own classification loss of those RoIs weighted by
      ``mu`` as in ``KDFasterRCNN``'s ``rcn_cls``; RoIs overlapping no detection have no soft term and keep
      their hard loss at weight 1.
    - **Pseudo ground truth**: on images marked ``unlabeled`` (``UnlabeledImageDataset``), the teacher's
      detections scoring at least ``pseudo_label_thr`` are the ground truth of the student's own losses.

    Boxes go from the original image into the augmented batch through each sample's ``homography_matrix``
    (the train pipeline's ``PackDetInputs`` must keep it). The feature, RPN and RoI-regression terms need the
    teacher's network and are refused. The saved checkpoint is the plain student's.

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg, data_preprocessor, init_cfg: The student.
        teacher (dict): ``results`` (the file), ``iou_thr`` (default 0.5), ``pseudo_label_thr`` (default 0.5).
        distill (dict, optional): ``rcn_cls``: the soft loss config (default: the paper's
            ``WeightedSoftCrossEntropyLoss``, mu 0.5, w_bg 1.5, T 1) or None for pseudo labels only.
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
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        teacher = dict(teacher)
        if 'config' in teacher or 'checkpoint' in teacher:
            raise KeyError('BlackBoxKDFasterRCNN.teacher is a results file (`results`); a teacher with a config and '
                           'weights is KDFasterRCNN\'s')
        unknown = set(teacher) - {'results', 'iou_thr', 'pseudo_label_thr'}
        if unknown or 'results' not in teacher:
            raise KeyError(f'BlackBoxKDFasterRCNN.teacher needs `results` (a file written by tools/pseudo_label.py); '
                           f'unknown keys: {sorted(unknown)}')
        self.teacher_results = TeacherResults(teacher['results'])
        num_classes = self.roi_head.bbox_head.num_classes
        if self.teacher_results.num_classes != num_classes:
            raise ValueError(f'BlackBoxKDFasterRCNN.teacher.results: the file has {self.teacher_results.num_classes} '
                             f'classes {self.teacher_results.classes}, the student {num_classes}')
        self.iou_thr = float(check_number(teacher.get('iou_thr', 0.5), 'BlackBoxKDFasterRCNN.teacher.iou_thr', 0.0,
                                          1.0, low_open=True))
        self.pseudo_label_thr = float(check_number(teacher.get('pseudo_label_thr', 0.5),
                                                   'BlackBoxKDFasterRCNN.teacher.pseudo_label_thr', 0.0, 1.0))
        distill = dict(distill or {})
        for key, value in distill.items():
            if key in UNAVAILABLE_TERMS and value:
                raise ValueError(f'BlackBoxKDFasterRCNN.distill.{key}: the teacher is known only by its detections '
                                 f'(teacher.results), it has no {UNAVAILABLE_TERMS[key]}; set it to None, or '
                                 'distil from the teacher\'s weights with KDFasterRCNN')
            if key not in UNAVAILABLE_TERMS and key != 'rcn_cls':
                raise KeyError(f'BlackBoxKDFasterRCNN.distill: unknown key {key!r} (known: rcn_cls)')
        rcn_cls = distill.get('rcn_cls', DEFAULT_RCN_CLS)
        self.rcn_kd_cls = MODELS.build(dict(DEFAULT_RCN_CLS, **rcn_cls)) if rcn_cls else None
        #: Multiplier of the soft term, set by ``DistillationScheduleHook``.
        self.distill_scale = 1.0

    # ------------------------------------------------------------------ the teacher's boxes in the batch
    def _detections(self, sample) -> Tuple[ImageDetections, Tensor]:
        """The sample's teacher detections and their boxes in the batch frame."""
        detections = self.teacher_results.get(sample.metainfo['img_path'])
        if 'homography_matrix' not in sample.metainfo:
            raise KeyError("BlackBoxKDFasterRCNN: the samples carry no 'homography_matrix' (how the pipeline moved "
                           'the image); add it to PackDetInputs meta_keys in the train pipeline')
        boxes = torch.from_numpy(detections.boxes)
        matrix = torch.as_tensor(sample.metainfo['homography_matrix'], dtype=torch.float32)
        return detections, bbox_project(boxes, matrix, sample.metainfo['img_shape'][:2])

    def with_pseudo_labels(self, batch_data_samples: SampleList) -> SampleList:
        """The samples with the teacher's detections (score >= ``pseudo_label_thr``) as the ground truth of the
        ``unlabeled`` ones; labeled samples are returned as they are."""
        samples = []
        for sample in batch_data_samples:
            if not sample.metainfo.get('unlabeled', False):
                samples.append(sample)
                continue
            detections, boxes = self._detections(sample)
            keep = torch.from_numpy(detections.scores >= self.pseudo_label_thr)
            device = next(self.parameters()).device
            sample = sample.clone()
            # plain tensors, as the data preprocessor leaves the annotated samples' boxes (boxtype2tensor)
            sample.gt_instances = InstanceData(bboxes=boxes[keep].to(device),
                                               labels=torch.from_numpy(detections.labels)[keep].to(device))
            samples.append(sample)
        return samples

    def teacher_probs_on_rois(self, rois: Tensor, batch_data_samples: SampleList) -> Tuple[Tensor, Tensor]:
        """Per RoI ``(N, 5)``: the class probabilities of the teacher detection it overlaps most and whether
        that overlap reaches ``iou_thr`` (``(N,)`` booleans)."""
        num_probs = self.roi_head.bbox_head.num_classes + 1
        probs = rois.new_zeros((rois.size(0), num_probs))
        matched = torch.zeros(rois.size(0), dtype=torch.bool, device=rois.device)
        for index, sample in enumerate(batch_data_samples):
            in_image = rois[:, 0] == index
            detections, boxes = self._detections(sample)
            if not in_image.any() or len(boxes) == 0:
                continue
            overlaps = bbox_overlaps(rois[in_image, 1:], boxes.to(rois.device))
            best_iou, best = overlaps.max(dim=1)
            probs[in_image] = torch.from_numpy(detections.class_probs).to(rois.device)[best]
            matched[in_image] = best_iou >= self.iou_thr
        return probs, matched

    # ------------------------------------------------------------------ training
    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """The student's own losses (pseudo ground truth on unlabeled images) plus ``loss_rcn_kd_cls``."""
        samples = self.with_pseudo_labels(batch_data_samples)
        if self.rcn_kd_cls is None:
            return super().loss(batch_inputs, samples)
        scale = float(self.distill_scale)
        bbox_head = self.roi_head.bbox_head
        found = {}

        def mu_where_soft(hard_loss):

            def loss(cls_score, bbox_pred, rois, labels, label_weights, *args, **kwargs):
                # the hard loss of a RoI with a soft target weighs mu (the paper's mu * hard + (1 - mu) * soft),
                # of a RoI without one 1: nothing replaces its hard loss
                found['probs'], found['matched'] = self.teacher_probs_on_rois(rois, samples)
                weight = 1.0 - (1.0 - self.rcn_kd_cls.mu) * scale
                weighted = torch.where(found['matched'], label_weights * weight, label_weights)
                losses = hard_loss(cls_score, bbox_pred, rois, labels, weighted, *args, **kwargs)
                # MMDetection divides by the RoIs of weight > 0: at mu = 0 the matched ones would drop out of
                # that count; the normaliser stays every sampled RoI's (as the soft term's)
                sampled, counted = (max(float((w > 0).sum()), 1.0) for w in (label_weights, weighted))
                if sampled != counted and torch.is_tensor(losses.get('loss_cls')):
                    losses['loss_cls'] = losses['loss_cls'] * (counted / sampled)
                return losses

            return loss

        with shadowed_method(bbox_head, 'loss', mu_where_soft), \
                MethodCallRecorder(bbox_head, 'loss_and_target') as rcn_call:
            losses = super().loss(batch_inputs, samples)
        student_cls = rcn_call.kwargs['cls_score']
        _, label_weights = rcn_call.result['bbox_targets'][:2]
        probs, matched = found['probs'], found['matched']
        # the logits whose tempered softmax is the teacher's probability vector
        teacher_logits = probability_logits(probs, self.rcn_kd_cls.T)
        avg_factor = max(float((label_weights > 0).sum()), 1.0)  # as BBoxHead.loss and KDFasterRCNN's rcn_cls
        losses['loss_rcn_kd_cls'] = self.rcn_kd_cls(student_cls, teacher_logits, label_weights * matched.float(),
                                                    avg_factor, scale)
        return losses

    @property
    def distillation_loss_keys(self) -> Tuple[str, ...]:
        """The ``loss_*`` entries added to the student's losses."""
        return ('loss_rcn_kd_cls', ) if self.rcn_kd_cls is not None else ()
