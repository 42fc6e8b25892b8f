"""Pluggable distillation terms: AT / CWD / PKD inside KDFasterRCNN, their logged values, and config errors."""
import copy

import pytest
import torch

import det_kd  # noqa: F401
from det_kd.models.distillation import DistillationProbe
from det_kd.models.losses import attention_transfer, channel_wise_divergence, pearson_feature_distance
from kd_fixtures import batch, build, kd_cfg, student_cfg

HEADS_OFF = dict(loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None)
FAMILY = [
    dict(type='AttentionTransferTerm', pairs=[dict(student=0, teacher=0)], loss_weight=700.0, p=2),
    dict(type='ChannelWiseDistillationTerm', pairs=[dict(student=0, teacher=0)], loss_weight=2.0, T=3.0),
    dict(type='PearsonDistillationTerm', pairs=[dict(student='backbone.layer2', teacher='backbone.layer2')],
         loss_weight=4.0),
]


def test_feature_family_losses_equal_an_independent_recomputation():
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=FAMILY)))
    model.train()
    assert list(model.distill_terms) == ['at', 'cwd', 'pkd']
    assert model.distillation_loss_keys == ('loss_at', 'loss_cwd', 'loss_pkd')
    assert not model.distiller.uses_rpn and not model.distiller.uses_rcn
    inputs, samples = batch(model)
    losses = model.loss(inputs, copy.deepcopy(samples))

    with torch.no_grad():
        student_maps, teacher_maps = {}, {}
        for owner, net, store in (('student', model, student_maps), ('teacher', model.teacher, teacher_maps)):
            handle = net.backbone.layer2.register_forward_hook(lambda m, i, o, store=store: store.update(l2=o))
            store['out'] = net.extract_feat(inputs)[0]
            handle.remove()
        at = 700.0 * attention_transfer(student_maps['out'], teacher_maps['out'], 2, 'sum').mean()
        cwd_adapter = model.distill_terms['cwd'].adapters[0].conv  # 32 -> 64 channels: a 1x1 conv
        assert isinstance(cwd_adapter, torch.nn.Conv2d) and cwd_adapter.out_channels == 64
        cwd = 2.0 * channel_wise_divergence(cwd_adapter(student_maps['out']), teacher_maps['out'], 3.0).mean()
        pkd_adapter = model.distill_terms['pkd'].adapters[0].conv
        pkd = 4.0 * pearson_feature_distance(pkd_adapter(student_maps['l2']), teacher_maps['l2']).mean()
    assert isinstance(model.distill_terms['at'].adapters[0].conv, torch.nn.Identity)  # 32 vs 64 channels, no adapter
    assert float(losses['loss_at']) == pytest.approx(float(at), rel=1e-5)
    assert float(losses['loss_cwd']) == pytest.approx(float(cwd), rel=1e-5)
    assert float(losses['loss_pkd']) == pytest.approx(float(pkd), rel=1e-5)
    for key in ('loss_hint', 'loss_rpn_kd_cls', 'loss_rcn_kd_cls'):
        assert key not in losses


def test_family_terms_at_zero_weight_equal_the_plain_student():
    from mmdet.registry import MODELS
    plain = MODELS.build(student_cfg())
    plain.init_weights()
    zero = [dict(term, loss_weight=0.0) for term in FAMILY]
    kd = build(kd_cfg(distill=dict(HEADS_OFF, terms=zero)))
    kd.load_state_dict(plain.state_dict(), strict=False)
    plain.train(), kd.train()
    inputs, samples = batch(plain)
    torch.manual_seed(1)
    plain_losses = plain.loss(inputs, copy.deepcopy(samples))
    torch.manual_seed(1)
    kd_losses = kd.loss(inputs, copy.deepcopy(samples))

    def total(losses):
        return sum(sum(v) if isinstance(v, list) else v for k, v in losses.items() if 'loss' in k)

    assert torch.equal(total(plain_losses), total(kd_losses))
    total(plain_losses).backward()
    total(kd_losses).backward()
    kd_params = dict(kd.named_parameters())
    for name, param in plain.named_parameters():
        assert torch.equal(param.grad, kd_params[name].grad), name


def test_paper_terms_plus_a_family_term_and_the_diagnostics_see_it():
    model = build(kd_cfg(distill=dict(terms=[FAMILY[0]])))
    model.train()
    assert list(model.distill_terms) == ['hint', 'rpn_cls', 'rpn_reg', 'rcn_cls', 'rcn_reg', 'at']
    inputs, samples = batch(model)
    with DistillationProbe(model) as probe:
        losses = model.loss(inputs, samples)
    assert {'loss_hint', 'loss_rcn_kd_cls', 'loss_at'} <= set(losses)
    assert probe.result['grad/at/backbone_norm'] > 0  # counted as a distillation term, not as hard
    model.distill_scale = 0.0
    off = model.loss(inputs, samples)
    assert float(off['loss_at']) == 0.0 and off['loss_at'].requires_grad


def test_centre_aligned_family_terms_use_the_valid_mask():
    centre = [dict(student=0, teacher=0, align='centre', student_geometry=(16, 0.0), teacher_geometry=(16, 8.0))]
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=[dict(type='PearsonDistillationTerm', pairs=centre)])))
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    term = model.distill_terms['pkd']
    with torch.no_grad():
        student, teacher = model.extract_feat(inputs)[0], model.teacher.extract_feat(inputs)[0]
        adapter = term.adapters[0]
        mask = adapter.valid_mask(student.shape[-2:], teacher.shape[-2:],
                                  [s.metainfo['img_shape'] for s in samples])
        assert not bool(mask.all())  # the half-cell shift leaves the last teacher column out
        expected = 6.0 * pearson_feature_distance(adapter(student, teacher.shape[-2:]), teacher, mask).mean()
    assert float(losses['loss_pkd']) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize('terms, error, words', [
    ([dict(type='NoSuchTerm', pairs=[])], KeyError, ['distill.terms[0]', 'NoSuchTerm']),
    ([dict(type='HintLoss')], TypeError, ['distill.terms[0]', 'not a DistillationTerm']),
    ([dict(pairs=[])], TypeError, ['distill.terms[0]', 'type']),
    ([FAMILY[0], FAMILY[0]], ValueError, ['distill.terms[1]', "'at'", 'another `name`']),
    ([dict(FAMILY[0], loss_weight=-1.0)], ValueError, ['distill.terms[0]', 'AttentionTransferTerm.loss_weight']),
    ([dict(FAMILY[0], mode='mean')], ValueError, ['distill.terms[0]', 'mode']),
    ([dict(FAMILY[1], pairs=[])], ValueError, ['distill.terms[0]', 'pairs is empty']),
    ([dict(FAMILY[1], pairs=[dict(student=0, teacher=0, aling='centre')])], KeyError, ['terms[0]', 'aling']),
    ([dict(FAMILY[1], name='hint')], ValueError, ['distill.terms[0]', "'hint'"]),
    ([dict(FAMILY[1], name='my-term')], ValueError, ['identifier']),
])
def test_bad_term_settings_name_the_term(terms, error, words):
    with pytest.raises(error) as info:
        build(kd_cfg(distill=dict(terms=terms)))
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_cwd_and_pkd_without_an_adapter_need_equal_channels():
    pairs = [dict(student=0, teacher=0, adapter='none')]
    with pytest.raises(ValueError, match="cwd pair 0 .*adapter='none' needs equal channels"):
        build(kd_cfg(distill=dict(HEADS_OFF, terms=[dict(type='ChannelWiseDistillationTerm', pairs=pairs)])))


def test_the_readme_example_term_registers_builds_and_trains():
    import os.path as osp
    import re
    from kd_fixtures import REPO
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        blocks = re.findall(r'```python\n(.*?)```', f.read(), re.S)
    example = next(block for block in blocks if 'class CosineFeatureTerm' in block)
    exec(compile(example, 'README.md', 'exec'), {})
    model = build(kd_cfg(distill=dict(terms=[dict(type='CosineFeatureTerm', pairs=[dict(student=0, teacher=0)])])))
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        adapter = model.distill_terms['cos'].adapters[0]
        student, teacher = model.extract_feat(inputs)[0], model.teacher.extract_feat(inputs)[0]
        expected = (1 - torch.nn.functional.cosine_similarity(adapter(student, teacher.shape[-2:]), teacher,
                                                              dim=1)).mean()
    assert float(losses['loss_cos']) == pytest.approx(float(expected), rel=1e-5)
    losses['loss_cos'].backward()
    assert adapter.conv.weight.grad is not None


def test_fitnets_stage_one_trains_only_the_layers_up_to_the_guided_one_on_the_hint():
    guided = dict(student='backbone.layer2', teacher='backbone.layer2')
    model = build(kd_cfg(distill=dict(hints=[guided], terms=[dict(FAMILY[0], pairs=[guided])])))
    model.train()
    model.hint_stage = True
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_hint', 'loss_at'}
    sum(losses.values()).backward()
    with_grad = {name for name, p in model.named_parameters() if p.grad is not None}
    assert with_grad and all(name.startswith(('backbone.conv1', 'backbone.bn1', 'backbone.layer1', 'backbone.layer2',
                                              'distill_terms.hint.adapters')) for name in with_grad), with_grad
    assert any(name.startswith('distill_terms.hint.adapters') for name in with_grad)
    assert any(name.startswith('backbone.layer1') for name in with_grad)
    model.hint_stage = False
    assert 'loss_rcn_kd_cls' in model.loss(inputs, samples)


def test_fitnets_stage_one_needs_a_feature_term():
    model = build(kd_cfg(distill=dict(HEADS_OFF, rcn_cls=dict(type='WeightedSoftCrossEntropyLoss'))))
    model.hint_stage = True
    with pytest.raises(ValueError, match='FitNets stage 1 .*needs a feature term'):
        model.loss(*batch(model))
