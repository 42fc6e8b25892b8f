"""FGD and DeFeat as terms inside KDFasterRCNN: built from ``distill.terms`` on the tiny models and on the FPN pair's
configs, their logged losses against recomputations, gradients into the student and the terms' own modules, the
minimum on equal maps, and their setting errors."""
import copy
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

import det_kd  # noqa: F401
# The terms register when their modules are imported (until the terms package's __init__ imports them).
import det_kd.models.distillation.terms.defeat_feature_term  # noqa: F401
import det_kd.models.distillation.terms.defeat_roi_term  # noqa: F401
import det_kd.models.distillation.terms.fgd_term  # noqa: F401
from det_kd.models.distillation.terms import DistillationInputs, RCNOutputs
from det_kd.models.losses.box_masks import map_cell_size, sample_boxes
from det_kd.models.losses.decoupled_features import decoupled_feature_imitation, defeat_object_mask
from det_kd.models.losses.focal_global_distillation import fgd_losses, fgd_masks
from kd_fixtures import REPO, batch, build, demo_step_losses, kd_cfg

HEADS_OFF = dict(loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None)
FGD = dict(type='FGDTerm', pairs=[dict(student=0, teacher=0)])
DEFEAT = [dict(type='DeFeatFeatureTerm', pairs=[dict(student=0, teacher=0)], level_strides=(16, )),
          dict(type='DeFeatRoITerm', T_obj=2.0, bg_weight=3.0)]


def maps_of(model, inputs):
    with torch.no_grad():
        return model.extract_feat(inputs)[0], model.teacher.extract_feat(inputs)[0]


def test_fgd_term_in_kd_faster_rcnn_equals_its_recomputation_and_trains_its_modules():
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=[dict(FGD, alpha_fgd=1e-2, lambda_fgd=1e-3)])))
    model.train()
    term = model.distill_terms['fgd']
    assert model.distillation_loss_keys == ('loss_fgd', )
    assert isinstance(term.adapters[0].conv, torch.nn.Conv2d)  # 32 -> 64 channels: the 1x1 conv
    assert term.pair_channels == [(64, 64)] and len(term.context_blocks) == 1
    inputs, samples = batch(model)
    losses = model.loss(inputs, copy.deepcopy(samples))
    assert torch.isfinite(losses['loss_fgd']) and float(losses['loss_fgd'].detach()) > 0

    student, teacher = maps_of(model, inputs)
    with torch.no_grad():
        adapted = term.adapters[0](student, teacher.shape[-2:])
        cells = [map_cell_size(s.metainfo, teacher.shape[-2:]) for s in samples]
        assert cells == [(16.0, 16.0)] * 2  # 96x128 batch, 6x8 map
        fg, bg = fgd_masks([sample_boxes(s) for s in samples], teacher.shape[-2:], cells)
        assert float(fg.sum()) > 0
        blocks = term.context_blocks[0]
        parts = fgd_losses(adapted, teacher, fg, bg, 0.5, blocks['student'], blocks['teacher'])
        expected = (1e-2 * parts['fg'] + 2.5e-5 * parts['bg'] + 5e-5 * parts['attention'] +
                    1e-3 * parts['relation']).mean()
    assert float(losses['loss_fgd']) == pytest.approx(float(expected), rel=1e-5)

    losses['loss_fgd'].backward()
    assert float(model.backbone.conv1.weight.grad.abs().sum()) > 0
    assert float(term.adapters[0].conv.weight.grad.abs().sum()) > 0
    for side in ('student', 'teacher'):  # the blocks start as the identity: their last conv learns first
        assert float(blocks[side].channel_add[-1].weight.grad.abs().sum()) > 0
    with torch.no_grad():  # once it has, every parameter of both blocks learns
        for param in term.context_blocks.parameters():
            if param.dim() > 1:
                param.normal_(0, 0.1)
    model.zero_grad()
    model.loss(inputs, copy.deepcopy(samples))['loss_fgd'].backward()
    for name, param in term.context_blocks.named_parameters():
        assert param.grad is not None and float(param.grad.abs().sum()) > 0, name
    assert not any(p.grad is not None for p in model.teacher.parameters())


def test_fgd_term_is_at_its_minimum_when_the_student_map_equals_the_teachers():
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=[FGD])))
    term = model.distill_terms['fgd']
    inputs, samples = batch(model)
    _, teacher = maps_of(model, inputs)
    step = DistillationInputs(scale=1.0, samples=samples)
    assert float(term.pair_term(0, teacher.clone(), teacher, None, step)) == 0.0
    assert float(term.pair_term(0, teacher + 0.1, teacher, None, step)) > 0
    with pytest.raises(ValueError, match='ground truth'):
        term.pair_term(0, teacher, teacher, None, DistillationInputs(scale=1.0))


def test_defeat_terms_in_kd_faster_rcnn_equal_their_recomputation_and_train():
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=DEFEAT)))
    model.train()
    assert list(model.distill_terms) == ['defeat_neck', 'defeat_cls']
    assert model.distiller.uses_rcn and not model.distiller.uses_rpn
    neck, roi = model.distill_terms['defeat_neck'], model.distill_terms['defeat_cls']
    adapter = neck.adapters[0].conv
    assert adapter.kernel_size == (3, 3) and float(adapter.weight.abs().max()) <= 2e-4  # the reference's init
    seen = {}
    roi.register_forward_hook(lambda module, args, output: seen.update(inputs=args[0]))
    inputs, samples = batch(model)
    losses = model.loss(inputs, copy.deepcopy(samples))
    for key in ('loss_defeat_neck', 'loss_defeat_cls'):
        assert torch.isfinite(losses[key]) and float(losses[key]) > 0, key

    student, teacher = maps_of(model, inputs)
    with torch.no_grad():
        objects = defeat_object_mask([sample_boxes(s) for s in samples], teacher.shape[-2:], 0, (16.0, ))
        assert bool(objects.any()) and not bool(objects.all())
        obj, bg = decoupled_feature_imitation(neck.adapters[0](student, teacher.shape[-2:]), teacher, objects)
    assert float(losses['loss_defeat_neck']) == pytest.approx(float(3.0 * obj + 12.0 * bg), rel=1e-5)

    rcn = seen['inputs'].rcn
    labels = rcn.targets[0]
    assert bool((labels < 3).any()) and bool((labels == 3).any())
    expected = 0.0
    for rows, T, weight in (((labels >= 0) & (labels < 3), 2.0, 2.0), (labels == 3, 1.0, 3.0)):
        log_q = torch.log_softmax(rcn.student_cls[rows].detach() / T, dim=1)
        p = torch.softmax(rcn.teacher_cls[rows] / T, dim=1)
        expected += weight * T * T * float((p * (p.log() - log_q)).sum(dim=1).mean())
    assert float(losses['loss_defeat_cls']) == pytest.approx(expected, rel=1e-5)

    (losses['loss_defeat_neck'] + losses['loss_defeat_cls']).backward()
    assert float(model.backbone.conv1.weight.grad.abs().sum()) > 0
    assert float(model.roi_head.bbox_head.fc_cls.weight.grad.abs().sum()) > 0
    assert float(adapter.weight.grad.abs().sum()) > 0 and float(adapter.bias.grad.abs().sum()) > 0


def test_defeat_terms_are_zero_when_the_student_equals_the_teacher():
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=DEFEAT)))
    neck, roi = model.distill_terms['defeat_neck'], model.distill_terms['defeat_cls']
    inputs, samples = batch(model)
    _, teacher = maps_of(model, inputs)
    step = DistillationInputs(scale=1.0, samples=samples)
    assert float(neck.pair_term(0, teacher.clone(), teacher, None, step)) == 0.0
    assert float(neck.pair_term(0, teacher + 0.1, teacher, None, step)) > 0
    logits = torch.randn(6, 4)
    labels = torch.tensor([0, 1, 3, 3, 2, 3])
    rcn = RCNOutputs(logits.clone(), torch.zeros(6, 12), logits, None, (labels, ), 3, False)
    assert float(roi(DistillationInputs(scale=1.0, rcn=rcn))['loss_defeat_cls']) == pytest.approx(0.0, abs=1e-6)
    rcn.student_cls = logits + torch.randn(6, 4)
    assert float(roi(DistillationInputs(scale=0.5, rcn=rcn))['loss_defeat_cls']) > 0


def test_defeat_neck_with_a_centre_aligned_pair_leaves_the_unfilled_cells_out():
    centre = [dict(student=0, teacher=0, align='centre', student_geometry=(16, 0.0), teacher_geometry=(16, 8.0))]
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=[dict(DEFEAT[0], pairs=centre)])))
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, copy.deepcopy(samples))
    student, teacher = maps_of(model, inputs)
    adapter = model.distill_terms['defeat_neck'].adapters[0]
    with torch.no_grad():
        mask = adapter.valid_mask(student.shape[-2:], teacher.shape[-2:], [s.metainfo['img_shape'] for s in samples])
        assert not bool(mask.all())
        objects = defeat_object_mask([sample_boxes(s) for s in samples], teacher.shape[-2:], 0, (16.0, ))
        obj, bg = decoupled_feature_imitation(adapter(student, teacher.shape[-2:]), teacher, objects, mask)
    assert float(losses['loss_defeat_neck']) == pytest.approx(float(3.0 * obj + 12.0 * bg), rel=1e-5)


@pytest.mark.parametrize('terms, error, words', [
    ([dict(FGD, pairs=[dict(student=0, teacher=0, align='centre', student_geometry=(16, 0.0),
                            teacher_geometry=(16, 8.0))])], ValueError, ['fgd pair 0', "align='centre'"]),
    ([dict(FGD, temp=0.0)], ValueError, ['FGDTerm.temp']),
    ([dict(FGD, beta_fgd=-1.0)], ValueError, ['FGDTerm.beta_fgd']),
    ([dict(DEFEAT[0], level_strides=(16, 8))], ValueError, ['level_strides must increase']),
    ([dict(DEFEAT[0], level_strides=16)], ValueError, ['level_strides must be a list']),
    ([dict(DEFEAT[1], T_bg=0)], ValueError, ['DeFeatRoITerm.T_bg']),
    ([dict(DEFEAT[1], obj_weight=float('nan'))], ValueError, ['DeFeatRoITerm.obj_weight']),
])
def test_bad_settings_name_the_term(terms, error, words):
    with pytest.raises(error) as info:
        build(kd_cfg(distill=dict(HEADS_OFF, terms=terms)))
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_defeat_neck_refuses_a_map_whose_stride_is_not_a_level():
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=[dict(DEFEAT[0], level_strides=(4, 8))])))
    model.train()
    with pytest.raises(ValueError, match=r'defeat pair 0 .*stride is 16.*level_strides \[4.0, 8.0\]'):
        model.loss(*batch(model))


# ------------------------------------------------------------------- the FPN pair (ResNet-18 / ResNet-50 + FPN)
FPN_CONFIGS = {
    'kd/fgd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py': ('fgd', ['loss_fgd']),
    'kd/defeat_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py': ('defeat', ['loss_defeat_neck', 'loss_defeat_cls']),
}


@pytest.mark.parametrize('config', sorted(FPN_CONFIGS))
def test_the_fpn_pair_configs_step_with_finite_losses(config):
    method, keys = FPN_CONFIGS[config]
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    assert cfg.custom_imports == dict(imports=['det_kd'], allow_failed_imports=False)
    cfg.model.teacher.update(checkpoint=None, allow_random_init=True)
    model = MODELS.build(cfg.model)
    assert model.distillation_loss_keys == tuple(keys)
    levels = 4 if method == 'fgd' else 5  # FGD distils P2-P5 (neck.fpn_convs.0-3), DeFeat every FPN output
    feature_term = model.distill_terms[keys[0][len('loss_'):]]
    assert [pair['student'] for pair in feature_term.pairs] == list(range(levels))
    losses = demo_step_losses(model)
    for key in keys:
        assert torch.isfinite(losses[key]) and float(losses[key]) > 0, key
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    assert float(model.backbone.conv1.weight.grad.abs().sum()) > 0


@pytest.mark.parametrize('config, terms', [
    ('kd/fgd_r18-r50_fpn_1x_coco.py', [('FGDTerm', 4)]),
    ('kd/defeat_r18-r50_fpn_1x_coco.py', [('DeFeatFeatureTerm', 5), ('DeFeatRoITerm', None)]),
])
def test_the_full_width_configs_name_the_method_on_the_reference_levels(config, terms):
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    assert cfg.model.type == 'KDFasterRCNN' and cfg.model.teacher.config.endswith('faster-rcnn_r50_fpn_1x_coco.py')
    assert all(cfg.model.distill[key] is None for key in HEADS_OFF)
    assert [(t.type, len(t.pairs) if 'pairs' in t else None) for t in cfg.model.distill.terms] == terms
