"""``BlackBoxKDFasterRCNN``: the name configs used before teachers became kinds, kept as an alias of
:class:`~.kd_faster_rcnn.KDFasterRCNN` with a teacher known only by its detections."""
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from ...utils.settings import check_number
from .kd_faster_rcnn import KDFasterRCNN

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
_OFF = dict(hints=[], loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_reg=None)


@MODELS.register_module()
class BlackBoxKDFasterRCNN(KDFasterRCNN):
    """``KDFasterRCNN`` with ``teacher=dict(results=..., iou_thr=...)`` (a
    :class:`~det_kd.models.distillation.teachers.TeacherDetections`), ``pseudo_label_thr`` from the teacher dict
    and only the soft RoI classification term. The one-line change to the new form:
    ``type='KDFasterRCNN', teacher=dict(results=..., iou_thr=...), pseudo_label_thr=...,
    distill=dict(hints=[], loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_reg=None)``.

    Args:
        teacher (dict): ``results`` (the file), ``iou_thr`` (default 0.5), ``root`` (the folder its ``file_name``
            are relative to; default: found), ``pseudo_label_thr`` (default 0.5).
        distill (dict, optional): ``rcn_cls``: the soft loss config (default: the paper's
            ``WeightedSoftCrossEntropyLoss``, mu 0.5, w_bg 1.5, T 1) or None for pseudo labels only.
        The others: the student, as for :class:`mmdet.models.TwoStageDetector`.
    """

    def __init__(self, backbone: ConfigType, rpn_head: ConfigType, roi_head: ConfigType, train_cfg: ConfigType,
                 test_cfg: ConfigType, teacher: ConfigType, distill: OptConfigType = None, neck: OptConfigType = None,
                 data_preprocessor: OptConfigType = None, init_cfg: OptMultiConfig = None) -> None:
        teacher = dict(teacher)
        if 'config' in teacher or 'checkpoint' in teacher:
            raise KeyError('BlackBoxKDFasterRCNN.teacher is a results file (`results`); a teacher with a config and '
                           'weights is KDFasterRCNN\'s')
        unknown = set(teacher) - {'results', 'iou_thr', 'root', 'pseudo_label_thr'}
        if unknown or 'results' not in teacher:
            raise KeyError(f'BlackBoxKDFasterRCNN.teacher needs `results` (a file written by tools/pseudo_label.py); '
                           f'unknown keys: {sorted(unknown)}')
        distill = dict(distill or {})
        for key, value in distill.items():
            if key in UNAVAILABLE_TERMS and value:
                raise ValueError(f'BlackBoxKDFasterRCNN.distill.{key}: the teacher is known only by its detections '
                                 f'(teacher.results), it has no {UNAVAILABLE_TERMS[key]}; set it to None, or '
                                 'distil from the teacher\'s weights with KDFasterRCNN')
            if key not in UNAVAILABLE_TERMS and key != 'rcn_cls':
                raise KeyError(f'BlackBoxKDFasterRCNN.distill: unknown key {key!r} (known: rcn_cls)')
        rcn_cls = distill.get('rcn_cls', DEFAULT_RCN_CLS)
        pseudo_label_thr = check_number(teacher.pop('pseudo_label_thr', 0.5),
                                        'BlackBoxKDFasterRCNN.teacher.pseudo_label_thr', 0.0, 1.0)
        super().__init__(
            backbone=backbone, rpn_head=rpn_head, roi_head=roi_head, train_cfg=train_cfg, test_cfg=test_cfg,
            teacher=dict(type='TeacherDetections', name='BlackBoxKDFasterRCNN.teacher', **teacher),
            distill=dict(_OFF, rcn_cls=dict(DEFAULT_RCN_CLS, **rcn_cls) if rcn_cls else None), neck=neck,
            pseudo_label_thr=pseudo_label_thr, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
