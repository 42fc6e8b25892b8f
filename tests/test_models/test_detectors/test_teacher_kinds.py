"""Teachers as one interface: a new teacher kind is one registered class chosen from the config (no change to the
detector or the distiller), and a term that needs what a kind cannot give is refused at build time."""
import copy

import pytest
import torch
from mmdet.registry import MODELS

import det_kd  # noqa: F401
from det_kd.models.distillation.teachers import FeatureSource, TeacherKind, TeacherOutputs, build_teacher_kind
from det_kd.models.losses import attention_transfer
from kd_fixtures import batch, build, student_cfg

HEADS_OFF = dict(hints=[], loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None)


@MODELS.register_module(force=True)
class MirrorTeacher(TeacherKind):
    """A test kind: the student's own (detached) features, scaled, as the teacher's maps."""
    provides = frozenset({'maps'})

    def __init__(self, context, factor=2.0, name='KDFasterRCNN.teacher'):
        super().__init__(context, name)
        self.factor = factor
        self.requests = []

    def feature_sources(self):
        return [FeatureSource(0, 1.0, self.name)]

    def forward(self, request):
        self.requests.append(request)
        with torch.no_grad():
            feats = self.context.student.extract_feat(request.inputs)
        return TeacherOutputs(maps=[{layer: self.factor * feats[layer] for layer in request.layers[0]}])


def _cfg(**distill):
    cfg = student_cfg()
    cfg.update(type='KDFasterRCNN', teacher=dict(type='MirrorTeacher', factor=3.0), distill=dict(HEADS_OFF, **distill))
    return cfg


def test_a_new_teacher_kind_teaches_a_feature_term_with_no_change_to_the_detector():
    terms = [dict(type='AttentionTransferTerm', pairs=[dict(student=0, teacher=0)], loss_weight=100.0)]
    model = build(_cfg(terms=terms))
    model.train()
    assert isinstance(model.distiller.teacher, MirrorTeacher) and model.teachers == []
    inputs, samples = batch(model)
    losses = model.loss(inputs, copy.deepcopy(samples))
    request = model.distiller.teacher.requests[-1]
    assert request.layers == [[0]] and request.rois is None and request.student_rpn_cls is None  # only what it needs
    with torch.no_grad():
        feats = model.extract_feat(inputs)[0]
        expected = 100.0 * attention_transfer(feats, 3.0 * feats, 2, 'sum').mean()
    assert float(losses['loss_at']) == pytest.approx(float(expected), rel=1e-5)
    assert {'loss_rpn_cls', 'loss_cls', 'loss_at'} <= set(losses)


@pytest.mark.parametrize('key', ['rpn_cls', 'rpn_reg', 'rcn_cls', 'rcn_reg'])
def test_a_term_that_needs_what_the_kind_cannot_give_is_refused_naming_both(key):
    from det_kd.models.distillation.term_config import PAPER_DISTILL_DEFAULTS
    with pytest.raises(ValueError, match=rf"term '{key}'.* needs the teacher's .*MirrorTeacher\) has none"):
        build(_cfg(**{key: PAPER_DISTILL_DEFAULTS[key]}))


def test_an_unknown_or_wrong_teacher_type_is_refused():
    from det_kd.models.distillation.teachers import TeacherContext
    context = TeacherContext(build(student_cfg()))
    with pytest.raises(KeyError, match="'NoSuchTeacher' is not a registered teacher kind"):
        build_teacher_kind(dict(type='NoSuchTeacher'), context)
    with pytest.raises(KeyError, match="'HintLoss' is not a registered teacher kind"):
        build_teacher_kind(dict(type='HintLoss'), context)
