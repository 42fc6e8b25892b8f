"""VGG-M follows Chatfield et al. 2014 (VGG_CNN_M) without pool5."""
import torch
from torch import nn

from det_kd.models.backbones import VGGM


def test_layout_follows_vgg_cnn_m():
    backbone = VGGM()
    convs = [backbone.get_submodule(p) for p in backbone.conv_paths.values()]
    assert [(c.out_channels, c.kernel_size, c.stride, c.padding) for c in convs] == [
        (96, (7, 7), (2, 2), (0, 0)),
        (256, (5, 5), (2, 2), (1, 1)),
        (512, (3, 3), (1, 1), (1, 1)),
        (512, (3, 3), (1, 1), (1, 1)),
        (512, (3, 3), (1, 1), (1, 1)),
    ]
    lrns = [m for m in backbone.features if isinstance(m, nn.LocalResponseNorm)]
    assert [(m.size, m.alpha, m.beta, m.k) for m in lrns] == [(5, 0.0005, 0.75, 2.0)] * 2
    assert [type(m).__name__ for m in backbone.features[:4]] == ['Conv2d', 'ReLU', 'LocalResponseNorm',
                                                                 'MaxPool2d']
    pools = [m for m in backbone.features if isinstance(m, nn.MaxPool2d)]
    assert [(m.kernel_size, m.stride, m.ceil_mode) for m in pools] == [(3, 2, True)] * 2  # pool5 dropped
    assert sum(p.numel() for p in backbone.parameters()) == 6_528_640


def test_conv5_map_has_stride_16():
    out = VGGM(widen_factor=0.125)(torch.zeros(1, 3, 608, 1008))[0]
    assert out.shape[-2:] == (37, 62)  # 608 / 16 = 38, 1008 / 16 = 63, less the conv1 and conv2 borders
