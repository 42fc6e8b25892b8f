"""VGG16 matches torchvision's ``vgg16().features`` (minus pool5) and loads its state dict."""
import pytest
import torch
import torchvision

from det_kd.models.backbones import VGG16

CONV_INDICES = {
    'conv1_1': 0, 'conv1_2': 2, 'conv2_1': 5, 'conv2_2': 7, 'conv3_1': 10, 'conv3_2': 12, 'conv3_3': 14,
    'conv4_1': 17, 'conv4_2': 19, 'conv4_3': 21, 'conv5_1': 24, 'conv5_2': 26, 'conv5_3': 28
}


def test_parameter_names_shapes_and_count_match_torchvision():
    backbone = VGG16()
    reference = torchvision.models.vgg16(weights=None).features
    expected = {f'features.{k}': v.shape for k, v in reference.state_dict().items()}
    assert {k: v.shape for k, v in backbone.state_dict().items()} == expected
    assert sum(p.numel() for p in backbone.parameters()) == 14_714_688
    assert len(backbone.features) == len(reference) - 1  # pool5 dropped
    assert backbone.conv_paths == {k: f'features.{v}' for k, v in CONV_INDICES.items()}


def test_torchvision_state_dict_loads_through_pretrained_init_cfg(tmp_path):
    reference = torchvision.models.vgg16(weights=None)
    path = str(tmp_path / 'vgg16.pth')
    torch.save(reference.state_dict(), path)  # features.* and classifier.* (ignored)
    backbone = VGG16(init_cfg=dict(type='Pretrained', checkpoint=path))
    backbone.init_weights()
    saved = reference.state_dict()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, saved[key]), key
    # Same conv5_3 map as torchvision's features without pool5.
    image = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        assert torch.allclose(backbone(image)[0], reference.features[:30](image), atol=1e-5)


def test_pretrained_with_another_width_names_the_key(tmp_path):
    path = str(tmp_path / 'vgg16_features.pth')
    torch.save(VGG16(widen_factor=0.5).state_dict(), path)
    backbone = VGG16(widen_factor=0.25, init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(ValueError, match=r'features\.0\.weight'):
        backbone.init_weights()


def test_pretrained_with_missing_features_is_an_error(tmp_path):
    state_dict = VGG16(widen_factor=0.25).state_dict()
    del state_dict['features.28.bias']
    path = str(tmp_path / 'partial.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in state_dict.items()}}, path)
    backbone = VGG16(widen_factor=0.25, init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    with pytest.raises(KeyError, match=r'features\.28\.bias'):
        backbone.init_weights()


def test_pretrained_from_a_detector_checkpoint_with_prefix(tmp_path):
    source = VGG16(widen_factor=0.25, norm_cfg=dict(type='BN'))
    path = str(tmp_path / 'detector.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}}, path)
    backbone = VGG16(
        widen_factor=0.25,
        norm_cfg=dict(type='BN'),
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    backbone.init_weights()
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in backbone.state_dict().items())
