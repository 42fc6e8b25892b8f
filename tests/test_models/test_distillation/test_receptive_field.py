"""Receptive-field geometry: measured centres against an interval computation from the layer lists."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.backbones import ResNet
from mmdet.models.necks import FPN
from torch import nn

import det_kd  # noqa: F401
from det_kd.models.backbones import VGG16, VGGM, AlexNet, PlainConvNet
from det_kd.models.backbones.plain_conv_net import Conv, MaxPool
from det_kd.models.distillation import Geometry, feature_geometry, rescale_geometry


def detector(backbone, neck=None):
    """A stand-in detector: ``feature_geometry`` needs a ``backbone`` (and an optional ``neck``)."""
    model = nn.Module()
    model.backbone = backbone
    if neck is not None:
        model.neck = neck
    return model


def interval_geometry(layers):
    """``(stride, offset)`` from the first and last input pixel each cell sees, composed layer by layer.

    A conv / pool cell ``m`` sees input cells ``s m - p .. s m - p + (k - 1)``; the map's cell ``m`` sees
    input pixels ``first(m) .. last(m)`` and is centred halfway. Independent of the code under test.
    """
    first, last = (lambda m: m), (lambda m: m)  # input pixels seen by cell m of the current map
    for layer in layers:
        if isinstance(layer, (Conv, MaxPool)):
            k, s = layer.kernel_size, layer.stride
            p = layer.padding if isinstance(layer, Conv) else 0
            first, last = ((lambda f, s, p: lambda m: f(s * m - p))(first, s, p),
                           (lambda g, s, p, k: lambda m: g(s * m - p + k - 1))(last, s, p, k))
    centre = lambda m: (first(m) + last(m)) / 2  # noqa: E731
    return Geometry(centre(1) - centre(0), centre(0))


def stage_layers(backbone_cls, stage):
    return [layer for s in backbone_cls.arch[:stage + 1] for layer in s]


@pytest.mark.parametrize('backbone_cls, expected',
                         [(AlexNet, (16, 15)), (VGG16, (16, 7.5)), (VGGM, (16, 17))])
def test_last_stage_at_demo_width_matches_the_layer_list(backbone_cls, expected):
    assert interval_geometry(stage_layers(backbone_cls, 4)) == expected
    model = detector(backbone_cls(widen_factor=0.25))
    assert feature_geometry(model, 0) == expected
    conv_path = 'backbone.' + model.backbone.conv_paths[backbone_cls.arch[-1][-1].name]
    assert feature_geometry(model, conv_path) == expected  # the pre-ReLU conv output


@pytest.mark.parametrize('backbone_cls', [AlexNet, VGG16, VGGM])
def test_every_stage_any_width_norms_and_tucker_layers(backbone_cls):
    model = detector(backbone_cls(widen_factor=0.5, out_indices=(0, 1, 2, 3, 4), norm_cfg=dict(type='BN')))
    for stage in range(5):
        assert feature_geometry(model, stage) == interval_geometry(stage_layers(backbone_cls, stage)), stage
    conv = [layer for layer in backbone_cls.arch[1] if isinstance(layer, Conv)][-1].name
    tucker = detector(backbone_cls(widen_factor=0.25, tucker_ranks={conv: (4, 4)}))
    assert feature_geometry(tucker, 0) == interval_geometry(stage_layers(backbone_cls, 4))
    path = 'backbone.' + tucker.backbone.conv_paths[conv] + '.core'
    assert feature_geometry(tucker, path) == interval_geometry(stage_layers(backbone_cls, 1))


def test_ceil_mode_changes_sizes_but_not_centres():

    class Floor(PlainConvNet):
        arch = ((Conv('a', 4, 3, 1, 1), ), (MaxPool(3, 2), Conv('b', 4, 3, 1, 1)), (MaxPool(2, 2), ))

    class Ceil(PlainConvNet):
        arch = ((Conv('a', 4, 3, 1, 1), ), (MaxPool(3, 2, True), Conv('b', 4, 3, 1, 1)),
                (MaxPool(2, 2, True), ))

    with torch.no_grad():
        sizes = [net()(torch.zeros(1, 3, 20, 20))[0].shape[-1] for net in (Floor, Ceil)]
    assert sizes == [4, 5]
    assert feature_geometry(detector(Floor()), 0) == feature_geometry(detector(Ceil()), 0) == (4, 2)


def test_mmdet_resnet_stages_are_centred_at_zero():
    model = detector(ResNet(18, base_channels=16, out_indices=(0, 1, 2, 3)))
    assert [feature_geometry(model, i) for i in range(4)] == [(4, 0), (8, 0), (16, 0), (32, 0)]
    tiny = detector(ResNet(18, base_channels=16, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
                           out_indices=(2, )))
    assert feature_geometry(tiny, 0) == (16, 0)
    assert feature_geometry(tiny, 'backbone.layer2') == (8, 0)


def test_model_is_left_unchanged():
    model = detector(AlexNet(widen_factor=0.25, norm_cfg=dict(type='BN')))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    feature_geometry(model, 0)
    assert model.training and isinstance(model.backbone.features[1], nn.ReLU)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_maps_off_a_uniform_grid_and_unknown_layers_are_refused():
    fpn = detector(ResNet(18, out_indices=(0, 1, 2, 3)), FPN([64, 128, 256, 512], 8, 4))
    assert feature_geometry(fpn, 3) == (32, 0)  # the top level has no upsampled input
    with pytest.raises(ValueError, match=r'not centred on one uniform grid.*student_geometry=\(stride, off'):
        feature_geometry(fpn, 0, 'student')

    class WithLinear(nn.Module):

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.mix = nn.Bilinear(2, 2, 2)

        def forward(self, x):
            return (self.conv(x), )

    with pytest.raises(NotImplementedError, match='cannot linearise Bilinear'):
        feature_geometry(detector(WithLinear()), 0)
    with pytest.raises(KeyError, match="no module 'rpn_head.conv'"):
        feature_geometry(fpn, 'rpn_head.conv', 'teacher')


def test_rescaled_geometry_matches_a_bilinear_resize():
    # resizing a ramp (value = x coordinate) bilinearly gives, at each resized pixel, its original coordinate
    ramp = torch.arange(64, dtype=torch.float64).expand(1, 1, 8, 64)
    for scale in (0.5, 2.0, 0.25):
        resized = F.interpolate(ramp, scale_factor=scale, mode='bilinear', align_corners=False)[0, 0, 0]
        pixel = rescale_geometry(Geometry(1, 0), scale)
        interior = torch.arange(2, resized.numel() - 2, dtype=torch.float64)  # the border clamps
        assert torch.allclose(resized[2:-2], pixel.centre(interior))
    assert rescale_geometry(Geometry(16, 15), 0.5) == (32, 30.5)
    assert rescale_geometry(Geometry(16, 15), 1.0) == (16, 15)
