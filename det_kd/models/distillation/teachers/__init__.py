"""Teacher kinds: what a distillation teacher is (one interface) and the kinds det_kd has."""
from typing import Any

from mmdet.registry import MODELS

from ..teacher import teacher_specs
from .base import (FeatureSource, NetworkPair, TeacherContext, TeacherKind, TeacherOutputs, TeacherRequest,
                   needed_outputs)
from .cached import CachedTeacher
from .detections import TeacherDetections
from .ensemble import TeacherEnsemble
from .network import NetworkTeacher


def build_teacher_kind(teacher: Any, context: TeacherContext) -> TeacherKind:
    """The teacher kind ``KDFasterRCNN.teacher`` describes.

    - ``dict(type='SomeTeacherKind', ...)``: that registered kind, built with ``context`` and the other keys;
    - a list of teacher dicts: a :class:`TeacherEnsemble`;
    - a dict with ``results``: a :class:`TeacherDetections` (a teacher known only by its detections);
    - any other dict: a :class:`NetworkTeacher` (``config``, ``checkpoint``...).
    """
    if isinstance(teacher, (list, tuple)):
        return TeacherEnsemble(context, teacher)
    if isinstance(teacher, dict) and ('type' in teacher or 'results' in teacher):
        cfg = dict(teacher)
        kind = cfg.pop('type', 'TeacherDetections')
        kind_class = MODELS.get(kind) if isinstance(kind, str) else kind
        if not (isinstance(kind_class, type) and issubclass(kind_class, TeacherKind)):
            raise KeyError(f'KDFasterRCNN.teacher.type: {kind!r} is not a registered teacher kind (a TeacherKind '
                           'subclass in MODELS, e.g. NetworkTeacher, TeacherEnsemble, TeacherDetections)')
        return kind_class(context, **cfg)
    return NetworkTeacher(context, **teacher_specs(teacher)[0])


__all__ = [
    'TeacherKind', 'TeacherContext', 'TeacherRequest', 'TeacherOutputs', 'FeatureSource', 'NetworkPair',
    'needed_outputs', 'NetworkTeacher', 'CachedTeacher', 'TeacherEnsemble', 'TeacherDetections', 'build_teacher_kind'
]
