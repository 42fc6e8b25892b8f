"""AlexNet matches torchvision's ``alexnet().features`` (minus pool5) and loads its state dict."""
import torch
import torchvision

from det_kd.models.backbones import AlexNet
from det_kd.models.layers import TuckerConv2d


def test_parameter_names_shapes_and_count_match_torchvision():
    backbone = AlexNet()
    reference = torchvision.models.alexnet(weights=None).features
    expected = {f'features.{k}': v.shape for k, v in reference.state_dict().items()}
    assert {k: v.shape for k, v in backbone.state_dict().items()} == expected
    assert sum(p.numel() for p in backbone.parameters()) == 2_469_696
    assert backbone.conv_paths == {
        'conv1': 'features.0', 'conv2': 'features.3', 'conv3': 'features.6', 'conv4': 'features.8',
        'conv5': 'features.10'
    }


def test_torchvision_state_dict_loads_through_pretrained_init_cfg(tmp_path):
    reference = torchvision.models.alexnet(weights=None)
    path = str(tmp_path / 'alexnet.pth')
    torch.save(reference.state_dict(), path)
    backbone = AlexNet(init_cfg=dict(type='Pretrained', checkpoint=path))
    backbone.init_weights()
    saved = reference.state_dict()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, saved[key]), key
    image = torch.randn(1, 3, 127, 161)
    with torch.no_grad():
        out = backbone(image)[0]
        assert torch.allclose(out, reference.features[:12](image), atol=1e-5)
    assert out.shape[-2:] == (7, 9)  # stride 16 up to border pixels


def test_pretrained_dense_weights_are_decomposed_into_tucker_layers(tmp_path):
    dense = AlexNet(widen_factor=0.25)
    path = str(tmp_path / 'alexnet_thin.pth')
    torch.save(dense.state_dict(), path)
    full_ranks = {name: (dense.get_submodule(p).in_channels, dense.get_submodule(p).out_channels)
                  for name, p in dense.conv_paths.items() if name != 'conv1'}
    tucker = AlexNet(
        widen_factor=0.25, tucker_ranks=full_ranks, init_cfg=dict(type='Pretrained', checkpoint=path))
    tucker.init_weights()
    assert isinstance(tucker.features[3], TuckerConv2d)
    image = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.allclose(tucker(image)[0], dense(image)[0], rtol=1e-4, atol=1e-5)
