"""VGG16 (Simonyan & Zisserman 2015) without pool5: the conv5_3 map at stride 16, as in Faster R-CNN."""
from mmdet.registry import MODELS

from .plain_conv_net import Conv, MaxPool, PlainConvNet


def _block(stage: int, num_convs: int, channels: int) -> tuple:
    """``conv{stage}_1 .. conv{stage}_{num_convs}``: 3x3, stride 1, padding 1."""
    return tuple(Conv(f'conv{stage}_{i}', channels, 3, 1, 1) for i in range(1, num_convs + 1))


@MODELS.register_module()
class VGG16(PlainConvNet):
    """VGG16's convolutional layers (configuration D), the paper's teacher.

    ``features`` is torchvision's ``vgg16().features`` minus its last entry (pool5, index 30): at
    ``widen_factor=1.0`` it has the same names and shapes (14,714,688 parameters), so
    ``init_cfg=dict(type='Pretrained', checkpoint='torchvision://vgg16')`` loads ImageNet weights.

    =====  ================================  ================  ========  ======
    stage  layers (``features`` index)       conv names        channels  stride
    =====  ================================  ================  ========  ======
    0      conv 0, 2                         conv1_1, conv1_2  64        1
    1      pool 4, conv 5, 7                 conv2_1, conv2_2  128       2
    2      pool 9, conv 10, 12, 14           conv3_1 .. 3_3    256       4
    3      pool 16, conv 17, 19, 21          conv4_1 .. 4_3    512       8
    4      pool 23, conv 24, 26, 28          conv5_1 .. 5_3    512       16
    =====  ================================  ================  ========  ======

    Every conv at index ``i`` is followed by its ReLU at ``i + 1``; a stage's output is its last ReLU
    (conv5_3 after ReLU is ``features.29``, the default and only output). The hint layer of the paper,
    conv5_3, is ``backbone.features.28`` (pre-ReLU) or ``backbone.features.29`` (post-ReLU), or
    ``out_indices=(4, )``. Constructor arguments: see :class:`PlainConvNet`.
    """

    arch = (
        _block(1, 2, 64),
        (MaxPool(2, 2), ) + _block(2, 2, 128),
        (MaxPool(2, 2), ) + _block(3, 3, 256),
        (MaxPool(2, 2), ) + _block(4, 3, 512),
        (MaxPool(2, 2), ) + _block(5, 3, 512),
    )
