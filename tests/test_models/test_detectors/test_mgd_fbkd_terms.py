"""MGD and FBKD as terms: inside KDFasterRCNN (tiny fixtures and the FPN pair configs), their own modules, the
MGD masks' random stream and resume, FBKD's non-local block and its minimum."""
import copy
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

import det_kd  # noqa: F401
from det_kd.engine.student_export import export_student
from det_kd.models.distillation.terms import DistillationInputs
# Importing the term modules registers MGDTerm and FBKDTerm (until the terms package imports them).
from det_kd.models.distillation.terms.fbkd_term import FBKDTerm, NonLocalBlock
from det_kd.models.distillation.terms.mgd_term import MGDTerm
from det_kd.models.losses.masked_generative import masked_generative_distance, random_keep_mask
from kd_fixtures import REPO, batch, build, demo_step_losses, kd_cfg

HEADS_OFF = dict(loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None)
PAIR = [dict(student=0, teacher=0)]


def kd_model(term, seed=0):
    torch.manual_seed(seed)
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=[term])))
    model.train()
    return model


def maps_of(model, inputs):
    with torch.no_grad():
        return model.extract_feat(inputs)[0], model.teacher.extract_feat(inputs)[0]


def gradient_norm(module):
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


# ---------------------------------------------------------------------------------------------------- MGD
def test_mgd_term_trains_inside_kd_faster_rcnn_and_equals_a_recomputation():
    model = kd_model(dict(type='MGDTerm', pairs=PAIR))
    term = model.distill_terms['mgd']
    assert isinstance(term, MGDTerm) and model.distillation_loss_keys == ('loss_mgd', )
    assert (term.alpha_mgd, term.lambda_mgd) == (5e-7, 0.45)
    adapter = term.adapters[0].conv  # 32 -> 64 channels: the reference's align 1x1 conv
    assert isinstance(adapter, torch.nn.Conv2d) and (adapter.in_channels, adapter.out_channels) == (32, 64)
    assert [m.out_channels for m in term.generators[0] if isinstance(m, torch.nn.Conv2d)] == [64, 64]
    inputs, samples = batch(model)
    losses = model.loss(inputs, copy.deepcopy(samples))
    assert term._mask_draws == 1 and int(term.mask_draws) == 1
    student, teacher = maps_of(model, inputs)
    with torch.no_grad():
        keep = random_keep_mask((2, 1) + tuple(teacher.shape[-2:]), 0.45, term.mask_rng(0))
        expected = 5e-7 * masked_generative_distance(adapter(student), teacher, term.generators[0], keep).mean()
    assert float(losses['loss_mgd'].detach()) == pytest.approx(float(expected), rel=1e-5)
    assert torch.isfinite(losses['loss_mgd'])
    losses['loss_mgd'].backward()
    assert gradient_norm(model.backbone) > 0
    assert gradient_norm(term.adapters) > 0
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in term.generators.parameters())


def test_mgd_masks_use_their_own_generator_and_change_every_step():
    model = kd_model(dict(type='MGDTerm', pairs=PAIR, lambda_mgd=0.5))
    term = model.distill_terms['mgd']
    inputs, _ = batch(model)
    student, teacher = maps_of(model, inputs)
    term_inputs = DistillationInputs(scale=1.0, student_maps={0: student}, teacher_maps={0: teacher})
    state = torch.get_rng_state()
    with torch.no_grad():
        first, second = term(term_inputs)['loss_mgd'], term(term_inputs)['loss_mgd']
    assert torch.equal(torch.get_rng_state(), state)  # the student's random stream is the baseline's
    assert float(first) != float(second)  # a new mask each step
    masks = [random_keep_mask((2, 1, 6, 8), 0.5, term.mask_rng(draw)) for draw in (0, 1, 0)]
    assert not torch.equal(masks[0], masks[1]) and torch.equal(masks[0], masks[2])
    with torch.no_grad():
        term_inputs.scale = 0.25
        assert float(term(term_inputs)['loss_mgd']) < float(first)  # the schedule scales it


def test_mgd_seed_and_step_count_are_saved_and_a_resumed_run_draws_the_same_masks():
    model = kd_model(dict(type='MGDTerm', pairs=PAIR), seed=0)
    term = model.distill_terms['mgd']
    assert int(term.mask_seed) == term._mask_seed  # drawn at build time from the (forked) global stream
    inputs, samples = batch(model)
    model.loss(inputs, copy.deepcopy(samples))
    resumed = kd_model(dict(type='MGDTerm', pairs=PAIR), seed=1)
    assert resumed.distill_terms['mgd']._mask_seed != term._mask_seed
    resumed.teacher.load_state_dict(model.teacher.state_dict())  # the teacher is not in the checkpoint
    resumed.load_state_dict(model.state_dict())
    assert (resumed.distill_terms['mgd']._mask_seed, resumed.distill_terms['mgd']._mask_draws) == (term._mask_seed, 1)
    torch.manual_seed(5)
    expected = model.loss(inputs, copy.deepcopy(samples))['loss_mgd']
    torch.manual_seed(5)
    got = resumed.loss(inputs, copy.deepcopy(samples))['loss_mgd']
    assert float(got.detach()) == float(expected.detach())
    explicit = kd_model(dict(type='MGDTerm', pairs=PAIR, seed=123)).distill_terms['mgd']
    assert explicit._mask_seed == 123 == int(explicit.mask_seed)


def test_mgd_modules_are_saved_under_distill_terms_and_export_drops_them(tmp_path):
    model = kd_model(dict(type='MGDTerm', pairs=PAIR))
    keys = [key for key in model.state_dict() if key.startswith('distill_terms.')]
    assert {'distill_terms.mgd.mask_seed', 'distill_terms.mgd.mask_draws', 'distill_terms.mgd.adapters.0.conv.weight',
            'distill_terms.mgd.generators.0.0.weight', 'distill_terms.mgd.generators.0.2.bias'} <= set(keys)
    checkpoint = str(tmp_path / 'kd.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    exported = export_student(checkpoint)['state_dict']
    assert exported and not any(key.startswith('distill_terms.') for key in exported)
    assert set(exported) == set(model.state_dict()) - set(keys)


@pytest.mark.parametrize('settings, error, words', [
    (dict(lambda_mgd=1.5), ValueError, ['MGDTerm.lambda_mgd']),
    (dict(alpha_mgd=-1.0), ValueError, ['MGDTerm.alpha_mgd']),
    (dict(seed=1.5), TypeError, ['MGDTerm.seed']),
    (dict(pairs=[dict(student=0, teacher=0, adapter='none')]), ValueError, ['mgd pair 0', "adapter='none'"]),
])
def test_bad_mgd_settings_name_the_setting(settings, error, words):
    with pytest.raises(error) as info:
        build(kd_cfg(distill=dict(HEADS_OFF, terms=[dict(dict(type='MGDTerm', pairs=PAIR), **settings)])))
    for word in words:
        assert word in str(info.value), (word, str(info.value))


# ---------------------------------------------------------------------------------------------------- FBKD
def expected_nonlocal(block, x):
    """The block (in eval mode) by loops over positions."""
    weights = {name: (conv.weight[:, :, 0, 0].double(), None if conv.bias is None else conv.bias.double())
               for name, conv in (('theta', block.theta), ('phi', block.phi), ('g', block.g), ('out', block.conv_out))}

    def conv(name, vector):
        weight, bias = weights[name]
        return weight @ vector + (0 if bias is None else bias)

    batch, channels, height, width = x.shape
    stride = block.stride
    kh, kw = min(stride, height), min(stride, width)
    out = torch.zeros_like(x, dtype=torch.float64)
    norm = block.norm
    for n in range(batch):
        cells = [(i, j) for i in range(height) for j in range(width)]
        phi = {c: conv('phi', x[n, :, c[0], c[1]].double()) for c in cells}
        g = {c: conv('g', x[n, :, c[0], c[1]].double()) for c in cells}
        pooled = []
        for bi in range(height // kh):
            for bj in range(width // kw):
                window = [(bi * kh + a, bj * kw + b) for a in range(kh) for b in range(kw)]
                pooled.append((torch.stack([phi[c] for c in window]).max(dim=0).values,
                               torch.stack([g[c] for c in window]).max(dim=0).values))
        for i, j in cells:
            theta = conv('theta', x[n, :, i, j].double())
            y = sum(float(theta @ key) * value for key, value in pooled) / len(pooled)
            z = conv('out', y)
            bn = (z - norm.running_mean.double()) / torch.sqrt(norm.running_var.double() + norm.eps)
            out[n, :, i, j] = x[n, :, i, j].double() + bn * norm.weight.double() + norm.bias.double()
    return out


@pytest.mark.parametrize('shape, reduction, stride', [((2, 4, 4, 6), 2, 2), ((1, 6, 3, 5), 4, 8), ((1, 4, 3, 3), 2, 1)])
def test_non_local_block_equals_loops(shape, reduction, stride):
    torch.manual_seed(0)
    block = NonLocalBlock(shape[1], reduction, stride)
    assert block.theta.out_channels == max(shape[1] // reduction, 1)
    x = torch.randn(*shape)
    assert torch.equal(block(x), x)  # zero-initialised BN: the block starts as the identity
    with torch.no_grad():
        for conv in (block.theta, block.phi, block.g):
            conv.weight.normal_()
        block.norm.weight.normal_()
        block.norm.bias.normal_()
        block.norm.running_mean.normal_()
        block.norm.running_var.uniform_(0.5, 2.0)
    block.eval()
    with torch.no_grad():
        assert torch.allclose(block(x).double(), expected_nonlocal(block, x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('reduction, connector_stride', [(4, 8), (2, 2)])
def test_non_local_block_matches_mmrazors_connector_built_on_mmcv_non_local2d(reduction, connector_stride):
    """MMRazor's NonLocal2dMaxpoolNstride: MMCV's dot-product NonLocal2d with a BN after conv_out, built with
    ``sub_sample=True`` (g / phi max-pooled by 2) and g / phi wrapped in ``MaxPool2d(maxpool_stride)`` again: our
    block with twice that window, with the same weights, gives the same output (train mode, batch statistics) and
    the same gradients."""
    from mmcv.cnn import NonLocal2d
    torch.manual_seed(0)
    reference = NonLocal2d(16, reduction=reduction, mode='dot_product', conv_cfg=dict(type='Conv2d'),
                           norm_cfg=dict(type='BN'), sub_sample=True, zeros_init=True)
    ours = NonLocalBlock(16, reduction, 2 * connector_stride)
    assert float(reference.conv_out.norm.weight.abs().sum()) == 0.0 == float(ours.norm.weight.abs().sum())
    assert ours.conv_out.bias is None and reference.conv_out.conv.bias is None
    for name in ('theta', 'phi', 'g'):  # MMCV's normal_init(std=0.01), zero bias
        weight = getattr(ours, name).weight
        assert abs(float(weight.std()) - 0.01) < 0.003 and float(getattr(ours, name).bias.abs().sum()) == 0.0
    with torch.no_grad():
        reference.conv_out.norm.weight.normal_()
        reference.conv_out.norm.bias.normal_()
    ours.load_state_dict({
        'theta.weight': reference.theta.conv.weight, 'theta.bias': reference.theta.conv.bias,
        'phi.weight': reference.phi[0].conv.weight, 'phi.bias': reference.phi[0].conv.bias,
        'g.weight': reference.g[0].conv.weight, 'g.bias': reference.g[0].conv.bias,
        'conv_out.weight': reference.conv_out.conv.weight, **{
            f'norm.{key}': value for key, value in reference.conv_out.norm.state_dict().items()}})
    pool = torch.nn.MaxPool2d(kernel_size=(connector_stride, connector_stride))  # fbkd_connector.py lines 61-69
    reference.g = torch.nn.Sequential(reference.g, pool)
    reference.phi = torch.nn.Sequential(reference.phi, pool)
    x = torch.randn(2, 16, 35, 50, requires_grad=True)  # not a multiple of the windows: the floors agree
    expected = reference(x)
    got = ours(x)
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-6)
    (grad_expected, ) = torch.autograd.grad(expected.square().sum(), x)
    (grad_got, ) = torch.autograd.grad(got.square().sum(), x)
    assert torch.allclose(grad_got, grad_expected, rtol=1e-4, atol=1e-5)


def test_fbkd_term_trains_inside_kd_faster_rcnn_and_equals_a_recomputation():
    model = kd_model(dict(type='FBKDTerm', pairs=PAIR))
    term = model.distill_terms['fbkd']
    assert isinstance(term, FBKDTerm) and model.distillation_loss_keys == ('loss_fbkd', )
    assert isinstance(term.adapters[0].conv, torch.nn.Identity)  # 32 vs 64 channels: FBKD's adaptations bridge
    modules = term.pair_modules[0]
    assert (modules['adaptation_layers'].in_channels, modules['adaptation_layers'].out_channels) == (32, 64)
    inner = [modules[side].theta.out_channels for side in ('student_non_local', 'teacher_non_local')]
    assert inner == [16, 32]
    inputs, samples = batch(model)
    losses = model.loss(inputs, copy.deepcopy(samples))
    student, teacher = maps_of(model, inputs)
    with torch.no_grad():
        def spatial_attention(feat):
            values = feat.abs().mean(dim=1).flatten(1) / 0.5
            return (torch.softmax(values, dim=1) * values.shape[1]).reshape(feat.shape[0], 1, *feat.shape[2:])

        weight = (spatial_attention(teacher) + spatial_attention(student)) / 2
        feature = ((teacher - modules['adaptation_layers'](student))**2 * weight).sum().sqrt()
        channel = (teacher.mean(dim=(2, 3)) - modules['channel_wise_adaptation'](student.mean(dim=(2, 3)))).norm()
        spatial = (teacher.mean(dim=1, keepdim=True)
                   - modules['spatial_wise_adaptation'](student.mean(dim=1, keepdim=True))).norm()
        relation = (modules['non_local_adaptation'](modules['student_non_local'](student))
                    - modules['teacher_non_local'](teacher)).norm()
        expected = 7e-5 * feature + 4e-3 * channel + 4e-3 * spatial + 7e-5 * relation
    assert float(losses['loss_fbkd'].detach()) == pytest.approx(float(expected), rel=1e-5)
    losses['loss_fbkd'].backward()
    assert gradient_norm(model.backbone) > 0
    assert all(p.grad is not None for p in term.pair_modules.parameters())
    for name in ('adaptation_layers', 'channel_wise_adaptation', 'spatial_wise_adaptation', 'non_local_adaptation'):
        assert gradient_norm(modules[name]) > 0, name
    for side in ('student_non_local', 'teacher_non_local'):  # the zero BN passes gradient to its own affine only
        assert gradient_norm(modules[side].norm) > 0 and gradient_norm(modules[side].theta) == 0.0


def test_fbkd_modules_are_saved_under_distill_terms_and_export_drops_them(tmp_path):
    model = kd_model(dict(type='FBKDTerm', pairs=PAIR))
    keys = [key for key in model.state_dict() if key.startswith('distill_terms.')]
    assert all(key.startswith('distill_terms.fbkd.') for key in keys)
    assert {'distill_terms.fbkd.pair_modules.0.teacher_non_local.norm.running_var',
            'distill_terms.fbkd.pair_modules.0.channel_wise_adaptation.weight'} <= set(keys)
    checkpoint = str(tmp_path / 'kd.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    exported = export_student(checkpoint)['state_dict']
    assert set(exported) == set(model.state_dict()) - set(keys)


def standalone_fbkd(channels=4, **settings):
    term = FBKDTerm([dict(student=0, teacher=0)], **settings)
    probe = {0: torch.zeros(1, channels, 5, 6)}
    term.build_adapters(probe, probe, None, dict(student=1.0, teacher=1.0), 1.0)
    return term


def test_fbkd_imitation_loss_is_zero_when_the_student_equals_the_teacher():
    term = standalone_fbkd(channels=4, reduction=2, maxpool_stride=2)
    modules = term.pair_modules[0]
    with torch.no_grad():
        for name in ('adaptation_layers', 'non_local_adaptation'):
            modules[name].weight.copy_(torch.eye(4)[:, :, None, None])
            modules[name].bias.zero_()
        modules['channel_wise_adaptation'].weight.copy_(torch.eye(4))
        modules['channel_wise_adaptation'].bias.zero_()
        modules['spatial_wise_adaptation'].weight.zero_()
        modules['spatial_wise_adaptation'].weight[0, 0, 1, 1] = 1.0
        modules['spatial_wise_adaptation'].bias.zero_()
        modules['teacher_non_local'].norm.weight.normal_()  # a non-trivial relation, the same on both sides
    modules['student_non_local'].load_state_dict(modules['teacher_non_local'].state_dict())
    teacher = torch.randn(2, 4, 5, 6)
    same = DistillationInputs(scale=1.0, student_maps={0: teacher.clone()}, teacher_maps={0: teacher})
    other = DistillationInputs(scale=1.0, student_maps={0: teacher + 0.3 * torch.randn(2, 4, 5, 6)},
                               teacher_maps={0: teacher})
    with torch.no_grad():
        assert float(term(same)['loss_fbkd']) == pytest.approx(0.0, abs=1e-6)
        assert float(term(other)['loss_fbkd']) > 1e-5


def test_fbkd_per_pair_non_local_settings_and_small_maps():
    term = FBKDTerm([dict(student=i, teacher=i) for i in range(3)], reduction=[4, 2, 1], maxpool_stride=(8, 4, 1))
    assert (term.reductions, term.strides) == ([4, 2, 1], [8, 4, 1])
    block = standalone_fbkd(channels=4, maxpool_stride=8).pair_modules[0]['student_non_local']
    x = torch.randn(1, 4, 3, 5)
    assert block(x).shape == x.shape  # a map smaller than the stride is pooled over its whole side


@pytest.mark.parametrize('settings, error, words', [
    (dict(pairs=[dict(student=0, teacher=0, align='centre', student_geometry=(16, 0.0), teacher_geometry=(16, 8.0))]),
     ValueError, ['fbkd pair 0', "align='centre'"]),
    (dict(reduction=[2, 2]), ValueError, ['FBKDTerm.reduction', '2 values for 1 pairs']),
    (dict(maxpool_stride=0), ValueError, ['FBKDTerm.maxpool_stride']),
    (dict(spatial_T=0.0), ValueError, ['FBKDTerm.spatial_T']),
    (dict(nonlocal_weight=-1.0), ValueError, ['FBKDTerm.nonlocal_weight']),
    (dict(channel_mask=True), ValueError, ['fbkd pair 0', 'channel_mask', '32 vs 64']),
])
def test_bad_fbkd_settings_name_the_setting(settings, error, words):
    with pytest.raises(error) as info:
        build(kd_cfg(distill=dict(HEADS_OFF, terms=[dict(dict(type='FBKDTerm', pairs=PAIR), **settings)])))
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_fbkd_channel_mask_with_an_adapter_builds():
    model = kd_model(dict(type='FBKDTerm', channel_mask=True, pairs=[dict(student=0, teacher=0, adapter='conv1x1')]))
    losses = model.loss(*batch(model))
    assert torch.isfinite(losses['loss_fbkd'])


# ---------------------------------------------------------------------------------------------------- FPN pair
@pytest.mark.parametrize('method, key', [('mgd', 'loss_mgd'), ('fbkd', 'loss_fbkd')])
def test_fpn_pair_config_steps_with_the_term_on_p2_to_p5(method, key):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'kd', f'{method}_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py'))
    assert cfg._cfg_dict.get('_base_') is None  # resolved: inherits the FPN pair config
    assert cfg.model.teacher.config.endswith('faster-rcnn_r50-w0.25_fpn_12e_synthetic-coco.py')
    cfg.model.teacher.update(checkpoint=None, allow_random_init=True)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert list(model.distill_terms) == [method]
    term = model.distill_terms[method]
    assert [pair['student'] for pair in term.pairs] == [0, 1, 2, 3] == [pair['teacher'] for pair in term.pairs]
    assert all(isinstance(adapter.conv, torch.nn.Identity) for adapter in term.adapters)  # 64 channels both sides
    if method == 'fbkd':
        assert (term.reductions, term.strides) == ([4, 4, 2, 2], [16, 8, 4, 4])  # MMRazor's 8, 4, 2, 2 pooled after 2
    else:
        assert (term.alpha_mgd, term.lambda_mgd) == (5e-7, 0.45)
    losses = demo_step_losses(model)
    assert set(losses) >= {key, 'loss_cls', 'loss_rpn_cls'} and 'loss_hint' not in losses
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss) and float(losses[key].detach()) > 0
    loss.backward()
    assert gradient_norm(term) > 0


@pytest.mark.parametrize('method', ['mgd', 'fbkd'])
def test_full_width_configs_use_the_references_levels(method):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'kd', f'{method}_r18-r50_fpn_1x_coco.py'))
    distill = cfg.model.distill
    assert all(distill[key] is None for key in HEADS_OFF)
    (term, ) = distill.terms
    assert term.type == {'mgd': 'MGDTerm', 'fbkd': 'FBKDTerm'}[method]
    assert [pair['student'] for pair in term.pairs] == [0, 1, 2, 3]
    assert cfg.model.teacher.config.endswith('faster-rcnn_r50_fpn_1x_coco.py')
