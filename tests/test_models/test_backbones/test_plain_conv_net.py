"""Behaviour shared by the plain backbones (VGG16, VGG-M, AlexNet): widths, outputs, freezing, norms."""
import pytest
import torch
from mmdet.registry import MODELS
from torch import nn

from det_kd.models.backbones import VGG16, VGGM, AlexNet

BACKBONES = [VGG16, VGGM, AlexNet]
# (H, W) of every stage output for a 128 x 160 input.
STAGE_SIZES = {
    'VGG16': [(128, 160), (64, 80), (32, 40), (16, 20), (8, 10)],
    'VGGM': [(61, 77), (14, 18), (7, 9), (7, 9), (7, 9)],
    'AlexNet': [(31, 39), (15, 19), (7, 9), (7, 9), (7, 9)],
}
FULL_CHANNELS = {
    'VGG16': (64, 128, 256, 512, 512),
    'VGGM': (96, 256, 512, 512, 512),
    'AlexNet': (64, 192, 384, 256, 256),
}


@pytest.mark.parametrize('cls', BACKBONES, ids=lambda c: c.__name__)
def test_registered_and_default_output_is_last_stage(cls):
    backbone = MODELS.build(dict(type=cls.__name__, widen_factor=0.125))
    outs = backbone(torch.zeros(1, 3, 128, 160))
    assert isinstance(outs, tuple) and len(outs) == 1
    assert outs[0].shape[1] == backbone.stage_channels[-1]
    assert tuple(outs[0].shape[-2:]) == STAGE_SIZES[cls.__name__][-1]


@pytest.mark.parametrize('cls', BACKBONES, ids=lambda c: c.__name__)
def test_widen_factor_scales_channels_with_rounding_and_minimum_one(cls):
    full = FULL_CHANNELS[cls.__name__]
    assert cls().stage_channels == full
    assert cls(widen_factor=0.25).stage_channels == tuple(int(c * 0.25 + 0.5) for c in full)
    assert cls(widen_factor=0.001).stage_channels == (1, ) * 5


@pytest.mark.parametrize('cls', BACKBONES, ids=lambda c: c.__name__)
def test_out_indices_returns_stage_outputs_in_order(cls):
    backbone = cls(widen_factor=0.125, out_indices=(0, 1, 2, 3, 4))
    outs = backbone(torch.randn(1, 3, 128, 160))
    assert [tuple(o.shape[-2:]) for o in outs] == STAGE_SIZES[cls.__name__]
    assert [o.shape[1] for o in outs] == list(backbone.stage_channels)
    # Stage outputs are post-ReLU activations.
    assert all((o >= 0).all() for o in outs)


@pytest.mark.parametrize('out_indices', [(5, ), (-1, ), ()])
def test_out_indices_out_of_range_names_the_value(out_indices):
    with pytest.raises(ValueError, match='out_indices'):
        AlexNet(out_indices=out_indices)


def test_bad_frozen_stages_and_widen_factor_are_rejected():
    with pytest.raises(ValueError, match='frozen_stages=6'):
        VGGM(frozen_stages=6)
    with pytest.raises(ValueError, match='widen_factor'):
        VGGM(widen_factor=0)


@pytest.mark.parametrize('cls', BACKBONES, ids=lambda c: c.__name__)
def test_frozen_stages_stay_frozen_in_train_mode(cls):
    backbone = cls(widen_factor=0.125, frozen_stages=2, norm_cfg=dict(type='BN'))
    backbone.train()
    frozen = {backbone.conv_paths[name] for name in _stage_conv_names(backbone, (0, 1))}
    for name, conv in _convs(backbone):
        norm = backbone.norms[name]
        is_frozen = backbone.conv_paths[name] in frozen
        assert all(p.requires_grad != is_frozen for p in [*conv.parameters(), *norm.parameters()]), name
        assert norm.training != is_frozen and conv.training != is_frozen, name
    backbone.train(False)
    backbone.train(True)
    assert not backbone.norms[next(iter(_stage_conv_names(backbone, (0, ))))].training


def test_frozen_stages_get_no_gradient():
    backbone = AlexNet(widen_factor=0.125, frozen_stages=1)
    backbone(torch.randn(1, 3, 128, 160))[0].sum().backward()
    assert backbone.features[0].weight.grad is None
    assert backbone.features[3].weight.grad is not None


def test_norm_cfg_adds_a_norm_after_every_conv_without_renaming_features():
    plain, normed = VGG16(widen_factor=0.125), VGG16(widen_factor=0.125, norm_cfg=dict(type='BN'))
    normed_features = {k for k in normed.state_dict() if k.startswith('features.')}
    assert normed_features == set(plain.state_dict())
    assert set(normed.norms) == set(normed.conv_paths)
    assert all(isinstance(m, nn.BatchNorm2d) for m in normed.norms.values())
    assert {k for k in normed.state_dict() if k.startswith('norms.')} >= {'norms.conv5_3.running_mean'}


def test_norm_runs_between_conv_and_relu():
    backbone = AlexNet(widen_factor=0.125, norm_cfg=dict(type='BN'), out_indices=(0, )).eval()
    with torch.no_grad():
        backbone.norms['conv1'].bias.fill_(-1e3)
        assert backbone(torch.randn(1, 3, 64, 64))[0].eq(0).all()
        backbone.norms['conv1'].bias.fill_(1e3)
        assert backbone(torch.randn(1, 3, 64, 64))[0].ge(1e2).all()


def test_norm_eval_keeps_norms_in_eval_mode():
    backbone = VGGM(widen_factor=0.125, norm_cfg=dict(type='BN'), norm_eval=True)
    backbone.train()
    assert all(not m.training for m in backbone.norms.values())
    assert backbone.features[0].training


def test_relu_is_not_inplace_so_conv_hooks_see_pre_activations():
    backbone = VGG16(widen_factor=0.125)
    captured = {}
    backbone.get_submodule('features.28').register_forward_hook(
        lambda module, args, output: captured.setdefault('conv5_3', output))
    out = backbone(torch.randn(1, 3, 64, 64))[0]
    assert (captured['conv5_3'] < 0).any()
    assert torch.equal(out, captured['conv5_3'].relu())


def _convs(backbone):
    return [(name, backbone.get_submodule(path)) for name, path in backbone.conv_paths.items()]


def _stage_conv_names(backbone, stages):
    names = []
    for stage in stages:
        names += [layer.name for layer in backbone.arch[stage] if hasattr(layer, 'name')]
    return names
